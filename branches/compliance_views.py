"""The 三会一课 compliance page in the admin: a branch's months × kinds grid, or a
roll-up of every branch under a grid or the district.

Who sees what: district administrators any unit; a grid coordinator their grid
and everything under it; a branch secretary only their own branch. Anyone else,
and anyone asking for a unit outside their scope, gets a 403 page that names
nothing of the unit asked for.

Wiring (in branches/wagtail_hooks.py): register ``compliance_urls`` with the
``register_admin_urls`` hook and ``compliance_menu_item()`` with
``register_admin_menu_item``.
"""

from django.core.paginator import InvalidPage
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse, reverse_lazy
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views import View
from wagtail.admin.menu import MenuItem
from wagtail.admin.paginator import WagtailPaginator
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Page

from branches.compliance import (
    KINDS,
    MONTH,
    QUARTER_KINDS,
    REQUIRED_EVERY,
    State,
    branch_compliance,
    quarter_of,
    unit_rollup,
)
from branches.models import DistrictPage, GridBranchPage, GridPage, Meeting, MeetingKind
from portal.roles import path_q, user_scope
from portal.selectors import data_years

PER_PAGE = 50
MIN_YEAR = 2000
TITLE = gettext_lazy("Meeting compliance (三会一课)")


# --- Who may see what ----------------------------------------------------------------------


def user_can_view_compliance(user) -> bool:
    """District administrators, grid coordinators and branch secretaries."""
    if not getattr(user, "is_authenticated", False):
        return False
    scope = user_scope(user)
    return scope.is_district or bool(scope.paths)


def unit_in_scope(user, unit) -> bool:
    """Group leaders' groups do not count: the page is for coordinators and secretaries."""
    scope = user_scope(user)
    return scope.is_district or any(unit.path.startswith(p) for p in scope.paths)


def default_unit(user):
    """The district for its administrators; otherwise the widest unit the user
    coordinates or leads (a coordinator's grid, a secretary's branch)."""
    scope = user_scope(user)
    if scope.is_district:
        page = DistrictPage.objects.order_by("path").first()
    else:
        page = Page.objects.filter(path__in=scope.paths).order_by("depth", "path").first()
    return page.specific if page is not None else None


def _display_title(title, title_en):
    if title_en and (get_language() or "").startswith("en"):
        return title_en
    return title


# --- The view ----------------------------------------------------------------------------------


class ComplianceView(WagtailAdminTemplateMixin, View):
    template_name = "branches/admin/compliance.html"
    header_icon = "tasks"
    page_title = TITLE

    def get(self, request):
        if not user_can_view_compliance(request.user):
            return self.forbidden()
        self.problems = []
        self.year = self.read_year()
        self.unit = self.read_unit()
        if self.unit is not None and not unit_in_scope(request.user, self.unit):
            return self.forbidden()
        return self.render_to_response(self.get_context_data())

    def forbidden(self):
        return TemplateResponse(
            self.request,
            "branches/admin/compliance_forbidden.html",
            {"header_title": TITLE, "label": TITLE},
            status=403,
        )

    # Parameters: a bad value is reported and replaced by the default, never a 500.

    def read_year(self) -> int:
        current = timezone.localdate().year
        raw = self.request.GET.get("year", "").strip()
        if not raw:
            return current
        try:
            year = int(raw)
        except ValueError:
            year = None
        if year is None or not MIN_YEAR <= year <= current:
            self.problems.append(
                (
                    "year",
                    _("“%(value)s” is not a year between %(first)d and %(last)d; showing %(year)d.")
                    % {"value": raw[:20], "first": MIN_YEAR, "last": current, "year": current},
                )
            )
            return current
        return year

    def read_unit(self):
        raw = self.request.GET.get("unit", "").strip()
        if raw:
            page = None
            if raw.isdecimal() and int(raw) < 2**31:
                page = Page.objects.filter(pk=int(raw)).first()
            if page is not None and page.specific_class in (
                DistrictPage,
                GridPage,
                GridBranchPage,
            ):
                return page.specific
            self.problems.append(
                ("unit", _("There is no district, grid or branch with that number."))
            )
        unit = default_unit(self.request.user)
        if unit is None:
            self.problems.append(("unit", _("There is no unit to show yet.")))
        return unit

    # Context

    def get_page_subtitle(self):
        if getattr(self, "unit", None) is None:
            return ""
        return f"{self.unit.display_title} · {self.year}"

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": TITLE}]

    def url_for(self, unit_id, year=None, **extra) -> str:
        params = {"unit": unit_id, "year": year or self.year, **extra}
        return f"{reverse('compliance_index')}?{urlencode(params)}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        current = timezone.localdate().year
        context.update(
            problems=self.problems,
            unit=self.unit,
            year=self.year,
            # The years with meetings (and this year): not empty years before them.
            years=[
                y
                for y in data_years(Meeting.objects.all(), "starts_at", also=(current, self.year))
                if MIN_YEAR <= y <= current
            ],
            action_url=reverse("compliance_index"),
        )
        if self.unit is None:
            return context
        context.update(
            unit_options=self.unit_options(),
            trail=self.trail(),
            is_branch=isinstance(self.unit, GridBranchPage),
        )
        if context["is_branch"]:
            context.update(self.branch_context())
        else:
            context.update(self.rollup_context())
        return context

    def unit_options(self):
        """The units to pick from: the user's own units, the first- and
        second-level grids in their scope, the district for its administrators,
        and the unit on show. (Branches are reached from a roll-up.)"""
        scope = user_scope(self.request.user)
        grids = Q(
            pk__in=GridPage.objects.filter(
                level__in=[GridPage.Level.FIRST, GridPage.Level.SECOND]
            ).values("pk")
        )
        if scope.is_district:
            q = grids | Q(pk__in=DistrictPage.objects.values("pk"))
        else:
            q = (grids & path_q("path", scope.paths)) | Q(path__in=scope.paths)
        q |= Q(pk=self.unit.pk)
        pages = list(Page.objects.filter(q).order_by("path").values("pk", "title", "depth"))
        top = min((p["depth"] for p in pages), default=0)
        return [
            {
                "id": p["pk"],
                "label": "— " * (p["depth"] - top) + p["title"],
                "selected": p["pk"] == self.unit.pk,
            }
            for p in pages
        ]

    def trail(self):
        """The unit's ancestors in the tree, linked where the user may see them."""
        items = []
        for page in self.unit.get_ancestors().filter(depth__gte=2).specific():
            url = self.url_for(page.pk) if unit_in_scope(self.request.user, page) else ""
            items.append({"label": page.display_title, "url": url})
        return items

    def branch_context(self):
        report = branch_compliance(self.unit, self.year)
        kinds = [
            {"value": k, "label": MeetingKind(k).label, "every": REQUIRED_EVERY[k]} for k in KINDS
        ]
        months = []
        for month in range(1, 13):
            cells = []
            for kind in KINDS:
                every = REQUIRED_EVERY[kind]
                if every != MONTH and (month - 1) % 3:
                    continue  # covered by the quarter's cell above (rowspan 3)
                cells.append(
                    {
                        "cell": report.cell(kind, month),
                        "rowspan": 1 if every == MONTH else 3,
                    }
                )
            months.append(
                {
                    "month": month,
                    "label": capfirst(MONTHS_3[month]),
                    "quarter": quarter_of(month),
                    "cells": cells,
                }
            )
        attendance = [
            {
                "label": MeetingKind(k).label,
                "held": report.held.get(k, 0),
                "tally": report.attendance.get(k),
            }
            for k in KINDS
        ]
        return {
            "report": report,
            "kinds": kinds,
            "months": months,
            "attendance_rows": attendance,
            "attendance_total": report.attendance_total,
            "missed": [
                {"cell": c, "label": MeetingKind(c.kind).label, "period": self.period_label(c)}
                for c in report.missed
            ],
            "missing_records": [
                {"item": m, "label": MeetingKind(m.kind).label, "url": self.meeting_url(m)}
                for m in report.missing_records
            ],
            "State": State,
            "quarter_kinds": QUARTER_KINDS,
        }

    def period_label(self, cell) -> str:
        if cell.every == MONTH:
            return f"{self.year}-{cell.period:02d}"
        return _("Q%(quarter)d %(year)d") % {"quarter": cell.period, "year": self.year}

    @staticmethod
    def meeting_url(item) -> str:
        """Where to fill in what is missing: the attendance page when attendance
        is, else the meeting's edit form (when the meeting admin is installed)."""
        names = ("meeting_attendance", "meetings:edit")
        if not item.no_attendance:
            names = names[::-1]
        for name in names:
            try:
                return reverse(name, args=[item.meeting_id])
            except NoReverseMatch:
                continue
        return ""

    def rollup_context(self):
        rollup = unit_rollup(self.unit, self.year)
        paginator = WagtailPaginator(rollup.rows, PER_PAGE)
        try:
            page = paginator.page(self.request.GET.get("p") or 1)
        except InvalidPage:
            page = paginator.page(1)
        rows = [
            {
                "row": row,
                "title": _display_title(row.title, row.title_en),
                "url": self.url_for(row.branch_id),
            }
            for row in page.object_list
        ]
        return {
            "rollup": rollup,
            "rows": rows,
            "items": page,
            "paginator": paginator,
            "elided_page_range": paginator.get_elided_page_range(page.number),
        }


compliance_view = ComplianceView.as_view()

compliance_urls = [
    path("compliance/", compliance_view, name="compliance_index"),
]


class ComplianceMenuItem(MenuItem):
    def is_shown(self, request):
        return user_can_view_compliance(request.user)


def compliance_menu_item(order: int = 170) -> ComplianceMenuItem:
    return ComplianceMenuItem(
        TITLE,
        reverse_lazy("compliance_index"),
        name="compliance",
        icon_name="tasks",
        order=order,
    )
