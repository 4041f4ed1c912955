"""The secretary's view of who served: fill rates, no-shows, hours and points;
Excel and PDF.

Who sees what (the rules of ``portal/roles.py``): district administrators any
branch; a grid coordinator the branches under their grid; a branch secretary
their own branch; a building group leader the duties of their own group in
their branch. Anyone else, and anyone asking for a branch outside their scope,
gets a 403 page that names nothing of the branch asked for.
"""

import datetime as dt
from io import BytesIO

from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.paginator import WagtailPaginator
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from branches.admin_base import branch_choices
from branches.models import GridBranchPage
from portal.audit import audit_record
from portal.exports import XLSX_CONTENT_TYPE, attachment_header, xlsx_row
from portal.models import AuditEntry
from portal.roles import user_scope
from portal.selectors import data_years
from volunteers.models import Shift
from volunteers.selectors import (
    Period,
    branch_month_report,
    hours,
    hours_by_group_and_month,
    people_served,
    report_headline,
    shift_fill_rates,
)

PER_PAGE = 50
MIN_YEAR = 2000
TITLE = gettext_lazy("Service statistics")


# --- Who may see what -----------------------------------------------------------------------------


def user_can_view_reports(user) -> bool:
    """District administrators, grid coordinators, branch secretaries and group leaders."""
    return getattr(user, "is_authenticated", False) and user_scope(user).is_staff_role


def report_group_ids(user, branch) -> tuple[int, ...] | None:
    """What of ``branch`` the user may count: None for every duty of the branch
    (district, coordinator, secretary); the ids of their building groups for a
    group leader. PermissionDenied when the branch is outside their scope."""
    scope = user_scope(user)
    if scope.is_district or any(branch.path.startswith(p) for p in scope.paths):
        return None
    groups = tuple(
        pk
        for pk, group_path in zip(scope.group_ids, scope.group_paths, strict=True)
        if group_path.startswith(branch.path)
    )
    if not groups:
        raise PermissionDenied
    return groups


# --- Filters: a bad value is reported and replaced by the default, never a 500 --------------------


class ReportFilters:
    """The branch, year and month asked for in the query string."""

    def __init__(self, request):
        self.request = request
        self.problems: list[tuple[str, str]] = []
        today = timezone.localdate()
        self.branch_options = list(branch_choices(request).values_list("pk", "title"))
        self.year = self._read_int("year", today.year, MIN_YEAR, today.year + 1)
        self.month = self._read_int("month", today.month, 1, 12)
        self.branch = self._read_branch()
        self.period = Period(self.year, self.month)
        # Raises PermissionDenied for a branch outside the user's scope.
        self.group_ids = report_group_ids(request.user, self.branch) if self.branch else None

    def _read_int(self, name: str, default: int, first: int, last: int) -> int:
        raw = self.request.GET.get(name, "").strip()
        if not raw:
            return default
        if raw.isdecimal() and first <= int(raw) <= last:
            return int(raw)
        if name == "year":
            message = _(
                "“%(value)s” is not a year between %(first)d and %(last)d; showing %(default)d."
            )
        else:
            message = _(
                "“%(value)s” is not a month between %(first)d and %(last)d; showing %(default)d."
            )
        self.problems.append(
            (name, message % {"value": raw[:20], "first": first, "last": last, "default": default})
        )
        return default

    def _read_branch(self):
        raw = self.request.GET.get("branch", "").strip()
        if raw:
            branch = None
            if raw.isdecimal() and int(raw) < 2**31:
                branch = GridBranchPage.objects.filter(pk=int(raw)).first()
            if branch is not None:
                return branch
            self.problems.append(("branch", _("There is no branch with that number.")))
        if not self.branch_options:
            self.problems.append(("branch", _("There is no branch to report on yet.")))
            return None
        return GridBranchPage.objects.get(pk=self.branch_options[0][0])

    @property
    def query(self) -> str:
        params = {"year": self.year, "month": self.month}
        if self.branch:
            params["branch"] = self.branch.pk
        return urlencode(params)

    @property
    def scope(self) -> dict:
        return {"branch": self.branch, "period": self.period, "group_ids": self.group_ids}


def _forbidden(request):
    return TemplateResponse(
        request,
        "volunteers/admin/report_forbidden.html",
        {"header_title": TITLE, "label": TITLE},
        status=403,
    )


def _page(request, queryset, key):
    paginator = WagtailPaginator(queryset, PER_PAGE)
    try:
        page = paginator.page(request.GET.get(key) or 1)
    except InvalidPage:
        page = paginator.page(1)
    page.object_list = list(page.object_list)
    for row in page.object_list:
        if hasattr(row, "minutes"):
            row.hours = hours(row.minutes)
    return {
        "items": page,
        "key": key,
        "elided_page_range": paginator.get_elided_page_range(page.number),
    }


# --- The page ---------------------------------------------------------------------------------------


class ReportView(WagtailAdminTemplateMixin, View):
    template_name = "volunteers/admin/report.html"
    header_icon = "table"
    page_title = TITLE

    def get(self, request):
        if not user_can_view_reports(request.user):
            return _forbidden(request)
        try:
            self.filters = ReportFilters(request)
        except PermissionDenied:
            return _forbidden(request)
        return self.render_to_response(self.get_context_data())

    def get_page_subtitle(self):
        branch = getattr(self, "filters", None) and self.filters.branch
        return f"{branch.title} · {self.filters.year}-{self.filters.month:02d}" if branch else ""

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": TITLE}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filters = self.filters
        today = timezone.localdate()
        context.update(
            problems=filters.problems,
            filters=filters,
            branch_options=filters.branch_options,
            # The years with shifts (and this year), not a fixed span of empty ones.
            years=[
                y
                for y in data_years(
                    Shift.objects.all(), "starts_at", also=(today.year, filters.year)
                )
                if MIN_YEAR <= y <= today.year + 1
            ],
            months=range(1, 13),
            action_url=reverse("volunteer_report"),
        )
        if filters.branch is None:
            return context
        scope = filters.scope
        table = hours_by_group_and_month(
            branch=filters.branch,
            year=filters.year,
            group_ids=filters.group_ids,
            branch_label=_("Whole branch"),
        )
        context.update(
            headline=report_headline(**scope),
            shifts=_page(self.request, shift_fill_rates(**scope), "shifts_page"),
            people=_page(self.request, people_served(**scope), "people_page"),
            group_months=table,
            export_url=f"{reverse('volunteer_report_export')}?{filters.query}",
            pdf_url=f"{reverse('volunteer_report_pdf')}?{filters.query}",
        )
        return context


report_view = ReportView.as_view()


# --- Excel ------------------------------------------------------------------------------------------


def _naive_local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value).replace(tzinfo=None)


def report_workbook(filters: ReportFilters) -> bytes:
    """The shift, people and group × month tables as three sheets. Names of
    people are there (the file is for staff); phones and ID numbers are not."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)
    shifts = _shifts_sheet(book, filters.scope)
    people = _people_sheet(book, filters.scope)
    groups = _groups_sheet(book, filters)
    # Hours and points with one decimal, as on the page.
    for sheet, first in ((people, 6), (groups, 2)):
        for row in sheet.iter_rows(min_row=2, min_col=first):
            for cell in row:
                cell.number_format = "0.0"
    for sheet in (shifts, people, groups):
        for cell in sheet[1]:
            cell.font = bold
        sheet.freeze_panes = "B2"
    groups.cell(row=groups.max_row, column=1).font = bold
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _shifts_sheet(book, scope: dict):
    """The first sheet: one row per shift with its fill rate."""
    shifts = book.active
    shifts.title = _("Shifts")
    shifts.append(
        xlsx_row(
            shifts,
            [
                _("Duty"),
                _("Building group"),
                _("Starts at"),
                _("Places"),
                _("Minimum needed"),
                _("Confirmed"),
                _("On the waitlist"),
                _("Checked in"),
                _("Fill rate"),
                _("Below minimum"),
            ],
        )
    )
    for shift in shift_fill_rates(**scope).iterator():
        shifts.append(
            xlsx_row(
                shifts,
                [
                    shift.duty.title,
                    shift.duty.group.title if shift.duty.group else "",
                    _naive_local(shift.starts_at),
                    shift.capacity,
                    shift.minimum,
                    shift.confirmed,
                    shift.waitlisted,
                    shift.checked_in,
                    round(shift.fill_rate, 4),
                    _("Yes") if shift.below_minimum else "",
                ],
            )
        )
    for row in shifts.iter_rows(min_row=2, min_col=3, max_col=3):
        row[0].number_format = "yyyy-mm-dd hh:mm"
    for row in shifts.iter_rows(min_row=2, min_col=9, max_col=9):
        row[0].number_format = "0%"
    return shifts


def _people_sheet(book, scope: dict):
    """One row per person who signed up or checked in, most hours first."""
    people = book.create_sheet(_("People"))
    people.append(
        xlsx_row(
            people,
            [
                _("Name"),
                _("Times signed up"),
                _("Attended"),
                _("No-shows"),
                _("Late cancellations"),
                _("Hours"),
                _("Points"),
            ],
        )
    )
    for person in people_served(**scope).iterator():
        people.append(
            xlsx_row(
                people,
                [
                    person.display_name,
                    person.sign_ups,
                    person.attended,
                    person.no_shows,
                    person.late_cancellations,
                    hours(person.minutes),
                    float(person.points),
                ],
            )
        )
    return people


def _groups_sheet(book, filters: ReportFilters):
    """Hours and points of the year by building group and month, with totals."""
    table = hours_by_group_and_month(
        branch=filters.branch,
        year=filters.year,
        group_ids=filters.group_ids,
        branch_label=_("Whole branch"),
    )
    groups = book.create_sheet(_("By group and month"))
    heading = [_("Building group")]
    for month in range(1, 13):
        heading += [
            _("%(month)d: hours") % {"month": month},
            _("%(month)d: points") % {"month": month},
        ]
    heading += [_("Year: hours"), _("Year: points")]
    groups.append(xlsx_row(groups, heading))
    for row in [*table.rows, table.totals]:
        values = [row.title if row is not table.totals else _("Total")]
        for cell in [*row.months, row.total]:
            values += [cell.hours, float(cell.points)]
        groups.append(xlsx_row(groups, values))
    return groups


def _download(request, kind: str):
    """Shared by the Excel and PDF downloads: scope, filters, audit, response."""
    if not user_can_view_reports(request.user):
        return None, _forbidden(request)
    try:
        filters = ReportFilters(request)
    except PermissionDenied:
        return None, _forbidden(request)
    if filters.branch is None:
        return None, TemplateResponse(
            request,
            "volunteers/admin/report_forbidden.html",
            {"header_title": TITLE, "label": TITLE, "message": filters.problems[-1][1]},
            status=404,
        )
    audit_record(
        actor=request.user,
        action=AuditEntry.Action.EXPORT,
        obj=filters.branch,
        detail=f"service report {kind} {filters.query}"[:500],
        request=request,
    )
    return filters, None


def report_export(request):
    filters, refused = _download(request, "xlsx")
    if refused:
        return refused
    month = f"{filters.year}-{filters.month:02d}"
    response = HttpResponse(
        report_workbook(filters),
        content_type=XLSX_CONTENT_TYPE,
    )
    response["Content-Disposition"] = attachment_header(
        f"{_('Service statistics')}-{filters.branch.title}-{month}.xlsx",
        f"service-report-{filters.branch.pk}-{month}.xlsx",
    )
    return response


def report_pdf(request):
    filters, refused = _download(request, "pdf")
    if refused:
        return refused
    # Imported here: volunteers.pdf loads reportlab and the font only when needed.
    from volunteers.pdf import branch_month_report_pdf

    month = f"{filters.year}-{filters.month:02d}"
    report = branch_month_report(**filters.scope)
    response = HttpResponse(branch_month_report_pdf(report=report), content_type="application/pdf")
    response["Content-Disposition"] = attachment_header(
        f"{_('Service statistics')}-{filters.branch.title}-{month}.pdf",
        f"service-report-{filters.branch.pk}-{month}.pdf",
    ).replace("attachment", "inline", 1)
    return response


# --- Admin wiring -----------------------------------------------------------------------------------


class ReportMenuItem(MenuItem):
    def is_shown(self, request):
        return user_can_view_reports(request.user)


@hooks.register("register_admin_urls")
def register_report_urls():
    return [
        path("volunteering/report/", report_view, name="volunteer_report"),
        path("volunteering/report/export/", report_export, name="volunteer_report_export"),
        path("volunteering/report/pdf/", report_pdf, name="volunteer_report_pdf"),
    ]


@hooks.register("register_admin_menu_item")
def register_report_menu_item():
    # Next to Duties (menu_order 160).
    return ReportMenuItem(
        TITLE, reverse_lazy("volunteer_report"), name="volunteer_report", icon_name="table",
        order=161,
    )  # fmt: skip
