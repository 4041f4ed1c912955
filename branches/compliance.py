"""三会一课 compliance: has each branch held the meetings it must hold, did the
members come, and are the records complete?

Read-only. Every function runs a fixed number of queries, however many
branches and meetings there are: the meetings are counted and the attendance
tallied in the database (grouped by branch, kind and month), and the rest is
worked out in Python from those few rows.

The rules:

* A meeting is *held* when it is scheduled (not cancelled) and it started
  before now. Cancelled and future meetings never count.
* Each kind has a period (``REQUIRED_EVERY``): committee meetings, party group
  meetings and the themed party day at least once a month; the branch assembly
  and the party lecture at least once a quarter. Periods are calendar months and
  quarters in the site's time zone (Asia/Shanghai). The requirement is per
  branch: one party group meeting anywhere in the branch meets the month.
* A period is *met* when at least one meeting of the kind was held in it;
  *missed* when it ended before today and none was; *open* when it is running
  now and none has been held yet; *future* when it has not started.
* Attendance rate = members present / all attendance rows of held meetings
  (everyone invited, whatever their status). Members on leave and members
  absent are shown separately; rows still "not signed in yet" count as not
  present.
* Overdue = every missed period, plus every held meeting that started more
  than ``RECORDS_GRACE`` (7 days) ago and still has no attendance recorded
  (no row other than "not signed in yet", or no invitees at all) or no minutes.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, Max, OuterRef, Q
from django.db.models.functions import ExtractMonth
from django.utils import timezone

from branches.models import REQUIRED_EVERY, Attendance, GridBranchPage, Meeting, MeetingKind

MONTH = "month"
QUARTER = "quarter"
# Meeting records (attendance, minutes) are due this long after the start.
RECORDS_GRACE = dt.timedelta(days=7)
# Kinds in the order they are shown: the three meetings, the lecture, the party day.
KINDS = tuple(MeetingKind)
MONTH_KINDS = tuple(k for k in KINDS if REQUIRED_EVERY[k] == MONTH)
QUARTER_KINDS = tuple(k for k in KINDS if REQUIRED_EVERY[k] == QUARTER)


class State:
    MET = "met"
    MISSED = "missed"
    OPEN = "open"
    FUTURE = "future"


# --- Periods ------------------------------------------------------------------------------


def _tz():
    return timezone.get_default_timezone()


def period_bounds(year: int, every: str, period: int) -> tuple[dt.datetime, dt.datetime]:
    """Start (inclusive) and end (exclusive) of month 1-12 or quarter 1-4, as aware
    datetimes in the site's time zone."""
    first_month = period if every == MONTH else 3 * (period - 1) + 1
    months = 1 if every == MONTH else 3
    end_month = first_month + months
    start = dt.datetime(year, first_month, 1, tzinfo=_tz())
    end_year, end_month = (year + 1, end_month - 12) if end_month > 12 else (year, end_month)
    return start, dt.datetime(end_year, end_month, 1, tzinfo=_tz())


def period_count(every: str) -> int:
    return 12 if every == MONTH else 4


def quarter_of(month: int) -> int:
    return (month - 1) // 3 + 1


def _state(count: int, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> str:
    if count:
        return State.MET
    today = timezone.localtime(now, _tz()).replace(hour=0, minute=0, second=0, microsecond=0)
    if end <= today:
        return State.MISSED
    if start > now:
        return State.FUTURE
    return State.OPEN


# --- Results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One kind in one month or quarter."""

    kind: str
    every: str
    period: int
    count: int
    state: str

    @property
    def met(self) -> bool:
        return self.state == State.MET

    @property
    def missed(self) -> bool:
        return self.state == State.MISSED


@dataclass
class Tally:
    """Attendance rows of held meetings."""

    rows: int = 0
    present: int = 0
    leave: int = 0
    absent: int = 0
    unrecorded: int = 0

    def add(self, other: "Tally") -> None:
        self.rows += other.rows
        self.present += other.present
        self.leave += other.leave
        self.absent += other.absent
        self.unrecorded += other.unrecorded

    @property
    def rate(self) -> float | None:
        """Present / all rows, or None when there is nothing to count."""
        return self.present / self.rows if self.rows else None

    @property
    def percent(self) -> int | None:
        return None if self.rate is None else round(self.rate * 100)


@dataclass(frozen=True)
class MissingRecords:
    """A held meeting whose attendance or minutes are overdue."""

    meeting_id: int
    kind: str
    title: str
    starts_at: dt.datetime
    no_attendance: bool
    no_minutes: bool


@dataclass
class BranchCompliance:
    branch_id: int
    year: int
    now: dt.datetime
    # {(kind, period): Cell}: months for monthly kinds, quarters for quarterly ones.
    cells: dict = field(default_factory=dict)
    # Meetings held per kind and month, whatever the kind's period ({(kind, month): n}).
    monthly_counts: dict = field(default_factory=dict)
    held: dict = field(default_factory=dict)  # {kind: meetings held this year}
    attendance: dict = field(default_factory=dict)  # {kind: Tally}
    missing_records: list = field(default_factory=list)
    last_meeting: dt.datetime | None = None

    def cell(self, kind: str, month: int) -> Cell:
        """The cell that covers ``month`` for ``kind``."""
        period = month if REQUIRED_EVERY[kind] == MONTH else quarter_of(month)
        return self.cells[(kind, period)]

    @property
    def missed(self) -> list[Cell]:
        """Missed requirements, in the order they fell due."""
        return sorted(
            (c for c in self.cells.values() if c.missed),
            key=lambda c: (period_bounds(self.year, c.every, c.period)[1], KINDS.index(c.kind)),
        )

    @property
    def attendance_total(self) -> Tally:
        total = Tally()
        for tally in self.attendance.values():
            total.add(tally)
        return total

    @property
    def held_total(self) -> int:
        return sum(self.held.values())

    @property
    def overdue(self) -> int:
        return len(self.missed) + len(self.missing_records)


@dataclass
class RollupRow:
    branch_id: int
    title: str
    title_en: str
    missed: int
    missing_records: int
    held: int
    attendance: Tally
    last_meeting: dt.datetime | None

    @property
    def overdue(self) -> int:
        return self.missed + self.missing_records

    @property
    def behind(self) -> bool:
        return self.overdue > 0


@dataclass
class Rollup:
    year: int
    now: dt.datetime
    rows: list  # RollupRow, most overdue first, then by name

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def behind(self) -> int:
        return sum(1 for r in self.rows if r.behind)

    @property
    def attendance(self) -> Tally:
        total = Tally()
        for row in self.rows:
            total.add(row.attendance)
        return total

    @property
    def missed(self) -> int:
        return sum(r.missed for r in self.rows)

    @property
    def missing_records(self) -> int:
        return sum(r.missing_records for r in self.rows)


# --- Queries --------------------------------------------------------------------------------


def _year_bounds(year: int, now: dt.datetime):
    start = dt.datetime(year, 1, 1, tzinfo=_tz())
    end = dt.datetime(year + 1, 1, 1, tzinfo=_tz())
    return start, end, min(end, now)


def _held(path: str, year: int, now: dt.datetime):
    start, _end, until = _year_bounds(year, now)
    return Meeting.objects.filter(
        branch__path__startswith=path,
        status=Meeting.Status.SCHEDULED,
        starts_at__gte=start,
        starts_at__lt=until,
    )


def _monthly_counts(path: str, year: int, now: dt.datetime) -> dict:
    """{branch_id: {(kind, month): n}} of held meetings. One query."""
    rows = (
        _held(path, year, now)
        .annotate(month=ExtractMonth("starts_at", tzinfo=_tz()))
        .order_by()
        .values("branch_id", "kind", "month")
        .annotate(n=Count("id"))
    )
    counts = defaultdict(dict)
    for row in rows:
        counts[row["branch_id"]][(row["kind"], row["month"])] = row["n"]
    return counts


def _attendance(path: str, year: int, now: dt.datetime) -> dict:
    """{branch_id: {kind: Tally}} over held meetings. One query."""
    start, _end, until = _year_bounds(year, now)
    status = Attendance.Status
    rows = (
        Attendance.objects.filter(
            meeting__branch__path__startswith=path,
            meeting__status=Meeting.Status.SCHEDULED,
            meeting__starts_at__gte=start,
            meeting__starts_at__lt=until,
        )
        .order_by()
        .values("meeting__branch_id", "meeting__kind")
        .annotate(
            rows=Count("id"),
            present=Count("id", filter=Q(status=status.PRESENT)),
            leave=Count("id", filter=Q(status=status.LEAVE)),
            absent=Count("id", filter=Q(status=status.ABSENT)),
            unrecorded=Count("id", filter=Q(status=status.INVITED)),
        )
    )
    tallies = defaultdict(dict)
    for row in rows:
        tallies[row["meeting__branch_id"]][row["meeting__kind"]] = Tally(
            rows=row["rows"],
            present=row["present"],
            leave=row["leave"],
            absent=row["absent"],
            unrecorded=row["unrecorded"],
        )
    return tallies


def _missing_records(path: str, year: int, now: dt.datetime):
    """Held meetings past the grace period with no attendance recorded or no minutes."""
    recorded = Attendance.objects.filter(meeting=OuterRef("pk")).exclude(
        status=Attendance.Status.INVITED
    )
    no_minutes = ~Q(minutes__regex=r"\S")
    return (
        _held(path, year, now)
        .filter(starts_at__lt=now - RECORDS_GRACE)
        .annotate(recorded=Exists(recorded))
        .filter(Q(recorded=False) | no_minutes)
        .order_by()
    )


def _last_meetings(path: str, year: int, now: dt.datetime) -> dict:
    """{branch_id: start of the latest held meeting up to the end of ``year``}. One query."""
    _start, _end, until = _year_bounds(year, now)
    rows = (
        Meeting.objects.filter(
            branch__path__startswith=path,
            status=Meeting.Status.SCHEDULED,
            starts_at__lt=until,
        )
        .order_by()
        .values("branch_id")
        .annotate(last=Max("starts_at"))
    )
    return {row["branch_id"]: row["last"] for row in rows}


def _cells(counts: dict, year: int, now: dt.datetime) -> dict:
    cells = {}
    for kind in KINDS:
        every = REQUIRED_EVERY[kind]
        for period in range(1, period_count(every) + 1):
            if every == MONTH:
                n = counts.get((kind, period), 0)
            else:
                n = sum(counts.get((kind, m), 0) for m in range(3 * period - 2, 3 * period + 1))
            start, end = period_bounds(year, every, period)
            cells[(kind, period)] = Cell(kind, every, period, n, _state(n, start, end, now))
    return cells


# --- Public functions ---------------------------------------------------------------------


def branch_compliance(branch, year: int, *, now: dt.datetime | None = None) -> BranchCompliance:
    """The compliance grid of one branch for one year. Four queries."""
    now = now or timezone.now()
    path = branch.path
    counts = _monthly_counts(path, year, now).get(branch.pk, {})
    held = defaultdict(int)
    for (kind, _month), n in counts.items():
        held[kind] += n
    missing = [
        MissingRecords(
            meeting_id=row["id"],
            kind=row["kind"],
            title=row["title"],
            starts_at=row["starts_at"],
            no_attendance=not row["recorded"],
            no_minutes=not (row["minutes"] or "").strip(),
        )
        for row in _missing_records(path, year, now)
        .order_by("starts_at", "id")
        .values("id", "kind", "title", "starts_at", "recorded", "minutes")
    ]
    return BranchCompliance(
        branch_id=branch.pk,
        year=year,
        now=now,
        cells=_cells(counts, year, now),
        monthly_counts=counts,
        held=dict(held),
        attendance=_attendance(path, year, now).get(branch.pk, {}),
        missing_records=missing,
        last_meeting=_last_meetings(path, year, now).get(branch.pk),
    )


def unit_rollup(unit, year: int, *, now: dt.datetime | None = None) -> Rollup:
    """One row per branch under ``unit`` (a grid or the district), most overdue
    first, then by name. Five queries."""
    now = now or timezone.now()
    path = unit.path
    branches = list(
        GridBranchPage.objects.filter(path__startswith=path).values("pk", "title", "title_en")
    )
    counts = _monthly_counts(path, year, now)
    tallies = _attendance(path, year, now)
    missing = {
        row["branch_id"]: row["n"]
        for row in _missing_records(path, year, now).values("branch_id").annotate(n=Count("id"))
    }
    last = _last_meetings(path, year, now)
    rows = []
    for branch in branches:
        pk = branch["pk"]
        branch_counts = counts.get(pk, {})
        cells = _cells(branch_counts, year, now)
        attendance = Tally()
        for tally in tallies.get(pk, {}).values():
            attendance.add(tally)
        rows.append(
            RollupRow(
                branch_id=pk,
                title=branch["title"],
                title_en=branch["title_en"],
                missed=sum(1 for c in cells.values() if c.missed),
                missing_records=missing.get(pk, 0),
                held=sum(branch_counts.values()),
                attendance=attendance,
                last_meeting=last.get(pk),
            )
        )
    rows.sort(key=lambda r: (-r.overdue, r.title, r.branch_id))
    return Rollup(year=year, now=now, rows=rows)
