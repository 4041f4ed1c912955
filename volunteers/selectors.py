"""Reads of the shifts and the ledgers shared by the volunteers app: the service
statistics (服务统计: shift fill rates, who served and who did not, hours and
points by building group and by month, the monthly branch report), and a
person's service record for a year (我的志愿服务, the certificate) with their
rank in the branch.

Every figure is an aggregate in the database, so the number of queries does
not grow with the shifts or the people counted.

Conventions, chosen once for every table, the Excel export and the PDF:

- A shift belongs to the period its *start* falls in (Asia/Shanghai), and so
  do the hours and points earned on it. Cancelled shifts are left out.
- Hours and points are the net sum of the ``CreditEvent`` ledger entries of the
  period's shifts: a reversal (negative values) cancels the credit it corrects.
- A *sign-up* is one a person made and did not cancel in time: confirmed,
  waitlisted or cancelled late.
- A *no-show* is a confirmed sign-up for a shift that has ended with no
  check-in of that person. A *late cancellation* is a sign-up with status
  "late".
- Hours and points by building group go by the group of the *duty* (where the
  service was done), not the member's own group: volunteers have no group, and
  a group leader's view is the duties of their group. Duties of the whole
  branch form a row of their own.
"""

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    ExtractDay,
    ExtractMonth,
    NullIf,
)
from django.utils import timezone

from portal.names import person_name_sql
from volunteers.models import CheckIn, CreditEvent, ServiceLedger, Shift, SignUp

ZERO_POINTS = Decimal("0.0")


# --- The period and the shifts in it ---------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A calendar month, or a whole year when ``month`` is None, in local time."""

    year: int
    month: int | None = None

    @property
    def start(self) -> dt.datetime:
        return _local_midnight(dt.date(self.year, self.month or 1, 1))

    @property
    def end(self) -> dt.datetime:
        if self.month is None or self.month == 12:
            return _local_midnight(dt.date(self.year + 1, 1, 1))
        return _local_midnight(dt.date(self.year, self.month + 1, 1))

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1] if self.month else 0


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def report_shifts(*, branch, period: Period, group_ids: Sequence[int] | None = None) -> QuerySet:
    """The branch's shifts that start in ``period`` and are not cancelled; with
    ``group_ids``, only those of duties of these building groups."""
    qs = Shift.objects.filter(
        duty__branch=branch,
        starts_at__gte=period.start,
        starts_at__lt=period.end,
        cancelled=False,
    )
    if group_ids is not None:
        qs = qs.filter(duty__group_id__in=group_ids)
    return qs


def _credits(shifts: QuerySet) -> QuerySet:
    return CreditEvent.objects.filter(check_in__shift__in=shifts.values("pk"))


def _no_show_q(now) -> Q:
    """Confirmed sign-ups (as SignUp rows) for ended shifts with no check-in."""
    checked_in = CheckIn.objects.filter(shift_id=OuterRef("shift_id"), user_id=OuterRef("user_id"))
    return Q(status=SignUp.Status.CONFIRMED, shift__ends_at__lte=now) & ~Q(Exists(checked_in))


def hours(minutes: int | None) -> float:
    """Minutes as hours to one decimal, the way every table shows them."""
    return round((minutes or 0) / 60, 1)


# --- Shift fill rates ---------------------------------------------------------------------------


def shift_fill_rates(*, branch, period: Period, group_ids: Sequence[int] | None = None) -> QuerySet:
    """One row per shift, in start order, annotated with ``confirmed``,
    ``waitlisted``, ``checked_in`` (check-in rows, walk-ins included),
    ``fill_rate`` (confirmed / places, 0–1) and ``below_minimum`` (fewer
    confirmed than the shift's minimum). ``duty`` and its group are loaded."""
    status = SignUp.Status
    return (
        report_shifts(branch=branch, period=period, group_ids=group_ids)
        .select_related("duty", "duty__group")
        .annotate(
            confirmed=Count("signups", filter=Q(signups__status=status.CONFIRMED), distinct=True),
            waitlisted=Count("signups", filter=Q(signups__status=status.WAITLISTED), distinct=True),
            checked_in=Count("check_ins", distinct=True),
        )
        .annotate(
            fill_rate=Coalesce(
                Cast(F("confirmed"), FloatField()) / NullIf(F("capacity"), 0),
                Value(0.0),
                output_field=FloatField(),
            ),
            below_minimum=Case(
                When(confirmed__lt=F("minimum"), then=Value(True)), default=Value(False)
            ),
        )
        .order_by("starts_at", "id")
    )


# --- People ---------------------------------------------------------------------------------------


def _subquery_count(qs: QuerySet) -> Coalesce:
    """A correlated COUNT of ``qs`` (already filtered on ``user=OuterRef("pk")``)."""
    counted = qs.order_by().values("user_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _subquery_sum(qs: QuerySet, name: str, zero):
    summed = qs.order_by().values("user_id").annotate(total=Sum(name)).values("total")
    return Coalesce(Subquery(summed), Value(zero))


def people_served(
    *, branch, period: Period, group_ids: Sequence[int] | None = None, now=None
) -> QuerySet:
    """Everyone who signed up for or checked in at the period's shifts, most
    hours first, as users annotated with ``display_name``, ``sign_ups``,
    ``attended``, ``no_shows``, ``late_cancellations``, ``minutes`` and
    ``points``. No private values (phones, ID numbers) are read."""
    now = now or timezone.now()
    shifts = report_shifts(branch=branch, period=period, group_ids=group_ids).values("pk")
    mine = {"user_id": OuterRef("pk"), "shift_id__in": shifts}
    signups = SignUp.objects.filter(**mine)
    status = SignUp.Status
    user_ids = SignUp.objects.filter(shift_id__in=shifts).values("user_id")
    attendee_ids = CheckIn.objects.filter(shift_id__in=shifts).values("user_id")
    credits = CreditEvent.objects.filter(user_id=OuterRef("pk"), check_in__shift_id__in=shifts)
    return (
        get_user_model()
        .objects.filter(Q(pk__in=user_ids) | Q(pk__in=attendee_ids))
        .annotate(
            display_name=person_name_sql(),
            sign_ups=_subquery_count(
                signups.filter(
                    status__in=[status.CONFIRMED, status.WAITLISTED, status.LATE_CANCELLED]
                )
            ),
            attended=_subquery_count(CheckIn.objects.filter(**mine)),
            no_shows=_subquery_count(signups.filter(_no_show_q(now))),
            late_cancellations=_subquery_count(signups.filter(status=status.LATE_CANCELLED)),
            minutes=_subquery_sum(credits, "minutes", 0),
            points=_subquery_sum(credits, "points", ZERO_POINTS),
        )
        .order_by("-minutes", "-points", "display_name", "pk")
    )


# --- Headline figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    shifts: int
    places: int
    filled: int
    people: int
    minutes: int
    points: Decimal
    no_shows: int
    late_cancellations: int
    below_minimum: int

    @property
    def fill_rate(self) -> float:
        return self.filled / self.places if self.places else 0.0

    @property
    def hours(self) -> float:
        return hours(self.minutes)


def report_headline(
    *, branch, period: Period, group_ids: Sequence[int] | None = None, now=None
) -> Headline:
    """The figures at the top of the page and the monthly report: shifts,
    places and places filled (confirmed), people who served (checked in),
    net hours and points, no-shows, late cancellations, shifts below minimum.
    Four queries whatever the data."""
    now = now or timezone.now()
    shifts = report_shifts(branch=branch, period=period, group_ids=group_ids)
    below = shift_fill_rates(branch=branch, period=period, group_ids=group_ids).filter(
        below_minimum=True
    )
    shift_totals = shifts.aggregate(
        shifts=Count("pk"),
        places=Coalesce(Sum("capacity"), 0),
        below=Count("pk", filter=Q(pk__in=below.values("pk"))),
    )
    status = SignUp.Status
    signup_totals = SignUp.objects.filter(shift_id__in=shifts.values("pk")).aggregate(
        filled=Count("pk", filter=Q(status=status.CONFIRMED)),
        late=Count("pk", filter=Q(status=status.LATE_CANCELLED)),
        no_shows=Count("pk", filter=_no_show_q(now)),
    )
    people = CheckIn.objects.filter(shift_id__in=shifts.values("pk")).aggregate(
        n=Count("user_id", distinct=True)
    )["n"]
    credit_totals = _credits(shifts).aggregate(
        minutes=Coalesce(Sum("minutes"), 0), points=Coalesce(Sum("points"), ZERO_POINTS)
    )
    return Headline(
        shifts=shift_totals["shifts"],
        places=shift_totals["places"],
        filled=signup_totals["filled"],
        people=people,
        minutes=credit_totals["minutes"],
        points=credit_totals["points"],
        no_shows=signup_totals["no_shows"],
        late_cancellations=signup_totals["late"],
        below_minimum=shift_totals["below"],
    )


# --- Hours and points by building group and by month --------------------------------------------


@dataclass
class Cell:
    minutes: int = 0
    points: Decimal = ZERO_POINTS

    @property
    def hours(self) -> float:
        return hours(self.minutes)

    def add(self, minutes: int, points: Decimal) -> None:
        self.minutes += minutes or 0
        self.points += points or ZERO_POINTS


@dataclass
class GroupRow:
    """One building group (``group_id`` None: duties of the whole branch)."""

    group_id: int | None
    title: str
    months: list[Cell] = field(default_factory=lambda: [Cell() for _ in range(12)])
    total: Cell = field(default_factory=Cell)


@dataclass
class GroupMonthTable:
    year: int
    rows: list[GroupRow]
    totals: GroupRow


def hours_by_group_and_month(
    *, branch, year: int, group_ids: Sequence[int] | None = None, branch_label: str = ""
) -> GroupMonthTable:
    """Net hours and points of the year's shifts by the duty's building group
    (rows) and the month the shift started (columns), with row and column
    totals. Groups with nothing in the year are left out. One query."""
    shifts = report_shifts(branch=branch, period=Period(year), group_ids=group_ids)
    entries = (
        _credits(shifts)
        .annotate(
            month=ExtractMonth("check_in__shift__starts_at"),
            group_id=F("check_in__shift__duty__group_id"),
            group_title=F("check_in__shift__duty__group__title"),
        )
        .values("group_id", "group_title", "month")
        .annotate(minutes=Sum("minutes"), points=Sum("points"))
        .order_by()
    )
    rows: dict[int | None, GroupRow] = {}
    totals = GroupRow(group_id=None, title="")
    for entry in entries:
        row = rows.setdefault(
            entry["group_id"],
            GroupRow(group_id=entry["group_id"], title=entry["group_title"] or branch_label),
        )
        for target in (
            row.months[entry["month"] - 1],
            row.total,
            totals.months[entry["month"] - 1],
            totals.total,
        ):
            target.add(entry["minutes"], entry["points"])
    ordered = sorted(rows.values(), key=lambda r: (r.group_id is None, r.title))
    return GroupMonthTable(year=year, rows=ordered, totals=totals)


def hours_by_day(*, branch, period: Period, group_ids: Sequence[int] | None = None) -> list[Cell]:
    """Net hours and points for each day of a month (by the shift's start), a
    list of ``period.days`` cells. One query."""
    shifts = report_shifts(branch=branch, period=period, group_ids=group_ids)
    days = [Cell() for _ in range(period.days)]
    entries = (
        _credits(shifts)
        .annotate(day=ExtractDay("check_in__shift__starts_at"))
        .values("day")
        .annotate(minutes=Sum("minutes"), points=Sum("points"))
        .order_by()
    )
    for entry in entries:
        days[entry["day"] - 1].add(entry["minutes"], entry["points"])
    return days


# --- The monthly branch report (PDF) --------------------------------------------------------------

TOP_PEOPLE = 10
MAX_LISTED_SHIFTS = 100


@dataclass(frozen=True)
class MonthReport:
    """What the monthly branch report prints; built by ``branch_month_report``."""

    branch_title: str
    period: Period
    headline: Headline
    days: list[Cell]
    top_people: list
    below_minimum: list
    limited_to_groups: bool


def branch_month_report(
    *, branch, period: Period, group_ids: Sequence[int] | None = None, now=None
) -> MonthReport:
    """The figures of one branch's month: headline, hours per day, the top ten
    people by hours and (up to a hundred of) the shifts below their minimum."""
    scope = {"branch": branch, "period": period, "group_ids": group_ids}
    return MonthReport(
        branch_title=branch.title,
        period=period,
        headline=report_headline(**scope, now=now),
        days=hours_by_day(**scope),
        top_people=list(people_served(**scope, now=now).filter(minutes__gt=0)[:TOP_PEOPLE]),
        below_minimum=list(
            shift_fill_rates(**scope).filter(below_minimum=True)[:MAX_LISTED_SHIFTS]
        ),
        limited_to_groups=group_ids is not None,
    )


# --- A person's service record for a year (我的志愿服务, the certificate) -------------------------


@dataclass(frozen=True)
class ServiceRecord:
    """A person's credited services in a year — one row per shift check-in or
    dispatched task that holds an unreversed credit, oldest first — and the
    totals, which are the sums of these same rows (so a page or a certificate
    that prints the rows and the totals can never disagree with itself)."""

    year: int
    rows: list[dict]

    @property
    def services(self) -> int:
        return len(self.rows)

    @property
    def minutes(self) -> int:
        return sum(row["net_minutes"] for row in self.rows)

    @property
    def points(self) -> Decimal:
        return sum((row["net_points"] for row in self.rows), ZERO_POINTS)

    @property
    def hours(self) -> float:
        return hours(self.minutes)


def service_record(*, user, year: int) -> ServiceRecord:
    """The credited services of ``user`` in ``year`` from the ledger entries
    (``CreditEvent``), in one query. A service counts while it holds more
    credits than reversals (a correction reverses one credit and posts another);
    its hours and points are the net sums of its entries. Each row is a dict:
    ``when``, ``title``, ``unit`` (the organising branch), ``net_minutes``,
    ``net_points``, ``shift_id`` (None for a task), ``task_id`` (the offer; None for a shift)."""
    credit = CreditEvent.Kind.CREDIT
    rows = (
        CreditEvent.objects.filter(user=user, year=year)
        .values("check_in", "offer")
        .annotate(
            live=Sum(Case(When(kind=credit, then=Value(1)), default=Value(-1))),
            net_minutes=Sum("minutes"),
            net_points=Sum("points"),
            when=Coalesce(Min("check_in__shift__starts_at"), Min("offer__request__window_start")),
            title=Coalesce(Min("check_in__shift__duty__title"), Min("offer__request__title")),
            unit=Coalesce(
                Min("check_in__shift__duty__branch__title"), Min("offer__request__branch__title")
            ),
            shift_id=Min("check_in__shift_id"),
            task_id=Min("offer_id"),
        )
        .filter(live__gt=0)
        .values("when", "title", "unit", "net_minutes", "net_points", "shift_id", "task_id")
        .order_by("when", "shift_id", "task_id")
    )
    return ServiceRecord(year=year, rows=list(rows))


def service_years(*, user, also: int) -> list[int]:
    """The years ``user`` has ledger entries in, and ``also`` (this year), newest first."""
    years = CreditEvent.objects.filter(user=user).order_by().values_list("year", flat=True)
    return sorted({also, *years.distinct()}, reverse=True)


def service_rank(*, member, year: int, points: Decimal) -> tuple[int, int]:
    """Where ``points`` in ``year`` put ``member`` among their branch: (rank,
    how many members the branch has). Members with the same points share a
    rank: it is one more than the number of the branch's people with more."""
    peers = member.branch.members.count()
    ahead = ServiceLedger.objects.filter(
        year=year, user__member__branch_id=member.branch_id, points__gt=points
    ).count()
    return ahead + 1, peers
