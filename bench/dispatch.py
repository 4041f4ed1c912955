"""Volunteer dispatch at seed scale: ranking candidates for a service request
among 30,000 volunteers (PostgreSQL and SQLite), and concurrent acceptance of
offers on PostgreSQL.

    .venv/bin/python bench/dispatch.py [--calls 250] [--threads 50] [--skip-sqlite]
                                       [--rebuild-volunteers]

PostgreSQL at $BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/tongxin_bench,
built and migrated as bench/checkin.py does); SQLite at $BENCH_DB (default
/tmp/tongxin-seed.sqlite3, skipped when missing). The volunteers and their history
are made once per database (users ``benchvol-NNNNN``) and reused. Writes
bench/results/dispatch.txt.
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, RESULTS, ROOT, db_path, machine  # noqa: E402
from checkin import ensure_pg_db, percentile, pg_url  # noqa: E402

VOLUNTEERS = 30_000
PREFIX = "benchvol-"
SKILLS = ("急救培训", "电工", "水暖维修", "心理疏导", "法律咨询", "助老护理", "驾驶", "电脑操作")
WITH_COORDINATES = 0.6
HISTORY_SHIFTS = 240  # ended shifts in the last 12 months
UPCOMING_SHIFTS = 60  # in the next week, overlapping the requests' windows
UPCOMING_SIGNUPS = 3_000
RECENT_TASKS = 3_000  # tasks taken in the last 30 days
REQUESTS = 50
TITLE = "Bench dispatch"
# Centre of the synthetic map the grids are laid out on (coordinates are not in the seed).
CENTRE = (39.9042, 116.4074)
ACCEPT_REQUESTS, ACCEPT_PLACES, OFFERS_PER_REQUEST = 10, 5, 10


def log(*args):
    print(*args)


def setup(url: str) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "portal.settings.dev", "DATABASE_URL": url})
    os.environ.setdefault("DB_CONN_MAX_AGE", "600")
    # Offers notify by email: keep the messages in memory, not on the console.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    # Time the code, not DEBUG's query log (queries are counted separately).
    settings.DEBUG = False


# --- Data made once per database ------------------------------------------------------------


def grid_layout(rng):
    """A point for every grid: first-level grids on a 4 × 2 map of 6 × 5 km
    cells, each lower grid near its parent. Returns {page id: (lat, lng)}, the
    grids as (id, path, level) and the branch of each third-level grid path."""
    from branches.models import GridBranchPage, GridPage

    grids = list(GridPage.objects.order_by("path").values_list("pk", "path", "level"))
    by_path, points = {}, {}
    spread_m = {"1": 0, "2": 1500, "3": 800, "micro": 300, "dedicated": 500}
    first = 0
    for pk, path, level in grids:
        parent = by_path.get(path[:-4])
        if parent is None:
            row, col = divmod(first, 4)
            first += 1
            base = (
                CENTRE[0] + (row - 0.5) * 5000 / 111_320,
                CENTRE[1] + (col - 1.5) * 6000 / 85_000,
            )
        else:
            base = parent
        metres = spread_m.get(level, 500)
        point = (
            base[0] + rng.uniform(-metres, metres) / 111_320,
            base[1] + rng.uniform(-metres, metres) / 85_000,
        )
        by_path[path] = point
        points[pk] = point
    branch_of = {path[:-4]: pk for pk, path in GridBranchPage.objects.values_list("pk", "path")}
    return points, grids, branch_of


def branch_for(path, branch_of, fallback):
    """The branch of the nearest third-level grid above (or at) ``path``."""
    for end in range(len(path), 0, -4):
        if path[:end] in branch_of:
            return branch_of[path[:end]]
    return fallback


def ensure_volunteers(*, now, rebuild=False) -> str:
    """30,000 volunteers with profiles, skills, home grids, coordinates for 60 %,
    a year of sign-ups and check-ins, and tasks taken in the last 30 days; made
    once (``benchvol-`` users), reused afterwards."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from volunteers.models import (
        CheckIn,
        Duty,
        Offer,
        ServiceRequest,
        Shift,
        SignUp,
        Skill,
        VolunteerProfile,
    )

    User = get_user_model()
    ours = User.objects.filter(username__startswith=PREFIX)
    have = VolunteerProfile.objects.filter(user__username__startswith=PREFIX).count()
    if have == VOLUNTEERS and not rebuild:
        return f"reused {have:,} volunteers"
    start = time.perf_counter()
    rng = random.Random(20261126)
    with transaction.atomic():
        Offer.objects.filter(user__in=ours).delete()
        ServiceRequest.objects.filter(title__startswith=TITLE).delete()
        Duty.objects.filter(title__startswith=TITLE).delete()
        ours.delete()
        skills = [Skill.objects.get_or_create(name=name)[0] for name in SKILLS]
        points, grids, branch_of = grid_layout(rng)
        homes = [(pk, path) for pk, path, level in grids if level in ("3", "micro", "dedicated")]
        first_branch = min(branch_of.values())
        password = make_password(None)
        users = User.objects.bulk_create(
            (
                User(username=f"{PREFIX}{i:05d}", first_name=f"志愿者{i:05d}", password=password)
                for i in range(VOLUNTEERS)
            ),
            batch_size=2000,
        )
        profiles = []
        for user in users:
            home = rng.choice(homes) if rng.random() < 0.95 else None
            lat = lng = None
            if rng.random() < WITH_COORDINATES:
                base = points[home[0]] if home else CENTRE
                lat = round(base[0] + rng.uniform(-400, 400) / 111_320, 6)
                lng = round(base[1] + rng.uniform(-400, 400) / 85_000, 6)
            profiles.append(
                VolunteerProfile(
                    user=user,
                    home_grid_id=home[0] if home else None,
                    latitude=lat,
                    longitude=lng,
                    accepts_tasks=rng.random() > 0.03,
                )
            )
        profiles = VolunteerProfile.objects.bulk_create(profiles, batch_size=2000)
        through = VolunteerProfile.skills.through
        links = []
        for profile in profiles:
            count = rng.choices((0, 1, 2, 3), weights=(30, 40, 20, 10))[0]
            for skill in rng.sample(skills, count):
                links.append(through(volunteerprofile_id=profile.pk, skill_id=skill.pk))
        through.objects.bulk_create(links, batch_size=5000)
        log(f"  {len(users):,} volunteers, {len(links):,} skills")

        # A year of ended shifts, and who signed up, came or cancelled late.
        branch_ids = sorted(set(branch_of.values()))
        duties = Duty.objects.bulk_create(
            Duty(
                branch_id=rng.choice(branch_ids),
                kind=Duty.Kind.ACTIVITY,
                title=f"{TITLE} · 社区志愿服务 {k}",
                place="社区服务站",
                eligibility=Duty.Eligibility.VOLUNTEERS,
            )
            for k in range(40)
        )
        past = Shift.objects.bulk_create(
            _shift(duties[k % len(duties)], now - dt.timedelta(days=rng.uniform(1, 360)), 2)
            for k in range(HISTORY_SHIFTS)
        )
        signups, attended = [], []
        for user in users:
            if rng.random() < 0.5:
                continue
            reliability = rng.uniform(0.4, 1.0)
            for shift in rng.sample(past, rng.randint(1, 10)):
                roll = rng.random()
                status = (
                    SignUp.Status.CONFIRMED
                    if roll < 0.9
                    else (SignUp.Status.LATE_CANCELLED if roll < 0.95 else SignUp.Status.CANCELLED)
                )
                signups.append(SignUp(shift=shift, user=user, status=status))
                if status == SignUp.Status.CONFIRMED and rng.random() < reliability:
                    attended.append((shift, user))
        SignUp.objects.bulk_create(signups, batch_size=5000)
        CheckIn.objects.bulk_create(
            (
                CheckIn(
                    shift=shift,
                    user=user,
                    checked_in_at=shift.starts_at,
                    checked_out_at=shift.ends_at,
                    in_method=CheckIn.Method.CODE,
                    out_method=CheckIn.Method.CODE,
                )
                for shift, user in attended
            ),
            batch_size=5000,
        )
        log(f"  {len(signups):,} past sign-ups, {len(attended):,} check-ins")

        # Tasks taken in the last 30 days, on requests that are over.
        done = []
        for k in range(RECENT_TASKS // 3):
            grid_id, path = rng.choice(homes)
            start_at = now - dt.timedelta(days=k % 29 + 1)
            done.append(
                ServiceRequest(
                    title=f"{TITLE} · 已办结 {k}",
                    category=ServiceRequest.Category.ELDERLY,
                    grid_id=grid_id,
                    branch_id=branch_for(path, branch_of, first_branch),
                    window_start=start_at,
                    window_end=start_at + dt.timedelta(hours=2),
                    status=ServiceRequest.Status.COMPLETED,
                )
            )
        done = ServiceRequest.objects.bulk_create(done)
        pairs = set()
        while len(pairs) < RECENT_TASKS:
            pairs.add((rng.choice(done).pk, rng.choice(users).pk))
        Offer.objects.bulk_create(
            (
                Offer(
                    request_id=request_id,
                    user_id=user_id,
                    status=Offer.Status.COMPLETED,
                    expires_at=now,
                    answered_at=now,
                )
                for request_id, user_id in pairs
            ),
            batch_size=5000,
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics for the planner
            for table in ("auth_user", "volunteers_volunteerprofile", "volunteers_signup",
                          "volunteers_checkin", "volunteers_shift", "volunteers_offer",
                          "volunteers_servicerequest", "volunteers_volunteerprofile_skills"):  # fmt: skip
                cursor.execute(f"ANALYZE {table}")
    return (
        f"made {VOLUNTEERS:,} volunteers in {time.perf_counter() - start:.0f} s "
        f"({len(links):,} skills, {len(signups):,} past sign-ups, {len(attended):,} check-ins, "
        f"{RECENT_TASKS:,} recent tasks)"
    )


def ensure_upcoming(*, now) -> None:
    """Shifts in the coming week with UPCOMING_SIGNUPS volunteers confirmed on
    them (busy then, so not ranked for requests at the same time); topped up
    when an earlier run's have passed."""
    from django.contrib.auth import get_user_model

    from volunteers.models import Duty, Shift, SignUp

    shifts = Shift.objects.filter(duty__title__startswith=TITLE, starts_at__gt=now)
    if shifts.count() >= UPCOMING_SHIFTS // 2:
        return
    rng = random.Random(now.toordinal())
    duties = list(Duty.objects.filter(title__startswith=TITLE))
    upcoming = Shift.objects.bulk_create(
        _shift(duties[k % len(duties)], _slot(now, rng), 3) for k in range(UPCOMING_SHIFTS)
    )
    users = list(
        get_user_model().objects.filter(username__startswith=PREFIX).values_list("pk", flat=True)
    )
    SignUp.objects.bulk_create(
        (
            SignUp(shift=rng.choice(upcoming), user_id=pk, status=SignUp.Status.CONFIRMED)
            for pk in rng.sample(users, UPCOMING_SIGNUPS)
        ),
        batch_size=5000,
    )


def _shift(duty, starts_at, hours):
    from volunteers.models import Shift

    return Shift(
        duty=duty, starts_at=starts_at, ends_at=starts_at + dt.timedelta(hours=hours), capacity=400
    )


def _slot(now, rng):
    """A start in the coming week, on the hour between 8:00 and 18:00 (UTC+8)."""
    day = (now + dt.timedelta(days=rng.randint(1, 7))).replace(minute=0, second=0, microsecond=0)
    return day.replace(hour=0) + dt.timedelta(hours=rng.randint(0, 10))


def ensure_requests(*, now) -> list:
    """REQUESTS open service requests in the coming week, varied in grid,
    skills, urgency and coordinates; made once and reused."""
    from volunteers.models import ServiceRequest, Skill

    title = f"{TITLE} · 待派单"
    existing = list(ServiceRequest.objects.filter(title__startswith=title).order_by("pk"))
    if len(existing) == REQUESTS and existing[0].window_start > now:
        return existing
    ServiceRequest.objects.filter(title__startswith=title).delete()
    rng = random.Random(50)
    points, grids, branch_of = grid_layout(random.Random(20261126))
    places = [(pk, path) for pk, path, level in grids if level in ("3", "micro", "dedicated")]
    first_branch = min(branch_of.values())
    skills = list(Skill.objects.filter(name__in=SKILLS))
    made = []
    for k in range(REQUESTS):
        grid = rng.choice(places)
        lat, lng = points[grid[0]] if rng.random() < 0.7 else (None, None)
        start = _slot(now, rng)
        request = ServiceRequest.objects.create(
            title=f"{title} {k:02d}",
            category=rng.choice(ServiceRequest.Category.values),
            grid_id=grid[0],
            branch_id=branch_for(grid[1], branch_of, first_branch),
            latitude=None if lat is None else round(lat, 6),
            longitude=None if lng is None else round(lng, 6),
            window_start=start,
            window_end=start + dt.timedelta(hours=2),
            urgency=("urgent" if rng.random() < 0.25 else "normal"),
            people_needed=rng.randint(1, 5),
        )
        request.skills.set(rng.sample(skills, rng.choices((0, 1, 2, 3), weights=(3, 4, 2, 1))[0]))
        made.append(request)
    return made


# --- Ranking --------------------------------------------------------------------------------


def ranking_benchmark(*, calls, now) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from volunteers.dispatch.matching import rank_candidates
    from volunteers.models import ServiceRequest

    requests = ensure_requests(now=now)
    kinds = {}
    for request in requests:
        skills = request.skills.count()
        kinds[request.pk] = {
            "skills": skills,
            "urgent": request.urgency == ServiceRequest.Urgency.URGENT,
            "point": request.latitude is not None,
        }
    # Warm-up, query count and what one call returns.
    queries, returned = [], []
    for request in requests:
        with CaptureQueriesContext(connection) as ctx:
            found = rank_candidates(request, limit=10, now=now)
        queries.append(len(ctx.captured_queries))
        returned.append(len(found))
    # The example: the first request that needs a skill and has coordinates.
    shown = next(
        (r for r in requests if kinds[r.pk]["skills"] and kinds[r.pk]["point"]), requests[0]
    )
    sample = rank_candidates(shown, limit=3, now=now)

    def baseline(request):
        return ServiceRequest.objects.filter(pk=request.pk).values_list("pk", flat=True).first()

    order = [requests[k % len(requests)] for k in range(calls)]
    random.Random(7).shuffle(order)
    times, base, by_request = [], [], {}
    for request in order:
        start = time.perf_counter()
        baseline(request)
        base.append(time.perf_counter() - start)
        start = time.perf_counter()
        rank_candidates(request, limit=10, now=now)
        seconds = time.perf_counter() - start
        times.append(seconds)
        by_request.setdefault(request.pk, []).append(seconds)

    def summary(values):
        return {
            "n": len(values),
            "median_ms": statistics.median(values) * 1000,
            "p95_ms": percentile(values, 95) * 1000,
            "max_ms": max(values) * 1000,
        }

    classes = {
        "no skill needed": lambda k: k["skills"] == 0,
        "1 skill": lambda k: k["skills"] == 1,
        "2-3 skills": lambda k: k["skills"] >= 2,
        "urgent": lambda k: k["urgent"],
        "with coordinates": lambda k: k["point"],
        "without coordinates": lambda k: not k["point"],
    }
    return {
        "all": summary(times),
        "baseline": summary(base),
        "classes": {
            name: summary([t for pk, ts in by_request.items() if test(kinds[pk]) for t in ts])
            for name, test in classes.items()
        },
        "requests": len(requests),
        "queries": sorted(set(queries)),
        "returned": [min(returned), statistics.median(returned), max(returned)],
        "sample": [{"name": c.name, "score": c.score, "reasons": c.reasons} for c in sample],
        "sample_request": _describe(shown),
    }


def _describe(request) -> str:
    skills = "、".join(request.skills.values_list("name", flat=True)) or "无"
    return (
        f"{request.grid.title}（{request.grid.specific.get_level_display()}），所需技能：{skills}，"
        f"{request.get_urgency_display()}，"
        + ("有坐标" if request.latitude is not None else "无坐标")
    )


def database_part(args) -> None:
    """Run in a subprocess per database: build, time, write JSON to args.out."""
    setup(args.db)
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django.utils.translation import activate

    from volunteers.models import VolunteerProfile

    activate("zh-hans")
    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0)
    now = timezone.now()
    made = ensure_volunteers(now=now, rebuild=args.rebuild_volunteers)
    ensure_upcoming(now=now)
    log(f"{connection.vendor}: {made}")
    result = {
        "vendor": connection.vendor,
        "volunteers": made,
        "profiles": VolunteerProfile.objects.count(),
        "ranking": ranking_benchmark(calls=args.calls, now=now),
    }
    if args.accepts:
        result["accepts"] = accept_benchmark(threads=args.threads, now=now)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, default=str))


# --- Concurrent accepts (PostgreSQL) -----------------------------------------------------


def dispatch_ready() -> bool:
    package = ROOT / "volunteers" / "dispatch"
    texts = [package / "services.py", package / "task_services.py"]
    if not all(text.exists() for text in texts):
        return False
    source = "".join(text.read_text() for text in texts)
    return "def offers_send(" in source and "def offer_accept(" in source


def accept_benchmark(*, threads, now) -> dict:
    """ACCEPT_REQUESTS new requests needing ACCEPT_PLACES people each, offered
    to their OFFERS_PER_REQUEST best candidates; every offer accepted at once
    on ``threads`` threads. Exactly ACCEPT_PLACES must be accepted per request."""
    import queue

    from django.contrib.auth import get_user_model
    from django.db import connection, connections
    from django.db.models import Count, Q

    from volunteers.dispatch import services, task_services
    from volunteers.dispatch.matching import rank_candidates
    from volunteers.models import Offer, ServiceRequest

    requests = ensure_requests(now=now)
    run = time.strftime("%Y%m%d%H%M%S")
    made = []
    for k in range(ACCEPT_REQUESTS):
        template = requests[k]
        request = ServiceRequest.objects.create(
            title=f"{TITLE} · 接单 {run} {k}",
            category=template.category,
            grid_id=template.grid_id,
            branch_id=template.branch_id,
            # A year ahead, clear of the other requests (earlier runs' tasks at
            # the same time make their people busy: the ranking leaves them out).
            window_start=now + dt.timedelta(days=400, hours=3 * k),
            window_end=now + dt.timedelta(days=400, hours=3 * k + 2),
            people_needed=ACCEPT_PLACES,
        )
        made.append(request)
    offers, taken = [], set()
    for request in made:
        candidates = [
            c
            for c in rank_candidates(request, limit=OFFERS_PER_REQUEST * 3, now=now)
            if c.user_id not in taken
        ][:OFFERS_PER_REQUEST]
        taken.update(c.user_id for c in candidates)
        users = get_user_model().objects.in_bulk([c.user_id for c in candidates])
        services.offers_send(request=request, users=[users[c.user_id] for c in candidates])
        offers.extend(
            Offer.objects.filter(request=request, status=Offer.Status.OFFERED).select_related(
                "user"
            )
        )
    work = queue.SimpleQueue()
    for offer in random.Random(3).sample(offers, len(offers)):
        work.put(offer)
    times, outcomes, errors, refusals = [], [], [], Counter()
    ready = threading.Barrier(threads + 1)
    lock = threading.Lock()

    def worker():
        try:
            connection.ensure_connection()
            ready.wait()
            while True:
                try:
                    offer = work.get_nowait()
                except queue.Empty:
                    return
                start = time.perf_counter()
                try:
                    task_services.offer_accept(offer=offer, user=offer.user)
                    ok = True
                except Exception as error:  # noqa: BLE001 - a full request refuses
                    ok = False
                    name = type(error).__name__
                    with lock:
                        if name == "ValidationError":
                            refusals[" ".join(error.messages)] += 1
                        else:
                            errors.append(f"{name}: {error}")
                with lock:
                    times.append(time.perf_counter() - start)
                    outcomes.append(ok)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    for thread in workers:
        thread.join()
    wall = time.perf_counter() - start
    counts = (
        ServiceRequest.objects.filter(pk__in=[r.pk for r in made])
        .annotate(accepted=Count("offers", filter=Q(offers__status__in=Offer.TAKEN)))
        .values_list("accepted", flat=True)
    )
    exact = sum(1 for c in counts if c == ACCEPT_PLACES)
    return {
        "offers": len(offers),
        "accepted": sum(outcomes),
        "refused": len(outcomes) - sum(outcomes),
        "wall_s": wall,
        "attempts_per_s": len(times) / wall,
        "accepts_per_s": sum(outcomes) / wall,
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": percentile(times, 95) * 1000,
        "exact": exact,
        "counts": list(counts),
        "errors": errors[:3],
        "refusals": dict(refusals),
        "error_count": len(errors),
        "run": run,
    }


# --- Report ------------------------------------------------------------------------------


def run_part(url, args, *, accepts) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    command = [
        PYTHON,
        __file__,
        "--part",
        "--db",
        url,
        "--out",
        out,
        "--calls",
        str(args.calls),
        "--threads",
        str(args.threads),
    ]
    if accepts:
        command.append("--accepts")
    if args.rebuild_volunteers:
        command.append("--rebuild-volunteers")
    env = dict(os.environ, DB_CONN_MAX_AGE="600")
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    result = json.loads(Path(out).read_text())
    Path(out).unlink()
    return result


def ranking_lines(result) -> list[str]:
    ranking = result["ranking"]
    base = ranking["baseline"]["median_ms"]
    lines = [
        f"{'calls':<34} {'n':>5} {'median ms':>9} {'p95 ms':>8} {'max ms':>8} "
        f"{'median/base':>11} {'p95/base':>9}"
    ]
    rows = [("baseline: one-row query", ranking["baseline"])]
    rows.append(("rank_candidates(limit=10), all", ranking["all"]))
    rows += [(f"  {name}", s) for name, s in ranking["classes"].items()]
    for label, s in rows:
        ratio = (
            ""
            if label.startswith("baseline")
            else f"{s['median_ms'] / base:>10.1f}x {s['p95_ms'] / base:>8.1f}x"
        )
        lines.append(
            f"{label:<34} {s['n']:>5} {s['median_ms']:>9.1f} {s['p95_ms']:>8.1f} "
            f"{s['max_ms']:>8.1f} {ratio}"
        )
    p95 = ranking["all"]["p95_ms"]
    lines.append(
        f"queries per call: {', '.join(map(str, ranking['queries']))} (every request); "
        f"candidates returned min/median/max: {'/'.join(str(int(x)) for x in ranking['returned'])}; "
        f"target p95 < 100 ms: {'met' if p95 < 100 else 'MISSED'}"
    )
    lines.append(f"example, {ranking['sample_request']}:")
    for c in ranking["sample"]:
        lines.append(f"  {c['name']} {c['score']:.1f} — {'；'.join(c['reasons'])}")
    return lines


def accept_lines(accepts) -> list[str]:
    if accepts is None:
        return ["skipped: volunteers/dispatch/ has no offers_send/offer_accept yet"]
    ok = accepts["exact"] == ACCEPT_REQUESTS and not accepts["error_count"]
    return [
        f"{'offers':>6} {'accepted':>8} {'refused':>7} {'wall s':>7} {'attempts/s':>10} "
        f"{'accepts/s':>9} {'median ms':>9} {'p95 ms':>8}",
        f"{accepts['offers']:>6} {accepts['accepted']:>8} {accepts['refused']:>7} "
        f"{accepts['wall_s']:>7.2f} {accepts['attempts_per_s']:>10.1f} "
        f"{accepts['accepts_per_s']:>9.1f} {accepts['median_ms']:>9.1f} {accepts['p95_ms']:>8.1f}",
        "refused with: "
        + "; ".join(f"{n} × “{message}”" for message, n in accepts["refusals"].items()),
        f"accepted per request: {accepts['counts']} — {accepts['exact']}/{ACCEPT_REQUESTS} "
        f"requests with exactly {ACCEPT_PLACES} — {'OK' if ok else 'FAILED'}; "
        f"unexpected errors: {accepts['error_count']}"
        + (f" (first: {accepts['errors'][0]})" if accepts["errors"] else ""),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=250, help="timed rank_candidates calls")
    parser.add_argument("--threads", type=int, default=50, help="threads accepting offers")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--rebuild-volunteers", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the PostgreSQL seed")
    parser.add_argument("--wait-dispatch", type=int, default=0, help="minutes to wait for it")
    # Internal: one database in a subprocess.
    parser.add_argument("--part", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--accepts", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        database_part(args)
        return

    url = pg_url()
    db_line = ensure_pg_db(url, args.rebuild)
    log(f"PostgreSQL: {db_line}")
    deadline = time.time() + args.wait_dispatch * 60
    while not dispatch_ready() and time.time() < deadline:
        time.sleep(30)
    accepts = dispatch_ready()
    pg = run_part(url, args, accepts=accepts)
    sqlite_path = db_path()
    sqlite = None
    if not args.skip_sqlite and Path(sqlite_path).exists():
        sqlite = run_part(f"sqlite:///{sqlite_path}", args, accepts=False)

    text = [
        "# Volunteer dispatch at seed scale: candidate ranking and concurrent accepts",
        f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()}",
        f"rank_candidates(request, limit=10) for {pg['ranking']['requests']} open requests "
        "(grid: third-level, micro or dedicated; 0-3 skills; 25 % urgent; 70 % with",
        f"  coordinates), {args.calls} timed calls in shuffled order after one warm-up call each; "
        "in process, DEBUG off.",
        "  Baseline: a one-row query by primary key before each call. Ratios: to the baseline's "
        "median.",
        f"Volunteers: {VOLUNTEERS:,} users with a profile (0-3 of {len(SKILLS)} skills, home grid "
        f"for 95 %, coordinates for {WITH_COORDINATES:.0%}, 3 % take no tasks),",
        "  half with 1-10 sign-ups for ended shifts in the last year (check-in rate 40-100 %), "
        f"{UPCOMING_SIGNUPS:,} busy in the coming week,",
        f"  {RECENT_TASKS:,} tasks taken in the last 30 days; plus the seed's 20,030 members "
        "(few with accounts).",
        "",
        f"## PostgreSQL ({url}) — {db_line}; {pg['volunteers']}",
        *ranking_lines(pg),
        "",
    ]
    if sqlite:
        text += [
            f"## SQLite ({sqlite_path}) — {sqlite['volunteers']}",
            *ranking_lines(sqlite),
            "",
        ]
    else:
        text += ["## SQLite: skipped", ""]
    text += [
        f"## Concurrent accepts on PostgreSQL: {ACCEPT_REQUESTS} requests × {ACCEPT_PLACES} "
        f"places, each offered to its {OFFERS_PER_REQUEST} best candidates",
        f"  (offers_send), then every offer accepted at once (offer_accept) on {args.threads} "
        "threads, each with its own connection; time per offer_accept call.",
        *accept_lines(pg.get("accepts")),
    ]
    out = RESULTS / "dispatch.txt"
    body = "\n".join(line.rstrip() for line in text) + "\n"
    out.write_text(body)
    print()
    print(body)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
