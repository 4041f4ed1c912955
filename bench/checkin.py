"""Volunteer sign-up, check-in and check-out under concurrent load, and service
certificates per second, on PostgreSQL at seed scale.

    .venv/bin/python bench/checkin.py [--rebuild] [--build-only] [--people 500]

Uses the PostgreSQL database at $BENCH_PG_URL (default
postgres://postgres@127.0.0.1:5432/tongxin_bench), creating it and loading the
seed-scale demo into it when it is missing or not loaded (``--rebuild`` forces
that), and migrating it. Every run adds its own duties, shifts and ``bench-<run>-…``
users, so runs do not disturb one another. Writes bench/results/checkin.txt.
"""

import argparse
import datetime as dt
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, RESULTS, ROOT, machine, percentile  # noqa: E402

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/tongxin_bench"
# A database holding fewer members has not been loaded at seed scale.
SEED_MEMBERS = 10_000
THREADS = (1, 8, 16)
SHIFTS = 20
PLACES = 20
CERTIFICATE_RUNS = 20
CERTIFICATE_SERVICES = (30, 300)


def pg_url() -> str:
    return os.environ.get("BENCH_PG_URL", DEFAULT_PG)


def pg_env(url: str) -> dict:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings.dev"
    env["DATABASE_URL"] = url
    return env


# --- The seed-scale PostgreSQL database ------------------------------------------------------


def _split(url: str) -> tuple[str, str]:
    """The URL of the server's maintenance database, and the database name."""
    base, _, name = url.rpartition("/")
    return f"{base}/postgres", name.split("?")[0]


def _member_count(url: str) -> int | None:
    """Members in the database; None when the database does not exist."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            if conn.execute("SELECT to_regclass('branches_member')").fetchone()[0] is None:
                return 0
            return conn.execute("SELECT count(*) FROM branches_member").fetchone()[0]
    except psycopg.OperationalError as error:
        if "does not exist" in str(error):
            return None
        raise


def _recreate(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin, name = _split(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(url: str, *args) -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=pg_env(url), check=True)
    return time.perf_counter() - start


def ensure_pg_db(url: str, rebuild: bool) -> str:
    """Build the seed database when asked or needed, and migrate it (a database
    built before the latest migrations lacks their tables). Returns a line for
    the report."""
    members = None if rebuild else _member_count(url)
    if members is not None and members > SEED_MEMBERS:
        migrate_s = manage(url, "migrate", "-v0")
        return f"reused ({members:,} members; migrate {migrate_s:.1f} s)"
    why = "--rebuild" if rebuild else ("missing" if members is None else f"{members} members")
    print(f"{url}: {why}; building the seed-scale database (several minutes)…", flush=True)
    _recreate(url)
    print("  migrate…", flush=True)
    migrate_s = manage(url, "migrate", "-v0")
    print(f"  migrated in {migrate_s:.1f} s; load_demo --scale seed…", flush=True)
    # The command prints its phases as it goes: let them through as progress.
    load_s = manage(url, "load_demo", "--scale", "seed", "--seed", "1")
    print(f"  loaded in {load_s:.1f} s", flush=True)
    return f"built this run (migrate {migrate_s:.1f} s, load_demo --scale seed {load_s:.1f} s)"


def setup_django(url: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
            "DATABASE_URL": url,
            # Each worker thread keeps its connection for the whole phase, as a
            # server with persistent connections does (the test client would
            # otherwise close it whenever another thread's request races its
            # signal handling).
            "DB_CONN_MAX_AGE": "600",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Concurrent requests ---------------------------------------------------------------------


@dataclass
class Phase:
    label: str
    threads: int
    times: list = field(default_factory=list)  # seconds per request
    queries: list = field(default_factory=list)  # SQL statements per request
    errors: list = field(default_factory=list)
    wall: float = 0.0

    @property
    def median_ms(self):
        return statistics.median(self.times) * 1000

    @property
    def p95_ms(self):
        return percentile(self.times, 95) * 1000

    @property
    def per_second(self):
        return len(self.times) / self.wall


def run_phase(label: str, threads: int, tasks) -> Phase:
    """Run ``tasks`` (callables doing one request, returning its seconds) on
    ``threads`` threads, each with its own database connection, opened before
    the clock starts and closed when the thread ends."""
    from django.db import connection, connections

    phase = Phase(label, threads)
    work = queue.SimpleQueue()
    for task in tasks:
        work.put(task)
    ready = threading.Barrier(threads + 1)

    def worker():
        try:
            connection.ensure_connection()
            ready.wait()
            while True:
                try:
                    task = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    seconds = task()
                except Exception as error:  # noqa: BLE001 - counted and reported
                    phase.errors.append(f"{type(error).__name__}: {error}")
                    continue
                phase.times.append(seconds)
                # DEBUG is on in the dev settings and the client's request_started
                # resets the log, so it holds this request's statements.
                phase.queries.append(len(connection.queries_log))
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    for thread in workers:
        thread.join()
    phase.wall = time.perf_counter() - start
    print(
        f"  {label:<34} {threads:>2} threads  n={len(phase.times):>4}  "
        f"median {phase.median_ms:6.1f} ms  p95 {phase.p95_ms:6.1f} ms  "
        f"{phase.per_second:6.1f}/s  errors {len(phase.errors)}",
        flush=True,
    )
    return phase


def timed(method, path, data=None, expect=302):
    start = time.perf_counter()
    response = method(path, data or {})
    seconds = time.perf_counter() - start
    if response.status_code != expect:
        raise RuntimeError(f"{path}: HTTP {response.status_code}")
    return seconds


def get_task(client, path):
    return lambda: timed(client.get, path, expect=200)


def sign_up_task(client, shift_id):
    return lambda: timed(client.post, f"/volunteer/shifts/{shift_id}/sign-up/")


def check_task(client, shift_id, action):
    from portal import codes

    def task():
        # The code the organiser's phone shows now (it changes every 30 s).
        code = codes.current(shift_id, action).digits
        return timed(client.post, f"/volunteer/shifts/{shift_id}/check/", {"code": code})

    return task


# --- Set-up of one run ---------------------------------------------------------------------


@dataclass
class Round:
    threads: int
    duty: object
    shifts: list
    users: list
    clients: dict  # user id -> logged-in Client


def make_round(*, run, threads, branch, people, now) -> Round:
    """A duty with SHIFTS shifts of PLACES places that started 10 minutes ago
    (check-in is open) and still take sign-ups for an hour, and ``people`` new
    users, each logged in once with their own client."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.test import Client

    from volunteers.models import Duty, Shift

    duty = Duty.objects.create(
        branch=branch,
        kind=Duty.Kind.ACTIVITY,
        title=f"Bench {run} · {threads} threads",
        place="社区服务站",
        eligibility=Duty.Eligibility.VOLUNTEERS,
    )
    starts = now - dt.timedelta(minutes=10)
    shifts = Shift.objects.bulk_create(
        Shift(
            duty=duty,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2),
            capacity=PLACES,
            signup_deadline=now + dt.timedelta(hours=1),
        )
        for _ in range(SHIFTS)
    )
    password = make_password(None)
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"bench-{run}-t{threads}-{i:03d}", password=password)
        for i in range(people)
    )
    clients = {}
    for user in users:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        clients[user.pk] = client
    return Round(threads, duty, shifts, users, clients)


def link_members(branch, rounds) -> int:
    """Link the branch's members without an account to the bench users, spread
    over the rounds (members linked by earlier runs are freed first, so every
    run has the same mix of member and plain accounts)."""
    from branches.models import Member

    Member.objects.filter(branch=branch, user__username__startswith="bench-").update(user=None)
    free = list(
        Member.objects.filter(branch=branch, user__isnull=True)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    for k, member_id in enumerate(free):
        users = rounds[k % len(rounds)].users
        if k // len(rounds) < len(users):
            Member.objects.filter(pk=member_id).update(user=users[k // len(rounds)])
    return len(free)


# --- The sign-up and check-in benchmark ---------------------------------------------------------


def signup_checks(rnd: Round, people: int) -> str:
    from django.db.models import Count, Q

    from volunteers.models import SignUp

    counts = (
        SignUp.objects.filter(shift__in=rnd.shifts)
        .values("shift")
        .annotate(
            confirmed=Count("id", filter=Q(status=SignUp.Status.CONFIRMED)),
            waitlisted=Count("id", filter=Q(status=SignUp.Status.WAITLISTED)),
        )
    )
    per_shift = people // SHIFTS
    exact = sum(1 for c in counts if c["confirmed"] == PLACES)
    waiting = sum(c["waitlisted"] for c in counts)
    expected_waiting = sum(max(0, per_shift - PLACES) for _ in rnd.shifts)
    ok = exact == SHIFTS and waiting == expected_waiting
    return (
        f"sign-up, {rnd.threads:>2} threads: {exact}/{SHIFTS} shifts have exactly {PLACES} "
        f"confirmed; {waiting} on waitlists (expected {expected_waiting}) — "
        f"{'OK' if ok else 'WRONG'}"
    )


def checkin_checks(rnd: Round, confirmed) -> str:
    from django.db.models import Count

    from volunteers.models import CheckIn, CreditEvent, ServiceLedger

    check_ins = CheckIn.objects.filter(shift__in=rnd.shifts)
    people = {user_id for user_id, _ in confirmed}
    per_person = check_ins.values("user").annotate(n=Count("id"))
    one_each = sum(1 for row in per_person if row["n"] == 1 and row["user"] in people)
    out = check_ins.filter(checked_out_at__isnull=False).count()
    events = CreditEvent.objects.filter(check_in__shift__in=rnd.shifts)
    per_event = events.values("user").annotate(n=Count("id"))
    credited = sum(1 for row in per_event if row["n"] == 1 and row["user"] in people)
    ledgers = ServiceLedger.objects.filter(user_id__in=people, shifts=1).count()
    ok = (
        one_each == len(people) == check_ins.count() == out
        and credited == len(people) == events.count() == ledgers
    )
    return (
        f"check-in, {rnd.threads:>2} threads: {len(people)} confirmed people; {one_each} with "
        f"exactly one CheckIn, {out} checked out, {credited} with exactly one credit event "
        f"({events.count()} events), {ledgers} ledgers at 1 shift — {'OK' if ok else 'WRONG'}"
    )


def http_benchmark(*, run, branch, people, now):
    from volunteers.models import SignUp

    print(f"set-up: {len(THREADS)} rounds × {SHIFTS} shifts × {PLACES} places, "
          f"{people} users each (logging them in)…", flush=True)  # fmt: skip
    start = time.perf_counter()
    rounds = [
        make_round(run=run, threads=t, branch=branch, people=people, now=now) for t in THREADS
    ]
    linked = link_members(branch, rounds)
    setup_s = time.perf_counter() - start
    print(f"  done in {setup_s:.1f} s ({linked} users linked to members)", flush=True)

    phases, checks = [], []
    per_shift = people // SHIFTS
    for rnd in rounds:
        print(f"round of {rnd.threads} thread(s):", flush=True)
        # Baseline: a trivial signed-in page through the same clients and threads.
        baseline = run_phase(
            "baseline: GET /me/inbox/",
            rnd.threads,
            [get_task(rnd.clients[u.pk], "/me/inbox/") for u in rnd.users],
        )
        # Everyone at once for one shift after another: the threads contend for
        # the same shift row, as when a popular duty is announced.
        tasks = [
            sign_up_task(rnd.clients[u.pk], rnd.shifts[min(i // per_shift, SHIFTS - 1)].pk)
            for i, u in enumerate(rnd.users)
        ]
        signup = run_phase(f"sign-up ({per_shift} per shift)", rnd.threads, tasks)
        checks.append(signup_checks(rnd, people))
        confirmed = list(
            SignUp.objects.filter(shift__in=rnd.shifts, status=SignUp.Status.CONFIRMED)
            .order_by("shift_id", "created_at", "id")
            .values_list("user_id", "shift_id")
        )

        def check_all(action, confirmed=confirmed, rnd=rnd):
            return [check_task(rnd.clients[u], s, action) for u, s in confirmed]

        check_in = run_phase("check-in (6-digit code)", rnd.threads, check_all("in"))
        replay = run_phase("check-in replay (no change)", rnd.threads, check_all("in"))
        check_out = run_phase("check-out (+ credit event)", rnd.threads, check_all("out"))
        checks.append(checkin_checks(rnd, confirmed))
        phases.append((baseline, [signup, check_in, replay, check_out]))
    return phases, checks, setup_s, linked


def scheduled_tasks(since) -> str:
    """The background tasks the check-ins enqueued (one per check-in)."""
    from django_tasks_db.models import DBTaskResult

    tasks = DBTaskResult.objects.filter(
        enqueued_at__gte=since, task_path="portal.scheduling.run_due_work"
    )
    return (
        f"scheduled tasks enqueued by the run's check-ins: {tasks.count()} "
        f"(distinct run_after times: {tasks.values('run_after').distinct().count()})"
    )


# --- Certificates ------------------------------------------------------------------------------


def credited_user(*, run, branch, services, year, now):
    """A user with ``services`` verified, credited check-ins in ``year``, one a day."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from volunteers.duties.services import credit_post
    from volunteers.models import CheckIn, Duty, Shift

    user = get_user_model().objects.create(
        username=f"bench-{run}-cert{services}", first_name="王志愿", password=make_password(None)
    )
    duties = [
        Duty.objects.create(
            branch=branch,
            kind=kind,
            title=f"Bench {run} · {label}",
            place="社区服务站",
            eligibility=Duty.Eligibility.VOLUNTEERS,
        )
        for kind, label in (
            (Duty.Kind.ACTIVITY, "敬老院陪护志愿服务"),
            (Duty.Kind.POST, "垃圾分类督导党员示范岗"),
            (Duty.Kind.AREA, "楼道环境整治责任区"),
        )
    ]
    first = timezone.make_aware(dt.datetime(year, 1, 1, 9))
    shifts = Shift.objects.bulk_create(
        Shift(
            duty=duties[k % len(duties)],
            starts_at=first + dt.timedelta(days=k),
            ends_at=first + dt.timedelta(days=k, hours=2),
            capacity=PLACES,
        )
        for k in range(services)
    )
    check_ins = CheckIn.objects.bulk_create(
        CheckIn(
            shift=shift,
            user=user,
            checked_in_at=shift.starts_at,
            checked_out_at=shift.ends_at,
            in_method=CheckIn.Method.ORGANISER,
            out_method=CheckIn.Method.ORGANISER,
            verified_at=now,
        )
        for shift in shifts
    )
    for check_in in check_ins:
        credit_post(check_in=check_in)
    return user


def time_calls(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def certificate_benchmark(*, run, branch, now):
    from django.utils import translation
    from reportlab.platypus import Paragraph

    from portal.pdf import render, styles
    from volunteers.certificates import certificate_issue, certificate_verify_url
    from volunteers.pdf import CERTIFICATE_ROWS, certificate_pdf, certificate_services

    translation.activate("zh-hans")
    year = now.year - 1
    rows = []

    def paragraph():
        text = "本证明用于基准测试：一个段落的文档，没有表格，也没有二维码。" * 3
        return render([Paragraph(text, styles()["body"])], title="基准")

    times, pdf = time_calls(paragraph, CERTIFICATE_RUNS)
    rows.append(("baseline: portal.pdf.render, one paragraph", "", times, len(pdf)))
    for services in CERTIFICATE_SERVICES:
        start = time.perf_counter()
        user = credited_user(run=run, branch=branch, services=services, year=year, now=now)
        certificate = certificate_issue(user=user, year=year)
        setup_s = time.perf_counter() - start
        url = certificate_verify_url(certificate)
        listed = min(services, CERTIFICATE_ROWS)
        print(f"  {services} credited services set up in {setup_s:.1f} s", flush=True)
        times, pdf = time_calls(
            lambda c=certificate, u=url: certificate_pdf(c, u), CERTIFICATE_RUNS
        )
        label = f"certificate_pdf, {services} services ({listed} listed)"
        rows.append((label, services, times, len(pdf)))
        times, _ = time_calls(lambda c=certificate: certificate_services(c), CERTIFICATE_RUNS)
        rows.append(("  of which certificate_services() (SQL)", services, times, None))
        Path(f"/tmp/bench-certificate-{services}.pdf").write_bytes(pdf)  # to look at
    return rows, year


# --- Report ----------------------------------------------------------------------------------


def http_table(phases) -> list[str]:
    head = (
        f"{'request':<36} {'threads':>7} {'n':>5} {'median ms':>9} {'p95 ms':>8} "
        f"{'req/s':>7} {'SQL':>4} {'median/base':>11} {'p95/base':>9}"
    )
    lines = [head]
    for baseline, others in phases:
        base = baseline.median_ms
        for phase in (baseline, *others):
            is_base = phase is baseline
            lines.append(
                f"{phase.label:<36} {phase.threads:>7} {len(phase.times):>5} "
                f"{phase.median_ms:>9.1f} {phase.p95_ms:>8.1f} {phase.per_second:>7.1f} "
                f"{statistics.median(phase.queries):>4.0f} "
                + (
                    ""
                    if is_base
                    else f"{phase.median_ms / base:>10.2f}x {phase.p95_ms / base:>8.2f}x"
                )
            )
        lines.append("")
    return lines


def pdf_table(rows) -> list[str]:
    lines = [
        f"{'document':<46} {'services':>8} {'median ms':>9} {'p95 ms':>8} {'per s':>7} "
        f"{'KB':>6} {'median/base':>11}"
    ]
    base = statistics.median(rows[0][2]) * 1000
    for label, services, times, size in rows:
        median = statistics.median(times) * 1000
        lines.append(
            f"{label:<46} {services!s:>8} {median:>9.1f} {percentile(times, 95) * 1000:>8.1f} "
            f"{1000 / median:>7.1f} {'' if size is None else f'{size / 1024:.0f}':>6} "
            + ("" if label.startswith("baseline") else f"{median / base:>10.2f}x")
        )
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the database")
    parser.add_argument("--build-only", action="store_true", help="only make the database")
    parser.add_argument(
        "--people", type=int, default=500, help=f"users per round, spread over {SHIFTS} shifts"
    )
    args = parser.parse_args()
    url = pg_url()
    db_line = ensure_pg_db(url, args.rebuild)
    print(f"database: {db_line}", flush=True)
    if args.build_only:
        return
    setup_django(url)

    from django.utils import timezone

    from branches.models import GridBranchPage

    run = time.strftime("%Y%m%d%H%M%S")
    now = timezone.now()
    branch = GridBranchPage.objects.order_by("path").first()
    phases, checks, setup_s, linked = http_benchmark(
        run=run, branch=branch, people=args.people, now=now
    )
    tasks_line = scheduled_tasks(now)
    print("certificates:", flush=True)
    pdf_rows, year = certificate_benchmark(run=run, branch=branch, now=now)

    per_shift = args.people // SHIFTS
    errors = [e for _, others in phases for p in others for e in p.errors]
    errors += [e for baseline, _ in phases for e in baseline.errors]
    text = "\n".join(
        [
            "# Volunteer sign-up, check-in and certificates on PostgreSQL at seed scale",
            f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()}",
            f"database: {url} — {db_line}",
            f"branch: {branch.title} (page {branch.pk}); run bench-{run}; set-up {setup_s:.1f} s",
            f"per round: one duty (anyone may sign up), {SHIFTS} shifts × {PLACES} places that "
            "started 10 min ago (2 h long, sign-up open 1 h more),",
            f"  {args.people} new users ({per_shift} per shift, one shift each; {linked} users "
            "of the run linked to members of the branch),",
            "  sign-ups in shift order (all threads on the same shift row at once).",
            "HTTP: django.test.Client in process (no network; DEBUG settings of "
            "portal.settings.dev), force_login once per user;",
            "  time = wall time of client.get/post; threads share one process (and its GIL), "
            "each with its own PostgreSQL connection.",
            "  SQL = median statements per request. Ratios: to the baseline's median at the "
            "same thread count.",
            "",
            *http_table(phases),
            "Correctness:",
            *(f"  {line}" for line in checks),
            f"  request errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""),
            f"  {tasks_line}",
            "",
            f"# Service certificates ({CERTIFICATE_RUNS} runs after one warm-up; year {year}; "
            "zh-hans)",
            *pdf_table(pdf_rows),
        ]
    )
    text = "\n".join(line.rstrip() for line in text.splitlines())
    out = RESULTS / "checkin.txt"
    out.write_text(text + "\n")
    print()
    print(text)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
