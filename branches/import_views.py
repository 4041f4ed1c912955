"""Admin pages for importing party members and households: upload a file, read the
dry-run report, confirm. The upload is kept between the two steps encrypted in
the default storage, named by a random token that only the uploader's session
knows; the confirm step reads it back, checks it is the same file, and checks
every row again before anything is written."""

import base64
import hashlib
import secrets
from dataclasses import dataclass

from django import forms
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse, reverse_lazy
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from branches.household_import import HOUSEHOLDS, household_import
from branches.member_import import MEMBERS, member_import
from portal.crypto import decrypt, encrypt
from portal.imports.examples import import_example
from portal.imports.kinds import IMPORT_KINDS
from portal.imports.reading import MAX_FILE_BYTES, MAX_ROWS, ImportFileError, import_table_read
from portal.roles import user_scope

STAGING_DIR = "import-staging"
# The report lists at most this many problems; the summary still counts them all.
REPORT_LIMIT = 500
EXAMPLE_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@dataclass(frozen=True)
class ImportPage:
    """The admin pages of one import kind: its title, the permission it needs,
    its importer (``portal.imports``) and the list it returns to."""

    kind: str
    label: str
    permission: str
    importer: object
    index_url_name: str


KINDS = {
    MEMBERS: ImportPage(
        MEMBERS,
        gettext_lazy("Import party members"),
        "branches.add_member",
        member_import,
        "members:index",
    ),
    HOUSEHOLDS: ImportPage(
        HOUSEHOLDS,
        gettext_lazy("Import households"),
        "branches.add_household",
        household_import,
        "households:index",
    ),
}


def user_can_import(user, kind: str) -> bool:
    """District administrators, coordinators and secretaries who may add these
    records; building group leaders and everyone else may not."""
    if not getattr(user, "is_authenticated", False):
        return False
    scope = user_scope(user)
    return user.has_perm(KINDS[kind].permission) and (scope.is_district or bool(scope.paths))


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


# --- Keeping the upload between dry run and confirm ------------------------------------


def _session_key(kind: str) -> str:
    return f"branches_import_{kind}"


def _staging_prefix(user, kind: str) -> str:
    return f"{STAGING_DIR}/{user.pk}/{kind}-"


def _stage_save(request, kind: str, data: bytes, filename: str) -> dict:
    _stage_discard(request, kind)
    token = secrets.token_urlsafe(24)
    # Encrypted like any private field: the file holds ID and phone numbers.
    blob = encrypt(base64.b64encode(data).decode()).encode()
    name = default_storage.save(
        f"{_staging_prefix(request.user, kind)}{token}.bin", ContentFile(blob)
    )
    staged = {
        "token": token,
        "name": name,
        "digest": hashlib.sha256(data).hexdigest(),
        "filename": filename[:200],
    }
    request.session[_session_key(kind)] = staged
    return staged


def _stage_load(request, kind: str, staged: dict) -> bytes | None:
    name = staged.get("name", "")
    if not name.startswith(_staging_prefix(request.user, kind)):
        return None
    try:
        with default_storage.open(name) as handle:
            blob = handle.read()
        return base64.b64decode(decrypt(blob.decode()))
    except (OSError, ValueError):
        return None


def _stage_discard(request, kind: str) -> None:
    """Forget the user's pending upload of this kind, and any left behind by an
    earlier session: at most one file per user and kind is ever kept."""
    request.session.pop(_session_key(kind), None)
    prefix = _staging_prefix(request.user, kind)
    folder, _sep, start = prefix.rpartition("/")
    try:
        _dirs, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        if name.startswith(start):
            default_storage.delete(f"{folder}/{name}")


# --- Views ---------------------------------------------------------------------------------


class ImportView(WagtailAdminTemplateMixin, View):
    template_name = "branches/admin/import_form.html"
    header_icon = "upload"

    def dispatch(self, request, kind):
        if kind not in KINDS:
            raise Http404
        self.spec = KINDS[kind]
        if not user_can_import(request.user, kind):
            return TemplateResponse(
                request,
                "branches/admin/import_forbidden.html",
                {"header_title": self.spec.label, "label": self.spec.label},
                status=403,
            )
        return super().dispatch(request, kind)

    def get_page_title(self):
        return self.spec.label

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.spec.label}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        kind = self.spec.kind
        context.update(
            kind=kind,
            columns=IMPORT_KINDS[kind].columns,
            action_url=reverse("branches_import", args=[kind]),
            example_urls={
                fmt: reverse("branches_import_example", args=[kind, fmt]) for fmt in EXAMPLE_TYPES
            },
            report_limit=REPORT_LIMIT,
        )
        context.setdefault("form", ImportUploadForm())
        return context

    def get(self, request, kind):
        return self.render_to_response(self.get_context_data())

    def read_table(self, *, kind, filename, data):
        return import_table_read(kind=kind, filename=filename, data=data)

    def post(self, request, kind):
        if "confirm" in request.POST:
            return self.confirm(request, kind)
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        upload = form.cleaned_data["file"]
        data = upload.read()
        try:
            table = self.read_table(kind=kind, filename=upload.name, data=data)
        except ImportFileError as exc:
            _stage_discard(request, kind)
            form.add_error("file", exc.message)
            return self.render_to_response(self.get_context_data(form=form))
        result = self.spec.importer(rows=table.rows, user=request.user, dry_run=True)
        staged = None
        if result.ok:
            staged = _stage_save(request, kind, data, upload.name)
        else:
            _stage_discard(request, kind)
        return self.render_report(table=table, result=result, staged=staged, filename=upload.name)

    def confirm(self, request, kind):
        staged = request.session.get(_session_key(kind)) or {}
        data = None
        if (
            staged
            and constant_time_compare(staged.get("token", ""), request.POST.get("token", ""))
            and constant_time_compare(staged.get("digest", ""), request.POST.get("digest", ""))
        ):
            data = _stage_load(request, kind, staged)
        if data is None or hashlib.sha256(data).hexdigest() != staged.get("digest"):
            return self.refuse(
                _(
                    "The file changed or expired since its dry run, so nothing was imported. "
                    "Upload it again."
                )
            )
        try:
            table = self.read_table(kind=kind, filename=staged["filename"], data=data)
        except ImportFileError as exc:
            _stage_discard(request, kind)
            return self.refuse(exc.message)
        result = self.spec.importer(
            rows=table.rows, user=request.user, dry_run=False, source=staged["filename"]
        )
        _stage_discard(request, kind)
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


def import_example_download(request, kind, fmt):
    """The example file for ``kind``, made from the same column list the importer reads."""
    if kind not in KINDS or fmt not in EXAMPLE_TYPES:
        raise Http404
    response = HttpResponse(import_example(kind=kind, fmt=fmt), content_type=EXAMPLE_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{kind}-example.{fmt}"'
    return response


# --- Admin registration ----------------------------------------------------------------


@hooks.register("register_admin_urls")
def register_import_urls():
    return [
        path("import/<str:kind>/", ImportView.as_view(), name="branches_import"),
        path(
            "import/<str:kind>/example.<str:fmt>",
            import_example_download,
            name="branches_import_example",
        ),
    ]


class ImportMenuItem(MenuItem):
    def __init__(self, kind: str, label, order: int):
        self.kind = kind
        super().__init__(
            label,
            reverse_lazy("branches_import", args=[kind]),
            name=f"import-{kind}",
            icon_name="upload",
            order=order,
        )

    def is_shown(self, request):
        return user_can_import(request.user, self.kind)


@hooks.register("register_admin_menu_item")
def register_import_menu_item():
    return SubmenuMenuItem(
        gettext_lazy("Import"),
        Menu(
            items=[
                ImportMenuItem(MEMBERS, gettext_lazy("Party members"), 100),
                ImportMenuItem(HOUSEHOLDS, gettext_lazy("Households"), 200),
            ]
        ),
        name="import",
        icon_name="upload",
        order=160,
    )
