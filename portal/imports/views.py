"""The admin pages of an import, for every kind: upload a file, read the dry-run
report, confirm. The upload is kept between the two steps (``staging``), named
by a random token that only the uploader's session knows; the confirm step
reads it back, checks it is the same file, and checks every row again before
anything is written. An app describes each of its imports with an
``ImportPage`` and serves it with an ``ImportView``."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from portal.imports.examples import import_example
from portal.imports.kinds import IMPORT_KINDS
from portal.imports.reading import MAX_FILE_BYTES, MAX_ROWS, ImportFileError, import_table_read
from portal.imports.staging import session_key, stage_discard, stage_load, stage_save

# The report lists at most this many problems; the summary still counts them all.
REPORT_LIMIT = 500
EXAMPLE_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@dataclass(frozen=True)
class ImportPage:
    """The admin pages of one import kind: the title, who may import, the
    importer (run with ``dry_run`` first), the list a finished import returns
    to, and the URL names of the page and of its example files (``url_args``
    come first in both)."""

    kind: str
    label: str
    may_import: Callable[..., bool]
    importer: Callable
    index_url_name: str
    url_name: str
    example_url_name: str
    url_args: tuple = ()

    def example_response(self, fmt: str) -> HttpResponse:
        """The example file, made from the same column list the importer reads."""
        response = HttpResponse(
            import_example(kind=self.kind, fmt=fmt), content_type=EXAMPLE_TYPES[fmt]
        )
        response["Content-Disposition"] = f'attachment; filename="{self.kind}-example.{fmt}"'
        return response


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("Excel (.xlsx) or CSV, at most %(size)d MB and %(rows)d rows.")
        % {"size": MAX_FILE_BYTES // (1024 * 1024), "rows": MAX_ROWS},
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)d MB. Split it into smaller files.")
                % {"size": MAX_FILE_BYTES // (1024 * 1024)}
            )
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("Upload an Excel (.xlsx) or CSV (.csv) file."))
        return upload


class ImportView(WagtailAdminTemplateMixin, View):
    """Serves ``get_page(**url_kwargs)``: one import's upload, report and confirm."""

    template_name = "portal/admin/import_form.html"
    header_icon = "upload"

    def get_page(self, **kwargs) -> ImportPage:
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        self.spec = self.get_page(**kwargs)
        if not self.spec.may_import(request.user):
            return TemplateResponse(
                request,
                "portal/admin/import_forbidden.html",
                {"header_title": self.spec.label, "label": self.spec.label},
                status=403,
            )
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return self.spec.label

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.spec.label}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        spec = self.spec
        context.update(
            kind=spec.kind,
            columns=IMPORT_KINDS[spec.kind].columns,
            action_url=reverse(spec.url_name, args=spec.url_args),
            example_urls={
                fmt: reverse(spec.example_url_name, args=[*spec.url_args, fmt])
                for fmt in EXAMPLE_TYPES
            },
            report_limit=REPORT_LIMIT,
        )
        context.setdefault("form", ImportUploadForm())
        return context

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data())

    def post(self, request, *args, **kwargs):
        kind = self.spec.kind
        if "confirm" in request.POST:
            return self.confirm(request, kind)
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        upload = form.cleaned_data["file"]
        data = upload.read()
        try:
            table = import_table_read(kind=kind, filename=upload.name, data=data)
        except ImportFileError as exc:
            stage_discard(request, kind)
            form.add_error("file", exc.message)
            return self.render_to_response(self.get_context_data(form=form))
        result = self.spec.importer(rows=table.rows, user=request.user, dry_run=True)
        staged = None
        if result.ok:
            staged = stage_save(request, kind, data, upload.name)
        else:
            stage_discard(request, kind)
        return self.render_report(table=table, result=result, staged=staged, filename=upload.name)

    def confirm(self, request, kind):
        staged = request.session.get(session_key(kind)) or {}
        data = None
        if (
            staged
            and constant_time_compare(staged.get("token", ""), request.POST.get("token", ""))
            and constant_time_compare(staged.get("digest", ""), request.POST.get("digest", ""))
        ):
            data = stage_load(request, kind, staged)
        if data is None or hashlib.sha256(data).hexdigest() != staged.get("digest"):
            return self.refuse(
                _(
                    "The file changed or expired since its dry run, so nothing was imported. "
                    "Upload it again."
                )
            )
        try:
            table = import_table_read(kind=kind, filename=staged["filename"], data=data)
        except ImportFileError as exc:
            stage_discard(request, kind)
            return self.refuse(exc.message)
        result = self.spec.importer(
            rows=table.rows, user=request.user, dry_run=False, source=staged["filename"]
        )
        stage_discard(request, kind)
        if not result.created:
            return self.render_report(
                table=table,
                result=result,
                staged=None,
                filename=staged["filename"],
                refused=_(
                    "Nothing was imported: the file has errors now. Fix them and upload it again."
                ),
            )
        messages.success(
            request,
            _("Imported %(count)d records from %(file)s.")
            % {"count": result.created, "file": staged["filename"]},
        )
        return redirect(self.spec.index_url_name)

    def refuse(self, message):
        form = ImportUploadForm()
        return self.render_to_response(self.get_context_data(form=form, refused=message))

    def render_report(self, *, table, result, staged, filename, refused=None):
        labels = {c.key: c for c in IMPORT_KINDS[self.spec.kind].columns}
        return self.render_to_response(
            self.get_context_data(
                result=result,
                errors=result.errors[:REPORT_LIMIT],
                hidden_errors=max(len(result.errors) - REPORT_LIMIT, 0),
                found_columns=[
                    {"header": header, "label": labels[key].label}
                    for key, header in table.headers.items()
                ],
                ignored_headers=table.ignored_headers,
                staged=staged,
                filename=filename,
                refused=refused,
            )
        )


def example_download(spec: ImportPage, fmt: str) -> HttpResponse:
    """The example file of ``spec`` in ``fmt`` ("xlsx" or "csv"; anything else is a 404)."""
    if fmt not in EXAMPLE_TYPES:
        raise Http404
    return spec.example_response(fmt)
