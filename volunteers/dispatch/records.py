"""Service request records: the filtered list and its Excel export (private
values masked), and the figures of the dispatch dashboard (派单看板). (Their
bulk import from Excel: volunteers/dispatch/request_import.py; the admin pages:
volunteers/dashboard_views.py.)

Dashboard conventions, chosen once:

- A request's *unit* is its grid (a grid's dashboard counts the requests of its
  whole subtree), its branch (a branch's dashboard), or the district (all).
- *Open* is any status before completion (``ServiceRequest.OPEN``); its age
  counts from when the request was recorded.
- *Time to accept* and *time to complete* run from recording to ``accepted_at``
  and ``completed_at``, over the requests accepted (completed) in the last 90
  days. Percentiles are nearest-rank: the value at rank ⌈p·n⌉, fetched with one
  ordered query each, so no list of durations ever leaves the database.
- *Satisfaction* is the share of reviewed requests (completed in the last 90
  days) whose resident was satisfied.
- *Overdue* means the window has ended and the request is not completed,
  reviewed or cancelled.
- *Busiest volunteers*: the most offers taken (accepted, in service or
  completed) in the last 30 days, by when they were taken.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from io import BytesIO

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import DistrictPage, GridBranchPage, GridPage
from portal.exports import xlsx_row
from portal.masking import mask_address, mask_name, mask_phone
from portal.names import full_name
from portal.roles import user_scope
from volunteers.models import Offer, ServiceRequest

# Requests no longer waiting for anyone (not overdue, whatever their window).
DONE = (
    ServiceRequest.Status.COMPLETED,
    ServiceRequest.Status.REVIEWED,
    ServiceRequest.Status.CANCELLED,
)


# --- The list and its export -----------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilter:
    """What the request list is narrowed to; every part optional."""

    status: str = ""
    category: str = ""
    unit_path: str = ""  # a grid's or a branch's tree path
    date_from: dt.date | None = None  # recorded on or after (local date)
    date_to: dt.date | None = None  # recorded on or before
    request_id: int | None = None


def requests_filtered(qs: QuerySet, flt: RequestFilter) -> QuerySet:
    """``qs`` (already scoped with ``requests_visible_to``) narrowed by ``flt``."""
    if flt.status:
        qs = qs.filter(status=flt.status)
    if flt.category:
        qs = qs.filter(category=flt.category)
    if flt.unit_path:
        qs = qs.filter(
            Q(grid__path__startswith=flt.unit_path) | Q(branch__path__startswith=flt.unit_path)
        )
    if flt.date_from:
        qs = qs.filter(created_at__gte=_day_start(flt.date_from))
    if flt.date_to:
        qs = qs.filter(created_at__lt=_day_start(flt.date_to + dt.timedelta(days=1)))
    if flt.request_id:
        qs = qs.filter(pk=flt.request_id)
    return qs


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


EXPORT_LIMIT = 20_000


def _naive_local(value: dt.datetime | None):
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _export_headings() -> list:
    return [
        _("Number"),
        _("Title"),
        _("Category"),
        _("Source"),
        _("Grid"),
        _("Branch"),
        _("Address"),
        _("Resident"),
        _("Phone"),
        _("Starts at"),
        _("Ends at"),
        _("Urgency"),
        _("People needed"),
        _("Skills needed"),
        _("Status"),
        _("Recorded at"),
        _("Accepted at"),
        _("Completed at"),
        _("Satisfied"),
    ]


def _export_row(request: ServiceRequest) -> list:
    """One request as a row of the export, the resident's values masked."""
    return [
        request.pk,
        request.title,
        str(request.get_category_display()),
        str(request.get_source_display()),
        request.grid.title,
        request.branch.title,
        mask_address(request.address),
        mask_name(request.requester_name),
        mask_phone(request.requester_phone),
        _naive_local(request.window_start),
        _naive_local(request.window_end),
        str(request.get_urgency_display()),
        request.people_needed,
        "、".join(s.name for s in request.skills.all()),
        str(request.get_status_display()),
        _naive_local(request.created_at),
        _naive_local(request.accepted_at),
        _naive_local(request.completed_at),
        {True: _("Yes"), False: _("No")}.get(request.satisfied, ""),
    ]


def requests_workbook(qs: QuerySet) -> bytes:
    """The requests of ``qs`` as one Excel sheet, newest first, at most
    ``EXPORT_LIMIT`` rows (a last row says when more were left out). The
    resident's name, address and phone are masked; nothing is ever written clear."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = str(_("Service requests"))
    sheet.append(xlsx_row(sheet, _export_headings()))
    rows = (
        qs.select_related("grid", "branch")
        .prefetch_related("skills")
        .order_by("-created_at", "-id")[: EXPORT_LIMIT + 1]
    )
    written = 0
    for request in rows.iterator(chunk_size=1000):
        if written == EXPORT_LIMIT:
            sheet.append(
                xlsx_row(
                    sheet,
                    [
                        _("Only the first %(limit)d requests are here; narrow the filters.")
                        % {"limit": EXPORT_LIMIT}
                    ],
                )
            )
            break
        sheet.append(xlsx_row(sheet, _export_row(request)))
        written += 1
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    for column in ("J", "K", "P", "Q", "R"):
        for cell in sheet[column][1:]:
            cell.number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "C2"
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- The dashboard ----------------------------------------------------------------------------

PERIOD_DAYS = 90
BUSY_DAYS = 30
OVERDUE_SHOWN = 20
BUSIEST_SHOWN = 10
AGE_BUCKETS = (
    ("lt1", 0, 1),
    ("d1_3", 1, 3),
    ("d3_7", 3, 7),
    ("gt7", 7, None),
)


def dashboard_may_view(user) -> bool:
    """District administrators, grid coordinators, branch secretaries and grid workers."""
    if not getattr(user, "is_authenticated", False):
        return False
    scope = user_scope(user)
    return scope.is_district or bool(scope.paths or scope.grid_worker_paths)


def dashboard_unit_allowed(user, page) -> bool:
    """The district sees every unit; a coordinator or secretary any grid or
    branch under their own unit; a grid worker any grid under their grids."""
    scope = user_scope(user)
    if scope.is_district:
        return isinstance(page, DistrictPage | GridPage | GridBranchPage)
    if isinstance(page, GridPage | GridBranchPage) and any(
        page.path.startswith(p) for p in scope.paths
    ):
        return True
    return isinstance(page, GridPage) and any(
        page.path.startswith(p) for p in scope.grid_worker_paths
    )


def unit_q(page, prefix: str = "") -> Q:
    """The requests of a unit (``prefix`` leads to the request, e.g. "request__")."""
    if isinstance(page, GridBranchPage):
        return Q(**{f"{prefix}branch_id": page.pk})
    if isinstance(page, GridPage):
        return Q(**{f"{prefix}grid__path__startswith": page.path})
    return Q()


@dataclass(frozen=True)
class Percentiles:
    count: int
    median: dt.timedelta | None
    p90: dt.timedelta | None


@dataclass
class Dashboard:
    unit: object
    now: dt.datetime
    open_total: int
    open_by_age: dict[str, int]
    to_accept: Percentiles
    to_complete: Percentiles
    reviewed: int
    satisfied: int
    overdue_total: int
    overdue: list = field(default_factory=list)
    busiest: list = field(default_factory=list)

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.reviewed if self.reviewed else None

    @property
    def shows_branches(self) -> bool:
        return not isinstance(self.unit, GridBranchPage)


def _rank_value(qs: QuerySet, n: int, p: float):
    """The nearest-rank ``p`` percentile of the ordered one-column ``qs`` of ``n`` rows."""
    if not n:
        return None
    return qs[max(math.ceil(p * n), 1) - 1]


def _percentiles(qs: QuerySet, start: str, end: str, since: dt.datetime, n: int) -> Percentiles:
    ordered = (
        qs.filter(**{f"{end}__gte": since, f"{start}__isnull": False})
        .annotate(took=ExpressionWrapper(F(end) - F(start), output_field=DurationField()))
        .order_by("took", "pk")
        .values_list("took", flat=True)
    )
    return Percentiles(
        count=n, median=_rank_value(ordered, n, 0.5), p90=_rank_value(ordered, n, 0.9)
    )


def request_dashboard(*, unit, now: dt.datetime | None = None) -> Dashboard:
    """Every figure of the dispatch dashboard for one unit (district page, grid
    or branch). A fixed number of queries, however many requests there are."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=PERIOD_DAYS)
    qs = ServiceRequest.objects.filter(unit_q(unit))
    is_open = Q(status__in=ServiceRequest.OPEN)
    late = Q(window_end__lt=now) & ~Q(status__in=DONE)
    counts = {}
    for key, low, high in AGE_BUCKETS:
        age = Q(created_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            age &= Q(created_at__gt=now - dt.timedelta(days=high))
        counts[key] = Count("pk", filter=is_open & age)
    reviewed = Q(status=ServiceRequest.Status.REVIEWED, completed_at__gte=since)
    figures = qs.aggregate(
        open_total=Count("pk", filter=is_open),
        overdue_total=Count("pk", filter=late),
        accepted_n=Count("pk", filter=Q(accepted_at__gte=since)),
        completed_n=Count("pk", filter=Q(completed_at__gte=since)),
        reviewed=Count("pk", filter=reviewed),
        satisfied=Count("pk", filter=reviewed & Q(satisfied=True)),
        **counts,
    )
    overdue = list(
        qs.filter(late)
        .select_related("grid")
        # Private values stay encrypted: the list shows none of them.
        .defer("address", "requester_phone", "description")
        .order_by("window_end", "pk")[:OVERDUE_SHOWN]
    )
    for request in overdue:
        request.late_by = now - request.window_end
    return Dashboard(
        unit=unit,
        now=now,
        open_total=figures["open_total"],
        open_by_age={key: figures[key] for key, _low, _high in AGE_BUCKETS},
        to_accept=_percentiles(qs, "created_at", "accepted_at", since, figures["accepted_n"]),
        to_complete=_percentiles(qs, "created_at", "completed_at", since, figures["completed_n"]),
        reviewed=figures["reviewed"],
        satisfied=figures["satisfied"],
        overdue_total=figures["overdue_total"],
        overdue=overdue,
        busiest=busiest_volunteers(unit=unit, now=now),
    )


def busiest_volunteers(*, unit, now: dt.datetime, limit: int = BUSIEST_SHOWN) -> list[dict]:
    """Who took the most offers of the unit's requests in the last 30 days: one
    query. Each row: user_id, name, taken, completed."""
    since = now - dt.timedelta(days=BUSY_DAYS)
    rows = (
        Offer.objects.filter(unit_q(unit, "request__"))
        .filter(status__in=Offer.TAKEN, answered_at__gte=since)
        .values(
            "user_id",
            "user__username",
            "user__first_name",
            "user__last_name",
            "user__member__name",
        )
        .annotate(
            taken=Count("pk"),
            completed=Count("pk", filter=Q(status=Offer.Status.COMPLETED)),
        )
        .order_by("-taken", "-completed", "user_id")[:limit]
    )
    people = []
    for row in rows:
        full = full_name(row["user__first_name"], row["user__last_name"])
        people.append(
            {
                "user_id": row["user_id"],
                "name": row["user__member__name"] or full or row["user__username"],
                "taken": row["taken"],
                "completed": row["completed"],
            }
        )
    return people


def lagging_branches(*, unit, now: dt.datetime | None = None) -> QuerySet:
    """One row per branch of the unit, worst first: most overdue requests, then
    most open, then the oldest open request. Counts over the branch's requests;
    satisfaction over its reviews of the last 90 days. Paginate it."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=PERIOD_DAYS)
    branches = GridBranchPage.objects.all()
    if not isinstance(unit, DistrictPage):
        branches = branches.filter(path__startswith=unit.path)
    req = "service_requests"
    is_open = Q(**{f"{req}__status__in": ServiceRequest.OPEN})
    reviewed = Q(**{f"{req}__status": ServiceRequest.Status.REVIEWED}) & Q(
        **{f"{req}__completed_at__gte": since}
    )
    return (
        branches.annotate(
            open_count=Count(req, filter=is_open),
            overdue_count=Count(
                req,
                filter=Q(**{f"{req}__window_end__lt": now}) & ~Q(**{f"{req}__status__in": DONE}),
            ),
            oldest_open=Min(f"{req}__created_at", filter=is_open),
            completed_count=Count(req, filter=Q(**{f"{req}__completed_at__gte": since})),
            reviewed_count=Count(req, filter=reviewed),
            satisfied_count=Count(req, filter=reviewed & Q(**{f"{req}__satisfied": True})),
        )
        .only("pk", "title", "path")
        .order_by(
            "-overdue_count",
            "-open_count",
            F("oldest_open").asc(nulls_last=True),
            "path",
        )
    )
