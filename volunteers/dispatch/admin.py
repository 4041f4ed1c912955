"""Admin pages over service requests: the dispatch dashboard (派单看板), the
request list with its Excel export, and the request import (导入服务需求).

Who sees what: the district every unit; a grid coordinator the grids and
branches under their grid; a branch secretary their branch; a grid worker
their grids. The list holds what ``requests_visible_to`` allows. Anyone else,
and anyone asking for a unit outside their scope, gets a 403 page that names
nothing of the unit asked for.
"""

import datetime as dt

from django import forms
from django.core.paginator import InvalidPage
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse, reverse_lazy
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.paginator import WagtailPaginator
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Page

from branches.models import DistrictPage, GridBranchPage, GridPage
from portal.audit import audit_record
from portal.exports import XLSX_CONTENT_TYPE, attachment_header
from portal.forms import LocalDateInput
from portal.imports.views import ImportPage, ImportView, example_download
from portal.masking import mask_address
from portal.models import AuditEntry
from portal.roles import path_q, user_scope
from volunteers.dispatch.records import (
    AGE_BUCKETS,
    BUSY_DAYS,
    PERIOD_DAYS,
    RequestFilter,
    dashboard_may_view,
    dashboard_unit_allowed,
    lagging_branches,
    request_dashboard,
    requests_filtered,
    requests_workbook,
)
from volunteers.dispatch.request_import import REQUESTS, request_import
from volunteers.models import ServiceRequest
from volunteers.visibility import requests_visible_to

PER_PAGE = 50
DASHBOARD_TITLE = gettext_lazy("Dispatch dashboard")
LIST_TITLE = gettext_lazy("Service request records")
IMPORT_TITLE = gettext_lazy("Import service requests")


def _forbidden(request, title, message=None):
    return TemplateResponse(
        request,
        "volunteers/admin/requests_forbidden.html",
        {"header_title": title, "label": title, "message": message},
        status=403,
    )


def _pager(request, queryset, key="page"):
    paginator = WagtailPaginator(queryset, PER_PAGE)
    try:
        page = paginator.page(request.GET.get(key) or 1)
    except InvalidPage:
        page = paginator.page(1)
    page.object_list = list(page.object_list)
    return {
        "items": page,
        "key": key,
        "elided_page_range": paginator.get_elided_page_range(page.number),
    }


def duration_text(value: dt.timedelta | None) -> str:
    """``2:30:00`` → “2.5 小时”; minutes under an hour, days from two days on."""
    if value is None:
        return "—"
    hours = value.total_seconds() / 3600
    if hours < 1:
        return _("%(n)s min") % {"n": formats.number_format(max(round(hours * 60), 0))}
    if hours < 48:
        return _("%(n)s h") % {"n": formats.number_format(round(hours, 1), 1)}
    return _("%(n)s days") % {"n": formats.number_format(round(hours / 24, 1), 1)}


# --- The dashboard -------------------------------------------------------------------------------


def root_units(user) -> list[Page]:
    """The units a user's dashboard starts from: the district, or the pages of
    their coordinator, secretary and grid worker roles."""
    scope = user_scope(user)
    if scope.is_district:
        return list(DistrictPage.objects.order_by("path")[:1])
    paths = scope.paths + scope.grid_worker_paths
    return list(Page.objects.filter(path__in=paths).order_by("path").specific())


class DashboardView(WagtailAdminTemplateMixin, View):
    template_name = "volunteers/admin/requests_dashboard.html"
    header_icon = "table"
    page_title = DASHBOARD_TITLE

    def get(self, request):
        if not dashboard_may_view(request.user):
            return _forbidden(request, DASHBOARD_TITLE)
        self.roots = root_units(request.user)
        raw = request.GET.get("unit", "").strip()
        if raw:
            unit = None
            if raw.isdecimal() and int(raw) < 2**31:
                page = Page.objects.filter(pk=int(raw)).first()
                unit = page.specific if page is not None else None
            if unit is None or not dashboard_unit_allowed(request.user, unit):
                return _forbidden(request, DASHBOARD_TITLE)
        elif self.roots:
            unit = self.roots[0]
        else:
            return _forbidden(request, DASHBOARD_TITLE)
        self.unit = unit
        return self.render_to_response(self.get_context_data())

    def get_page_subtitle(self):
        return self.unit.title if getattr(self, "unit", None) else ""

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": DASHBOARD_TITLE}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        board = request_dashboard(unit=self.unit, now=now)
        labels = {
            "lt1": _("Under 1 day"),
            "d1_3": _("1–3 days"),
            "d3_7": _("3–7 days"),
            "gt7": _("Over 7 days"),
        }
        context.update(
            unit=self.unit,
            roots=self.roots,
            board=board,
            ages=[
                {"key": key, "label": labels[key], "count": board.open_by_age[key]}
                for key, _low, _high in AGE_BUCKETS
            ],
            to_accept={
                "median": duration_text(board.to_accept.median),
                "p90": duration_text(board.to_accept.p90),
                "count": board.to_accept.count,
            },
            to_complete={
                "median": duration_text(board.to_complete.median),
                "p90": duration_text(board.to_complete.p90),
                "count": board.to_complete.count,
            },
            satisfaction=(None if board.satisfaction is None else round(board.satisfaction * 100)),
            overdue=[{"request": r, "late_by": duration_text(r.late_by)} for r in board.overdue],
            period_days=PERIOD_DAYS,
            busy_days=BUSY_DAYS,
            list_url=reverse("volunteer_requests"),
            dashboard_url=reverse("volunteer_requests_dashboard"),
        )
        if board.shows_branches:
            pager = _pager(self.request, lagging_branches(unit=self.unit, now=now))
            for branch in pager["items"].object_list:
                branch.satisfaction = (
                    round(100 * branch.satisfied_count / branch.reviewed_count)
                    if branch.reviewed_count
                    else None
                )
                branch.oldest_age = (
                    duration_text(now - branch.oldest_open) if branch.oldest_open else "—"
                )
            context["branches"] = pager
        return context


# --- The list and its export ---------------------------------------------------------------------


def unit_choices(user) -> list[tuple[int, str]]:
    """Grids and branches to narrow the list to, in tree order: first- and
    second-level grids and branches in the user's scope, and a grid worker's grids
    with the grids below them."""
    scope = user_scope(user)
    grids = GridPage.objects.filter(level__in=[GridPage.Level.FIRST, GridPage.Level.SECOND])
    branches = GridBranchPage.objects.all()
    if not scope.is_district:
        grids = grids.filter(path_q("path", scope.paths))
        branches = branches.filter(path_q("path", scope.paths))
    rows = list(grids.values_list("pk", "title", "path", "depth"))
    rows += branches.values_list("pk", "title", "path", "depth")
    if scope.grid_worker_paths:
        rows += GridPage.objects.filter(path_q("path", scope.grid_worker_paths)).values_list(
            "pk", "title", "path", "depth"
        )
    rows = sorted(set(rows), key=lambda r: r[2])
    top = min((r[3] for r in rows), default=0)
    return [(pk, "\u3000" * (depth - top) + title) for pk, title, _path, depth in rows]


class RequestFilterForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)
    # Any grid or branch number is taken (a link from elsewhere may name a
    # third-level grid); the menu offers the usual ones. Scope comes from
    # requests_visible_to, not from this list.
    unit = forms.IntegerField(
        label=gettext_lazy("Grid or branch"),
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        widget=forms.Select,
    )
    date_from = forms.DateField(
        label=gettext_lazy("Recorded from"),
        required=False,
        widget=LocalDateInput(),
    )
    date_to = forms.DateField(
        label=gettext_lazy("Recorded until"),
        required=False,
        widget=LocalDateInput(),
    )
    id = forms.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any")), *ServiceRequest.Status.choices]
        self.fields["category"].choices = [("", _("Any")), *ServiceRequest.Category.choices]
        self.fields["unit"].widget.choices = [("", _("All I may see")), *unit_choices(user)]

    def clean_unit(self):
        pk = self.cleaned_data.get("unit")
        if pk is None:
            return None
        unit = Page.objects.filter(pk=pk).only("path", "content_type").first()
        if unit is None or unit.specific_class not in (GridPage, GridBranchPage):
            raise forms.ValidationError(_("There is no grid or branch with this number."))
        return unit

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
            cleaned.pop("date_to", None)
        return cleaned

    def request_filter(self) -> RequestFilter:
        """The valid part of the filters; a bad value is left out (and reported)."""
        self.is_valid()
        data = self.cleaned_data
        unit = data.get("unit")
        return RequestFilter(
            status=data.get("status") or "",
            category=data.get("category") or "",
            unit_path=unit.path if unit else "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            request_id=data.get("id"),
        )

    @property
    def problems(self) -> list[str]:
        return [
            f"{self.fields[name].label or name}: {' '.join(errors)}"
            for name, errors in self.errors.items()
        ]


def _scoped_requests(request):
    form = RequestFilterForm(request.GET, user=request.user)
    qs = requests_filtered(
        requests_visible_to(request.user, ServiceRequest.objects.all()), form.request_filter()
    )
    return form, qs


class RequestListView(WagtailAdminTemplateMixin, View):
    template_name = "volunteers/admin/requests_list.html"
    header_icon = "list-ul"
    page_title = LIST_TITLE

    def get(self, request):
        if not dashboard_may_view(request.user):
            return _forbidden(request, LIST_TITLE)
        form, qs = _scoped_requests(request)
        rows = qs.select_related("grid", "branch").defer("requester_phone", "description")
        pager = _pager(request, rows.order_by("-created_at", "-id"))
        for item in pager["items"].object_list:
            item.address_masked = mask_address(item.address)
        query = urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])
        return self.render_to_response(
            self.get_context_data(
                form=form,
                problems=form.problems,
                requests=pager,
                export_url=f"{reverse('volunteer_requests_export')}?{query}",
                action_url=reverse("volunteer_requests"),
            )
        )

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": LIST_TITLE}]


def requests_export(request):
    """The filtered list as Excel; the resident's name, address and phone masked."""
    if not dashboard_may_view(request.user):
        return _forbidden(request, LIST_TITLE)
    _form, qs = _scoped_requests(request)
    audit_record(
        actor=request.user,
        action=AuditEntry.Action.EXPORT,
        detail=f"{ServiceRequest._meta.label} {request.GET.urlencode()}"[:500],
        request=request,
    )
    day = timezone.localdate().strftime("%Y%m%d")
    response = HttpResponse(
        requests_workbook(qs),
        content_type=XLSX_CONTENT_TYPE,
    )
    response["Content-Disposition"] = attachment_header(
        f"{_('Service requests')}-{day}.xlsx", f"service-requests-{day}.xlsx"
    )
    return response


# --- The import ----------------------------------------------------------------------------------


REQUEST_IMPORT = ImportPage(
    kind=REQUESTS,
    label=IMPORT_TITLE,
    # Whoever may record requests somewhere: the district, coordinators,
    # secretaries and grid workers (each only into their own grids).
    may_import=dashboard_may_view,
    importer=request_import,
    index_url_name="volunteer_requests",
    url_name="volunteer_requests_import",
    example_url_name="volunteer_requests_import_example",
)


class RequestImportView(ImportView):
    """The kernel's import pages for requests: upload, dry-run report, confirm."""

    def get_page(self) -> ImportPage:
        return REQUEST_IMPORT


def request_import_example_download(request, fmt):
    return example_download(REQUEST_IMPORT, fmt)


# --- Admin wiring --------------------------------------------------------------------------------


@hooks.register("register_admin_urls")
def register_request_record_urls():
    return [
        path(
            "volunteering/requests/dashboard/",
            DashboardView.as_view(),
            name="volunteer_requests_dashboard",
        ),
        path(
            "volunteering/requests/records/", RequestListView.as_view(), name="volunteer_requests"
        ),
        path(
            "volunteering/requests/records/export/",
            requests_export,
            name="volunteer_requests_export",
        ),
        path(
            "volunteering/requests/import/",
            RequestImportView.as_view(),
            name="volunteer_requests_import",
        ),
        path(
            "volunteering/requests/import/example.<str:fmt>",
            request_import_example_download,
            name="volunteer_requests_import_example",
        ),
    ]


class RequestRecordsMenuItem(MenuItem):
    def is_shown(self, request):
        return dashboard_may_view(request.user)


class RequestRecordsMenu(SubmenuMenuItem):
    def is_shown(self, request):
        return dashboard_may_view(request.user)


@hooks.register("register_admin_menu_item")
def register_request_records_menu():
    # Next to Duties (160) and the service statistics (161).
    return RequestRecordsMenu(
        gettext_lazy("Dispatch records"),
        Menu(
            items=[
                RequestRecordsMenuItem(
                    DASHBOARD_TITLE,
                    reverse_lazy("volunteer_requests_dashboard"),
                    name="volunteer-requests-dashboard",
                    icon_name="table",
                    order=100,
                ),
                RequestRecordsMenuItem(
                    LIST_TITLE,
                    reverse_lazy("volunteer_requests"),
                    name="volunteer-requests",
                    icon_name="list-ul",
                    order=200,
                ),
                RequestRecordsMenuItem(
                    IMPORT_TITLE,
                    reverse_lazy("volunteer_requests_import"),
                    name="volunteer-requests-import",
                    icon_name="upload",
                    order=300,
                ),
            ]
        ),
        name="volunteer-request-records",
        icon_name="table",
        order=163,
    )
