"""Who to offer a service request to: volunteers ranked by points a
dispatcher can read, each with its reasons (派单推荐).

A candidate's score is the sum of six factors, in points:

============  ======  =============================================================
factor        points  how
============  ======  =============================================================
skills        0–30    30 × the share of the request's skills the person has (a
                      person with none of them still ranks, low); 0 for everyone
                      when the request needs no skill
grid          0–20    where the person lives in the grid tree, from the treebeard
                      path of their home (``VolunteerProfile.home_grid``, else a
                      member's branch page) against the request's grid: inside
                      the same grid 20, the same third-level grid (branch) 14,
                      the same second-level grid 8, elsewhere 0
distance      0–20    when both have coordinates (great-circle distance): 20
                      within 250 m, 5 fewer for each further 250 m, 0 beyond 1 km
branch        0–10    a party member of the request's branch
reliability   0–10    10 × attendance over the last 12 months: checked-in
                      confirmed sign-ups of ended shifts ÷ (those sign-ups + late
                      cancellations), so no-shows and late cancellations lower it;
                      someone with no such record gets 75 % (``NEUTRAL_ATTENDANCE``)
load          0–10    10 − 2 per task taken (accepted, in service or completed)
                      in the last 30 days, so that work is spread: 0 from 5 tasks
============  ======  =============================================================

For an urgent request, grid and distance count 1.5 × (someone near arrives
sooner). Ties go to fewer recent tasks, then to the older account.

Never ranked: inactive accounts, people who take no tasks (``accepts_tasks``
off), people with a confirmed sign-up for a shift or a task taken elsewhere
(accepted or in service) overlapping the request's window, and people who
already hold a live offer for this request.

Who is looked at: the request's neighbourhood — people living in its
second-level grid, within 1 km, or members of its branch. When fewer than
``limit`` of them have a skill the request needs, the holders of those skills
in its first-level grid are added; when fewer than ``limit`` people are found
at all, everyone in the district is.

How it stays fast with tens of thousands of volunteers, in a fixed number of
queries (five; six or seven when the search widens), none per person: three
small ones read the request's skills and grid tree, one the shifts that
overlap its window, and one scores the neighbourhood — the busy people and
the neighbourhood are sub-selects (hashed once), the factors without history
(skills, grid, distance, branch) are SQL expressions to sort by, and the
history counts are correlated sub-selects that PostgreSQL evaluates after the
sort and limit, for the ``SHORTLIST`` best only. In Python, only people whose
score without history is at least the ``limit``-th best minus the most history
can add are kept and ranked.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import reduce
from operator import add

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import In, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.models import Page

from branches.models import GridPage, Member
from portal.names import person_name_sql
from volunteers.models import CheckIn, Offer, ServiceRequest, Shift, SignUp, VolunteerProfile

SKILLS = 30.0
GRID = {3: 20.0, 2: 14.0, 1: 8.0, 0: 0.0}  # same grid, third-level, second-level, elsewhere
DISTANCE, DISTANCE_STEP_M, DISTANCE_STEP = 20.0, 250, 5.0
DISTANCE_MAX_M = 1000
BRANCH = 10.0
RELIABILITY = 10.0
NEUTRAL_ATTENDANCE = 0.75
LOAD, LOAD_PER_TASK = 10.0, 2.0
URGENT_PROXIMITY = 1.5
RELIABILITY_DAYS, LOAD_DAYS = 365, 30

# The most history can add to a score computed in SQL, plus one distance step
# (SQL measures distance on a flat map, which at a band's edge may differ).
MARGIN = RELIABILITY + LOAD + DISTANCE_STEP * URGENT_PROXIMITY
# The most people whose history is counted for one call.
SHORTLIST = 200
METRES_PER_DEGREE = 111_320.0  # of latitude; of longitude × cos(latitude)
EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class Candidate:
    """A person who could take the request, with the points of each factor and
    the reasons to show the dispatcher."""

    user_id: int
    name: str
    score: float
    factors: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


def rank_candidates(request: ServiceRequest, *, limit: int = 10, now=None) -> list[Candidate]:
    """The ``limit`` best people to offer ``request`` to, best first, with the
    points of each factor and the reasons (see the module docstring). Reads
    only; a fixed number of queries whatever the number of volunteers."""
    now = now or timezone.now()
    limit = max(1, limit)
    need = _Need.of(request)
    free = _takes_tasks().exclude(pk__in=_busy(request))
    near = _neighbourhood(need)
    rows = _shortlist(free.filter(pk__in=near), need, limit, now)
    if need.skills and sum(1 for row in rows if row.get("skill_mask")) < limit:
        skilled = free.filter(pk__in=_skill_holders(need)).exclude(pk__in=near)
        rows += _shortlist(skilled, need, limit, now)
    if len(rows) < limit:
        # Too few near by: anyone in the district.
        rows = _shortlist(free, need, limit, now)
    if not rows:
        return []
    scored = [(row, _factors(row, need)) for row in rows]
    scored.sort(key=lambda rf: (-sum(rf[1].values()), -rf[1]["load"], rf[0]["pk"]))
    return [
        Candidate(
            user_id=row["pk"],
            name=row["display_name"],
            score=round(sum(factors.values()), 1),
            factors=factors,
            reasons=_reasons(row, need),
        )
        for row, factors in scored[:limit]
    ]


def haversine_m(lat1, lng1, lat2, lng2) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lng2) - float(lng1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def distance_points(metres: float) -> float:
    """20 within 250 m, 5 fewer for each further 250 m, 0 beyond 1 km."""
    if metres > DISTANCE_MAX_M:
        return 0.0
    steps = max(0, math.ceil(metres / DISTANCE_STEP_M) - 1)
    return DISTANCE - DISTANCE_STEP * steps


# --- What the request needs ------------------------------------------------------------------


@dataclass(frozen=True)
class _Need:
    request: ServiceRequest
    skills: list[tuple[int, str]]  # (id, name), by name
    # Path prefixes of the request's grid and of the grids above it, by level.
    grid: str | None
    level3: str | None
    level2: str | None
    level1: str | None
    proximity: float

    @classmethod
    def of(cls, request: ServiceRequest) -> _Need:
        """Three small queries: the skills, the grid's path, and the grid with
        the grids above it (their paths are its path's prefixes) and levels."""
        skills = list(request.skills.order_by("name").values_list("pk", "name"))
        path = Page.objects.filter(pk=request.grid_id).values_list("path", flat=True).first()
        prefixes = [path[:end] for end in range(4, len(path) + 1, 4)] if path else []
        paths = dict(GridPage.objects.filter(path__in=prefixes).values_list("path", "level"))
        own = max(paths, key=len) if paths else None
        # The deepest grid of each level above (or at) the request's grid.
        by_level = {level: path for path, level in sorted(paths.items(), key=lambda p: len(p[0]))}

        def above(level):
            path = by_level.get(level)
            return path if path and len(path) < len(own) else None

        urgent = request.urgency == ServiceRequest.Urgency.URGENT
        return cls(
            request=request,
            skills=skills,
            grid=own,
            level3=above(GridPage.Level.THIRD) if own else None,
            level2=above(GridPage.Level.SECOND) if own else None,
            level1=by_level.get(GridPage.Level.FIRST),
            proximity=URGENT_PROXIMITY if urgent else 1.0,
        )

    @property
    def point(self):
        r = self.request
        if r.latitude is None or r.longitude is None:
            return None
        return float(r.latitude), float(r.longitude)

    def tiers(self):
        """(tier, path prefix) from the nearest: 3 same grid, 2 third-level, 1 second-level."""
        return [(t, p) for t, p in ((3, self.grid), (2, self.level3), (1, self.level2)) if p]


# --- Who is looked at (sub-selects of user ids) ------------------------------------------------------------


def _busy(request: ServiceRequest):
    """Ids (a sub-select) of the people with a confirmed sign-up for a shift,
    or a task taken elsewhere, overlapping the request's window, or a live
    offer for it. Reads the overlapping shifts (one query)."""
    start, end = request.window_start, request.window_end
    # The overlapping shifts first, as a list: their sign-ups are then read by
    # the shift index (PostgreSQL would scan every sign-up for a sub-select).
    shifts = list(
        Shift.objects.filter(cancelled=False, starts_at__lt=end, ends_at__gt=start).values_list(
            "pk", flat=True
        )
    )
    on_task = Offer.objects.filter(
        status__in=[Offer.Status.ACCEPTED, Offer.Status.IN_SERVICE],
        request__window_start__lt=end,
        request__window_end__gt=start,
    ).exclude(request_id=request.pk)
    offered = Offer.objects.filter(request_id=request.pk, status__in=Offer.LIVE)
    parts = [on_task, offered]
    if shifts:
        parts.append(SignUp.objects.filter(shift_id__in=shifts, status=SignUp.Status.CONFIRMED))
    ids = [qs.order_by().values_list("user_id", flat=True) for qs in parts]
    return ids[0].union(*ids[1:])


def _neighbourhood(need: _Need):
    """Ids (a sub-select) of the people living in the request's second-level
    grid (or the widest grid tier it has), within 1 km, or members of its
    branch."""
    widest = need.level2 or need.level3 or need.grid
    pages = Page.objects.filter(path__startswith=widest).values("pk") if widest else None
    in_branch = Q(branch_id=need.request.branch_id)
    parts = [
        Member.objects.filter(in_branch | Q(branch_id__in=pages) if widest else in_branch)
        .filter(user__isnull=False)
        .order_by()
    ]
    if widest:
        parts.append(VolunteerProfile.objects.filter(home_grid_id__in=pages).order_by())
    if need.point:
        lat, lng = need.point
        dlat = DISTANCE_MAX_M / METRES_PER_DEGREE
        dlng = dlat / math.cos(math.radians(lat))
        parts.append(
            VolunteerProfile.objects.filter(
                latitude__range=(lat - dlat, lat + dlat), longitude__range=(lng - dlng, lng + dlng)
            ).order_by()
        )
    ids = [qs.values_list("user_id", flat=True) for qs in parts]
    return ids[0].union(*ids[1:])


def _skill_holders(need: _Need):
    """Ids (a sub-select) of the people in the request's first-level grid (or
    anywhere, when it has none) with one of the skills it needs."""
    profiles = VolunteerProfile.objects.filter(skills__in=[pk for pk, _name in need.skills])
    if need.level1:
        pages = Page.objects.filter(path__startswith=need.level1).values("pk")
        profiles = profiles.filter(home_grid_id__in=pages)
    return profiles.order_by().values_list("user_id", flat=True).distinct()


def _takes_tasks():
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(volunteer_profile__isnull=False) | Q(member__isnull=False))
        .exclude(volunteer_profile__accepts_tasks=False)
    )


# --- Scores (one SQL query) -----------------------------------------------------


def _shortlist(people, need: _Need, limit: int, now) -> list[dict]:
    """``people`` scored on skills, grid, distance and branch, keeping those
    who could still reach the top ``limit`` once history is added: a score at
    least the ``limit``-th best minus MARGIN; best first, at most SHORTLIST
    (beyond that, ties go to the older account). Rows are dicts."""
    home = Coalesce("volunteer_profile__home_grid_id", "member__branch_id")
    in_branch = Q(member__branch_id=need.request.branch_id)
    columns = {"same_branch": Case(When(in_branch, then=1), default=0)}
    parts = [Case(When(in_branch, then=Value(BRANCH)), default=Value(0.0))]
    if need.tiers():
        columns["grid_tier"] = Case(
            *(When(In(home, _pages(p)), then=t) for t, p in need.tiers()),
            default=0,
            output_field=IntegerField(),
        )
        parts.append(
            Case(
                *(
                    When(In(home, _pages(p)), then=Value(GRID[t] * need.proximity))
                    for t, p in need.tiers()
                ),
                default=Value(0.0),
            )
        )
    if need.skills:
        holders = VolunteerProfile.skills.through.objects
        has = [
            Q(volunteer_profile__pk__in=holders.filter(skill_id=pk).values("volunteerprofile_id"))
            for pk, _name in need.skills
        ]
        columns["skill_mask"] = reduce(
            add, (Case(When(h, then=1 << i), default=0) for i, h in enumerate(has))
        )
        share = SKILLS / len(has)
        parts += [Case(When(h, then=Value(share)), default=Value(0.0)) for h in has]
    if need.point:
        parts.append(_distance_sql(need))
    static = ExpressionWrapper(reduce(add, parts), output_field=FloatField())
    columns.update(_history_columns(now))
    names = ["pk", "display_name", "static", *columns, "volunteer_profile__latitude",
             "volunteer_profile__longitude"]  # fmt: skip
    found = (
        people.annotate(
            static=static,
            display_name=person_name_sql(),
            **columns,
        )
        .order_by("-static", "pk")
        .values_list(*names)[:SHORTLIST]
    )
    rows = [dict(zip(names, row, strict=True)) for row in found]
    if len(rows) >= limit:
        # Below this, history cannot lift anyone into the top ``limit``.
        floor = rows[limit - 1]["static"] - MARGIN
        rows = [row for row in rows if row["static"] >= floor]
    return rows


def _pages(prefix):
    return Page.objects.filter(path__startswith=prefix).values("pk")


def _distance_sql(need: _Need):
    """Distance points on a flat map (squared degrees of latitude compared
    with each band's radius): arithmetic only, on both databases. Within a
    district it differs from the great-circle distance by under 0.1 %."""
    lat0, lng0 = need.point
    lat = Cast("volunteer_profile__latitude", FloatField())
    lng = Cast("volunteer_profile__longitude", FloatField())
    dy = lat - Value(lat0)
    dx = (lng - Value(lng0)) * Value(math.cos(math.radians(lat0)))
    squared = ExpressionWrapper(dy * dy + dx * dx, output_field=FloatField())
    bands = range(DISTANCE_STEP_M, DISTANCE_MAX_M + 1, DISTANCE_STEP_M)
    return Case(
        *(
            When(
                Q(volunteer_profile__latitude__isnull=False)
                & Q(volunteer_profile__longitude__isnull=False)
                & LessThanOrEqual(squared, Value((metres / METRES_PER_DEGREE) ** 2)),
                then=Value(distance_points(metres) * need.proximity),
            )
            for metres in bands
        ),
        default=Value(0.0),
    )


# --- History (correlated counts, computed for the rows returned only) ---------------------------


def _history_columns(now) -> dict:
    """Per person: ``expected`` (confirmed sign-ups of shifts ended in the last
    12 months), ``attended`` (of those, checked in), ``late`` (late
    cancellations of shifts in those 12 months) and ``tasks`` (taken in the
    last 30 days). Each is a count by the person's index; PostgreSQL works
    them out after the sort and limit, for the shortlist only."""
    since = now - dt.timedelta(days=RELIABILITY_DAYS)
    signups = SignUp.objects.filter(
        user_id=OuterRef("pk"), shift__cancelled=False, shift__ends_at__gt=since
    )
    ended = signups.filter(status=SignUp.Status.CONFIRMED, shift__ends_at__lte=now)
    checked_in = CheckIn.objects.filter(shift_id=OuterRef("shift_id"), user_id=OuterRef("user_id"))
    tasks = Offer.objects.filter(
        user_id=OuterRef("pk"),
        status__in=Offer.TAKEN,
        offered_at__gte=now - dt.timedelta(days=LOAD_DAYS),
    )
    return {
        "expected": _count(ended),
        "attended": _count(ended.filter(Exists(checked_in))),
        "late": _count(signups.filter(status=SignUp.Status.LATE_CANCELLED)),
        "tasks": _count(tasks),
    }


def _count(qs):
    counted = qs.order_by().values("user_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


# --- One candidate, explained -------------------------------------------------------------------


def _factors(row: dict, need: _Need) -> dict[str, float]:
    """Each factor's points (see the module docstring)."""
    mask = row.get("skill_mask") or 0
    have = sum(1 for i in range(len(need.skills)) if mask & (1 << i))
    lat, lng = row["volunteer_profile__latitude"], row["volunteer_profile__longitude"]
    near = need.point and lat is not None and lng is not None
    expected, late = row.get("expected", 0), row.get("late", 0)
    attendance = (
        row.get("attended", 0) / (expected + late) if expected + late else NEUTRAL_ATTENDANCE
    )
    return {
        "skills": round(SKILLS * have / len(need.skills), 1) if need.skills else 0.0,
        "grid": GRID[row.get("grid_tier") or 0] * need.proximity,
        "distance": (
            distance_points(haversine_m(*need.point, lat, lng)) * need.proximity if near else 0.0
        ),
        "branch": BRANCH if row["same_branch"] else 0.0,
        "reliability": round(RELIABILITY * attendance, 1),
        "load": max(0.0, LOAD - LOAD_PER_TASK * row.get("tasks", 0)),
    }


def _reasons(row: dict, need: _Need) -> list[str]:
    """Why, in the order of the factors, in the active language."""
    reasons = []
    if need.skills:
        mask = row.get("skill_mask") or 0
        have = [name for i, (_pk, name) in enumerate(need.skills) if mask & (1 << i)]
        lacking = [name for i, (_pk, name) in enumerate(need.skills) if not mask & (1 << i)]
        if have:
            reasons.append(_("Has the skills needed: %(skills)s") % {"skills": "、".join(have)})
        if lacking:
            reasons.append(_("Lacks: %(skills)s") % {"skills": "、".join(lacking)})
    tier = row.get("grid_tier") or 0
    if tier:
        reasons.append(
            {
                3: _("In the same grid"),
                2: _("In the same third-level grid"),
                1: _("In the same second-level grid"),
            }[tier]
        )
    lat, lng = row["volunteer_profile__latitude"], row["volunteer_profile__longitude"]
    if need.point and lat is not None and lng is not None:
        reasons.append(_distance_label(haversine_m(*need.point, lat, lng)))
    if row["same_branch"]:
        reasons.append(_("Party member of this branch"))
    expected, late = row.get("expected", 0), row.get("late", 0)
    attended = row.get("attended", 0)
    if expected + late:
        percent = round(attended / (expected + late) * 100)
        reasons.append(_("Attendance %(percent)d%%") % {"percent": percent})
        if expected > attended:
            missed = expected - attended
            reasons.append(
                ngettext("Missed %(count)d shift", "Missed %(count)d shifts", missed)
                % {"count": missed}
            )
        if late:
            reasons.append(
                ngettext("Cancelled late %(count)d time", "Cancelled late %(count)d times", late)
                % {"count": late}
            )
    else:
        reasons.append(_("No attendance record yet"))
    tasks = row.get("tasks", 0)
    if tasks:
        reasons.append(
            ngettext(
                "%(count)d task taken in the last 30 days",
                "%(count)d tasks taken in the last 30 days",
                tasks,
            )
            % {"count": tasks}
        )
    else:
        reasons.append(_("No task taken in the last 30 days"))
    return reasons


def _distance_label(metres: float) -> str:
    if metres < 1000:
        return _("About %(metres)d m away") % {"metres": max(10, round(metres, -1))}
    return _("About %(km).1f km away") % {"km": metres / 1000}
