"""The fault test, "several processes, one database": two gunicorn instances
(production settings, 2 sync workers each), two ``db_worker`` processes for the
default task backend and two for ``--backend scheduled``, all on one PostgreSQL
database and one Redis, under the Locust journeys of ``loadtest/locustfile.py``
(requests spread over both instances in turn, see ``loadtest/browser.py``),
while faults are injected: a gunicorn worker ``kill -9``-ed (gunicorn replaces
it), a ``db_worker`` of each backend ``kill -9``-ed while it runs a task (then
restarted), Redis restarted, PostgreSQL restarted, and a whole gunicorn
instance ``kill -9``-ed (then restarted). After the load the workers drain the
queue; then ``loadtest/check.py`` checks the invariants in the database and the
HTTP statuses against the fault timeline, and the report goes to
``bench/results/loadtest_faults.txt``.

    .venv/bin/python loadtest/faults.py          (or: make loadtest-faults)

Everything runs on a PostgreSQL cluster and a Redis of its own, never on the
shared ones (5432, 6379), which it only reads once to copy the seed database:

- cluster ``15/faults`` on 127.0.0.1:5433 (trust for 127.0.0.1 and the local
  socket only, ``start.conf`` manual), made with ``pg_createcluster`` when
  missing; database ``tongxin_faults_base`` copied once from the seed database
  (``pg_dump | pg_restore``, a few minutes; needs ``loadtest/run.py`` to have
  built the seed and the keys in ``loadtest/.state/keys.env``), and for each
  run ``tongxin_faults`` made afresh from it (``CREATE DATABASE … TEMPLATE``);
- ``redis-server`` on 127.0.0.1:6380, without persistence.

Both are stopped at the end (``FAULTS_KEEP_SERVERS=1`` leaves them running).
Environment (all optional): ``FAULTS_TIME`` (seconds of load, 300),
``FAULTS_USERS`` (32), ``FAULTS_DRAIN`` (longest wait for the queue and the
outbox after the load, 240), ``FAULTS_PG_DOWN`` and ``FAULTS_REDIS_DOWN``
(seconds down in each restart, 5 and 2), ``FAULTS_SOURCE_URL`` (the seed
database to copy), ``FAULTS_RECOPY=1`` (copy it again). A process that ends by
itself is started again, as systemd's ``Restart=always`` would, and reported.
Logs, the Locust CSV files, the status log and the timeline are in
``loadtest/.state/faults/``. Only 127.0.0.1 is used, every step has a time
limit, and every process started here is stopped on the way out (also on an
error or Ctrl-C).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import run
from check import run_checks
from report import faults_report, load_average
from run import KEYS_FILE, PYTHON, ROOT, STATE, env_int, interrupt, log

HERE = STATE / "faults"
RESULTS_FILE = ROOT / "bench" / "results" / "loadtest_faults.txt"
PG_VERSION, CLUSTER, PG_PORT = "15", "faults", 5433
PG_CONF = Path("/etc/postgresql") / PG_VERSION / CLUSTER
REDIS_PORT = 6380
BASE_DB, RUN_DB = "tongxin_faults_base", "tongxin_faults"
ADMIN_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/postgres"
BASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/{BASE_DB}"
DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/{RUN_DB}"
CACHE_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
SOURCE_URL = "postgres://postgres@127.0.0.1:5432/tongxin_seed"
COPY_TIMEOUT = 45 * 60
RESTART_DELAY = 3.0  # a killed db_worker or gunicorn instance is started again after this
MID_TASK_WAIT = 40.0  # how long to wait for a db_worker to be running a task before killing it
assert PG_PORT != 5432 and REDIS_PORT != 6379, "never the shared servers"


# --- The isolated PostgreSQL cluster and Redis -------------------------------------------------


def cluster_state() -> tuple[int, str] | None:
    """(port, status) of cluster 15/faults, None when it does not exist."""
    out = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    for line in out.splitlines():
        bits = line.split()
        if bits[:2] == [PG_VERSION, CLUSTER]:
            return int(bits[2]), bits[3]
    return None


def pg_ctl(*args: str, timeout: int = 120) -> None:
    """``pg_ctlcluster 15 faults …``: only ever this test's own cluster."""
    subprocess.run(["pg_ctlcluster", PG_VERSION, CLUSTER, *args], check=True, timeout=timeout)


def wait_postgres(url: str = ADMIN_URL, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def ensure_cluster() -> str:
    state = cluster_state()
    made = state is None
    if made:
        log(f"creating PostgreSQL cluster {PG_VERSION}/{CLUSTER} on port {PG_PORT} …")
        command = ["pg_createcluster", PG_VERSION, CLUSTER, "--port", str(PG_PORT)]
        subprocess.run(command, check=True, timeout=300)
        # Trust, on the loopback address and the local socket only; not started at boot.
        (PG_CONF / "pg_hba.conf").write_text(
            "# loadtest/faults.py: a throw-away cluster for the fault test\n"
            "local all all trust\nhost all all 127.0.0.1/32 trust\n",
            encoding="utf-8",
        )
        (PG_CONF / "conf.d" / "tongxin-faults.conf").write_text(
            "listen_addresses = '127.0.0.1'\nmax_connections = 100\nshared_buffers = 512MB\n",
            encoding="utf-8",
        )
        (PG_CONF / "start.conf").write_text("manual\n", encoding="utf-8")
        state = cluster_state()
    if state[0] != PG_PORT:
        raise SystemExit(f"cluster {PG_VERSION}/{CLUSTER} listens on {state[0]}, not {PG_PORT}")
    if state[1] != "online":
        pg_ctl("start")
    wait_postgres()
    how = "made now" if made else "existing"
    return f"cluster {PG_VERSION}/{CLUSTER} on 127.0.0.1:{PG_PORT} ({how})"


def _admin(sql: str, params=()) -> list:
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def ensure_copy(source_url: str) -> str:
    """``tongxin_faults_base``: a complete copy of the seed database (marked so by
    a comment written when the copy finished), then a fresh ``tongxin_faults``."""
    rows = _admin(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        [BASE_DB],
    )
    copied = rows and (rows[0][0] or "").startswith("complete copy")
    if not copied or os.environ.get("FAULTS_RECOPY") == "1":
        log(f"copying {source_url} into {BASE_DB} (pg_dump | pg_restore, a few minutes) …")
        _admin(f"DROP DATABASE IF EXISTS {BASE_DB} WITH (FORCE)")
        _admin(f"CREATE DATABASE {BASE_DB}")
        started = time.monotonic()
        dump = subprocess.Popen(
            ["pg_dump", "-Fc", "-Z1", source_url], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        restore = subprocess.run(
            ["pg_restore", "--no-owner", "--no-privileges", "-d", BASE_URL],
            stdin=dump.stdout,
            timeout=COPY_TIMEOUT,
        )
        dump.stdout.close()
        if dump.wait(timeout=60) or restore.returncode:
            raise SystemExit(f"copying the seed database failed (pg_dump {dump.returncode}, "
                             f"pg_restore {restore.returncode})")  # fmt: skip
        note = f"complete copy of {source_url} at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
        _admin(f"COMMENT ON DATABASE {BASE_DB} IS '{note}'")
        log(f"copied in {time.monotonic() - started:.0f} s")
        rows = [(note,)]
    _admin(f"DROP DATABASE IF EXISTS {RUN_DB} WITH (FORCE)")
    _admin(f"CREATE DATABASE {RUN_DB} TEMPLATE {BASE_DB}")
    return f"{RUN_DB}, made afresh from {BASE_DB} ({rows[0][0]})"


def redis_start() -> None:
    subprocess.run(
        ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "yes", "--dir", str(HERE),
         "--pidfile", str(HERE / "redis.pid"), "--logfile", str(HERE / "redis.log")],
        check=True, timeout=30,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not run.redis_answers(CACHE_URL):
        if time.monotonic() > deadline:
            raise SystemExit(f"redis-server did not answer on {REDIS_PORT}: see {HERE}/redis.log")
        time.sleep(0.1)


def redis_stop() -> None:
    if run.redis_answers(CACHE_URL):
        subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(REDIS_PORT), "shutdown", "nosave"],
            timeout=30, capture_output=True,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while run.redis_answers(CACHE_URL) and time.monotonic() < deadline:
        time.sleep(0.1)


def ensure_redis() -> str:
    if run.redis_answers(CACHE_URL):
        if not (HERE / "redis.pid").exists():
            raise SystemExit(f"something else answers on 127.0.0.1:{REDIS_PORT}: not touching it")
        redis_stop()  # left by an interrupted run: start clean
    redis_start()
    return f"redis-server on 127.0.0.1:{REDIS_PORT} (no persistence)"


def stop_servers() -> None:
    if os.environ.get("FAULTS_KEEP_SERVERS") == "1":
        log(f"leaving cluster {PG_VERSION}/{CLUSTER} and Redis on {REDIS_PORT} running")
        return
    log(f"stopping Redis on {REDIS_PORT} and cluster {PG_VERSION}/{CLUSTER} …")
    redis_stop()
    state = cluster_state()
    if state and state[1] == "online":
        pg_ctl("stop", "-m", "fast")


# --- The portal's processes ---------------------------------------------------------------------


@dataclass
class Service:
    """One process the harness keeps running (started again when it ends)."""

    name: str
    log: Path
    port: int = 0
    backend: str = ""
    generation: int = 0
    held: bool = False  # stopped on purpose: not to be started again by the watch
    ended_at: float | None = None  # when it was found ended by itself (monotonic)
    proc: subprocess.Popen | None = None
    deaths: list = field(default_factory=list)

    @property
    def worker_id(self) -> str:
        return f"{self.name.replace(' ', '-')}-{self.generation}" if self.backend else ""

    def command(self) -> list[str]:
        if self.port:
            return run.gunicorn_command(self.port, control=self.log.with_suffix(".ctl"))
        return run.worker_command(self.backend, self.worker_id)


class Fleet:
    def __init__(self, env: dict) -> None:
        self.env = env
        self.processes = run.Processes()
        self.services: list[Service] = []

    def start(self, service: Service) -> None:
        service.generation += 1
        service.proc = self.processes.start(
            service.name, service.command(), self.env, service.log, append=True
        )
        service.held, service.ended_at = False, None
        if service not in self.services:
            self.services.append(service)

    def watch(self, t0: float) -> None:
        """Start again whatever ended by itself (not more often than every 2 s),
        and note it."""
        for service in self.services:
            if service.held or service.proc.poll() is None:
                continue
            if service.ended_at is None:
                code = service.proc.returncode
                service.ended_at = time.monotonic()
                service.deaths.append((time.time() - t0, code))
                log(f"{service.name} ended by itself (exit {code}): starting it again")
            if time.monotonic() - service.ended_at >= 2:
                self.start(service)


def _stat(pid) -> list[str]:
    """The fields of /proc/<pid>/stat after the command (state, ppid, …); [] if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    return sorted(
        int(p.name) for p in Path("/proc").glob("[0-9]*") if _stat(p.name)[1:2] == [str(pid)]
    )


# --- Faults ------------------------------------------------------------------------------------


class Faults:
    """Injects the faults and writes down when each began and ended."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.timeline: list[dict] = []

    def note(self, kind: str, label: str, start: float, detail: str) -> None:
        entry = {"kind": kind, "label": label, "start": start, "end": time.time(), "detail": detail}
        self.timeline.append(entry)
        log(f"fault done: {label} ({detail}) in {entry['end'] - start:.1f} s")

    def gunicorn_worker(self, web: Service) -> None:
        """Kill one of the instance's workers: one busy with a request (running,
        not asleep in accept) if one is seen within 10 s."""
        before, busy = children(web.proc.pid), []
        deadline = time.monotonic() + 10
        while not busy and time.monotonic() < deadline:
            busy = [pid for pid in before if _stat(pid)[:1] == ["R"]]
            time.sleep(0.005)
        victim = (busy or before)[0]
        start = time.time()
        os.kill(victim, signal.SIGKILL)
        while (
            len(set(children(web.proc.pid)) - {victim}) < len(before) and time.time() < start + 60
        ):
            time.sleep(0.1)
        new = sorted(set(children(web.proc.pid)) - set(before))
        self.note("gunicorn-worker", f"gunicorn worker of {web.name} killed", start,
                  f"kill -9 pid {victim} ({'busy' if busy else 'idle'}); gunicorn forked pid "
                  f"{', '.join(map(str, new)) or '?'} in its place")  # fmt: skip

    def gunicorn_instance(self, web: Service) -> None:
        web.held = True
        start = time.time()
        os.killpg(web.proc.pid, signal.SIGKILL)  # the master and its workers
        web.proc.wait(timeout=30)
        time.sleep(RESTART_DELAY)
        self.fleet.start(web)
        run.wait_healthy(web.port, web.proc, web.log)
        self.note("gunicorn-instance", f"{web.name} killed and restarted", start,
                  f"kill -9 of the master and workers, started again after {RESTART_DELAY:g} s, "
                  f"/healthz 200 {time.time() - start:.1f} s after the kill")  # fmt: skip

    def db_worker(self, backend: str) -> None:
        """Kill a worker of ``backend`` while it runs a task (waiting for one up to
        MID_TASK_WAIT seconds), then start it again."""
        pool = [s for s in self.fleet.services if s.backend == backend]
        victim, task = pool[0], None
        deadline = time.monotonic() + MID_TASK_WAIT
        with psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=5) as conn:
            while task is None and time.monotonic() < deadline:
                for service in pool:
                    row = conn.execute(
                        "SELECT id, task_path FROM django_tasks_database_dbtaskresult "
                        "WHERE status = 'RUNNING' AND worker_ids ? %s",
                        [service.worker_id],
                    ).fetchone()
                    if row:
                        victim, task = service, row
                        break
                else:
                    time.sleep(0.02)
        victim.held = True
        start = time.time()
        os.killpg(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait(timeout=30)
        old_id = victim.worker_id
        time.sleep(RESTART_DELAY)
        self.fleet.start(victim)
        what = f"while running {task[1]} ({task[0]})" if task else "idle (no task within the wait)"
        self.note("db-worker", f"{victim.name} killed and restarted", start,
                  f"kill -9 of worker id {old_id} {what}; started again after "
                  f"{RESTART_DELAY:g} s")  # fmt: skip

    def redis(self, down: float) -> None:
        start = time.time()
        redis_stop()
        time.sleep(down)
        redis_start()
        self.note("redis", "Redis restarted", start,
                  f"shutdown nosave, {down:g} s down, started empty")  # fmt: skip

    def postgres(self, down: float) -> None:
        start = time.time()
        pg_ctl("stop", "-m", "fast")
        time.sleep(down)
        pg_ctl("start")
        wait_postgres()
        self.note("postgres", "PostgreSQL restarted", start,
                  f"pg_ctlcluster stop -m fast, {down:g} s down, start; answering "
                  f"{time.time() - start:.1f} s after the stop")  # fmt: skip


# --- Meetings whose reminders fall due during the load -------------------------------------------


def make_meetings(spec_file: Path) -> None:
    """(In a subprocess with the portal's settings.) Branch meetings of the
    first branch whose reminder time is each of the given times, scheduled
    through ``meeting_schedule`` (which has the worker remind them then)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from branches.models import GridBranchPage, MeetingKind
    from branches.schedule import meeting_schedule

    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    branch = GridBranchPage.objects.get(pk=spec["branch_id"])
    secretary = get_user_model().objects.get(username="secretary")
    ahead = dt.timedelta(hours=settings.TONGXIN_MEETING_REMINDER_HOURS)
    made = []
    for n, at in enumerate(spec["reminders_at"], 1):
        starts = dt.datetime.fromtimestamp(at, dt.UTC) + ahead
        (meeting,) = meeting_schedule(
            branch=branch, kind=MeetingKind.ASSEMBLY, title=f"压测提醒 {spec['run']} 第{n}次",
            starts_at=starts, duration=dt.timedelta(hours=1), place="社区党群服务中心", by=secretary,
        )  # fmt: skip
        made.append({"id": meeting.pk, "reminder_at": at, "invitees": meeting.attendances.count()})
    spec_file.write_text(json.dumps({**spec, "meetings": made}), encoding="utf-8")


# --- The run -----------------------------------------------------------------------------------

# When each fault begins, as a share of the load's duration.
PLAN = [(0.12, "gunicorn worker"), (0.24, "db_worker default"), (0.36, "redis"),
        (0.50, "postgres"), (0.62, "db_worker scheduled"), (0.76, "gunicorn instance")]  # fmt: skip
# When meetings' reminders fall due (shares of the load): around and between the faults.
REMINDERS = [0.06, 0.16, 0.27, 0.38, 0.51, 0.53, 0.63, 0.66, 0.72, 0.86, 0.94]


def drain(fleet: Fleet, t0: float, limit: float) -> str:
    """Wait (up to ``limit`` seconds) for the workers to run what is due, finish
    what they run (the tasks of a killed worker included) and deliver the outbox."""
    deadline, last = time.monotonic() + limit, ""
    while time.monotonic() < deadline:
        fleet.watch(t0)
        try:
            with psycopg.connect(DATABASE_URL, connect_timeout=5) as conn:
                due, running, undelivered = conn.execute(
                    "SELECT (SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE "
                    "status = 'READY' AND (run_after <= now() OR run_after > '9000-01-01')), "
                    "(SELECT count(*) FROM django_tasks_database_dbtaskresult "
                    "WHERE status = 'RUNNING'), "
                    "(SELECT count(*) FROM portal_notification WHERE delivered_at IS NULL)"
                ).fetchone()
        except psycopg.OperationalError as error:
            due, running, undelivered = -1, -1, str(error)
        last = (
            f"{due} due tasks waiting, {running} running (a killed worker's are queued again "
            f"once it has been silent WORKER_TIMEOUT s), {undelivered} notifications not delivered"
        )
        if due == 0 and running == 0 and undelivered == 0:
            return f"drained {limit - (deadline - time.monotonic()):.0f} s after the load: {last}"
        time.sleep(3)
    return f"not drained {limit:.0f} s after the load: {last}"


def schedule_meetings(env: dict, fixtures: dict, seconds: int, t0: float) -> list[dict]:
    """The meetings whose reminders fall due at REMINDERS of a load starting at t0."""
    spec = HERE / "meetings.json"
    reminders = [t0 + share * seconds for share in REMINDERS]
    spec.write_text(json.dumps({"run": fixtures["run"], "branch_id": fixtures["branch_id"],
                                "reminders_at": reminders}), encoding="utf-8")  # fmt: skip
    subprocess.run([PYTHON, __file__, "meetings", str(spec)], cwd=ROOT, env=env, check=True,
                   timeout=120)  # fmt: skip
    return json.loads(spec.read_text(encoding="utf-8"))["meetings"]


def load_with_faults(fleet: Fleet, env: dict, webs: list[Service], users: int, seconds: int):
    """Locust on both instances for ``seconds``, the faults of PLAN on the way.
    Returns the faults injected, and when the load began and ended."""
    hosts = ",".join(f"http://127.0.0.1:{web.port}" for web in webs)
    log(f"locust: {users} users for {seconds} s over {hosts}, faults on the way …")
    locust_env = {**env, "LOADTEST_FIXTURES": str(HERE / "fixtures.json"),
                  "LOADTEST_HOSTS": hosts, "LOADTEST_STATUS_CSV": str(HERE / "status.csv")}  # fmt: skip
    args = run.locust_command(hosts.split(",")[0], users, max(1.0, users / 8), seconds,
                          HERE / "locust", HERE / "locust.log")  # fmt: skip
    t0 = time.time()
    locust = fleet.processes.start("locust", args, locust_env, HERE / "locust-out.log")
    faults = Faults(fleet)
    pg_down = float(os.environ.get("FAULTS_PG_DOWN", "") or 5)
    redis_down = float(os.environ.get("FAULTS_REDIS_DOWN", "") or 2)
    actions = {
        "gunicorn worker": lambda: faults.gunicorn_worker(webs[0]),
        "db_worker default": lambda: faults.db_worker("default"),
        "redis": lambda: faults.redis(redis_down),
        "postgres": lambda: faults.postgres(pg_down),
        "db_worker scheduled": lambda: faults.db_worker("scheduled"),
        "gunicorn instance": lambda: faults.gunicorn_instance(webs[1]),
    }
    plan = list(PLAN)
    while locust.poll() is None:
        if time.time() - t0 > seconds + 240:
            raise SystemExit(f"locust did not stop in time: see {HERE.relative_to(ROOT)}/")
        fleet.watch(t0)
        if plan and time.time() - t0 >= plan[0][0] * seconds:
            log(f"+{time.time() - t0:.0f} s fault: {plan[0][1]}")
            actions[plan.pop(0)[1]]()
        time.sleep(0.2)
    if locust.returncode not in (0, 1):  # 1: some request failed, as expected here
        raise SystemExit(f"locust failed (exit {locust.returncode}): see {HERE}/locust-out.log")
    if plan:
        log(f"the load ended before these faults: {', '.join(p[1] for p in plan)}")
    return faults.timeline, t0, time.time()


def main() -> int:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    if len(sys.argv) == 3 and sys.argv[1] == "meetings":
        make_meetings(Path(sys.argv[2]))
        return 0
    seconds, users = env_int("FAULTS_TIME", 300), env_int("FAULTS_USERS", 32)
    source = os.environ.get("FAULTS_SOURCE_URL", "").strip() or SOURCE_URL
    if urlsplit(source).hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"FAULTS_SOURCE_URL must be on 127.0.0.1: {source}")
    if not KEYS_FILE.exists():
        raise SystemExit(f"no {KEYS_FILE.relative_to(ROOT)}: run loadtest/run.py first (it "
                         "builds the seed database and its keys)")  # fmt: skip
    HERE.mkdir(parents=True, exist_ok=True)
    for old in [*HERE.glob("*.log"), *HERE.glob("*.csv"), *HERE.glob("*.json")]:
        old.unlink()
    started, load_before = dt.datetime.now(dt.UTC), load_average()
    fleet = None
    try:
        setup = [ensure_cluster(), ensure_redis(), ensure_copy(source)]
        env = run.django_env(DATABASE_URL, run.load_keys(), CACHE_URL)
        setup.append(run.ensure_database(DATABASE_URL, env, keys_were_new=False))
        fixtures = run.prepare_run(env, HERE / "fixtures.json")

        fleet = Fleet(env)
        ports = [run.free_port()]
        while len(ports) < 2:
            ports += [p for p in [run.free_port()] if p not in ports]
        webs = [Service(f"web {x}", HERE / f"gunicorn-{x.lower()}.log", port=p)
                for x, p in zip("AB", ports, strict=True)]  # fmt: skip
        workers = [Service(f"db_worker {b} {n}", HERE / f"worker-{b}-{n}.log", backend=b)
                   for b in ("default", "scheduled") for n in (1, 2)]  # fmt: skip
        log(f"gunicorn on 127.0.0.1:{ports[0]} and :{ports[1]} (2 sync workers each), "
            "2 + 2 db_workers …")  # fmt: skip
        for service in webs + workers:
            fleet.start(service)
        for web in webs:
            run.wait_healthy(web.port, web.proc, web.log)
        t0 = time.time() + 15  # the load starts once the meetings are made
        meetings = schedule_meetings(env, fixtures, seconds, t0)
        time.sleep(max(0.0, t0 - time.time()))

        faults, t0, t1 = load_with_faults(fleet, env, webs, users, seconds)
        load_after = load_average()
        limit = env_int("FAULTS_DRAIN", 240)
        log(f"draining: waiting up to {limit} s for the queue and the outbox …")
        drained = drain(fleet, t0, limit)
        log(drained)
        try:
            ready = run.http_get(ports[0], "/readyz")
        except OSError as error:
            ready = (0, str(error).encode())
        timeline = {"load": {"start": t0, "end": t1}, "faults": faults}
        (HERE / "timeline.json").write_text(json.dumps(timeline, indent=1), encoding="utf-8")
        log("stopping the portal's processes …")
        fleet.processes.stop_all()
        fleet = None

        log("checking the invariants …")
        checks = run_checks(
            DATABASE_URL,
            since=dt.datetime.fromtimestamp(t0, dt.UTC),
            until=dt.datetime.fromtimestamp(t1, dt.UTC),
            running_grace=0,  # the workers have stopped: whatever is RUNNING is stuck
            statuses=HERE / "status.csv",
            timeline=HERE / "timeline.json",
        )
        text = faults_report(
            started=started, load_before=load_before, load_after=load_after, setup=setup,
            fixtures=fixtures, users=users, rate=max(1.0, users / 8), seconds=seconds,
            ports=ports, services=webs + workers, timeline=timeline, meetings=meetings,
            drained=drained, ready=ready, checks=checks, state=HERE,
        )  # fmt: skip
    finally:
        if fleet is not None:
            log("stopping the portal's processes …")
            fleet.processes.stop_all()
        stop_servers()
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(text, encoding="utf-8")
    print()
    print(text)
    log(f"written to {RESULTS_FILE.relative_to(ROOT)}; logs in {HERE.relative_to(ROOT)}/")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
