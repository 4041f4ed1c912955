"""The load test: the portal under gunicorn with production settings on a
seed-scale PostgreSQL database, measured with wrk (single URLs) and Locust
(journeys of anonymous readers, searchers, members and staff).

    .venv/bin/python loadtest/run.py [--prepare-only]      (or: make loadtest)

Environment (all optional):

    LOADTEST_DATABASE_URL  postgres://postgres@127.0.0.1:5432/tongxin_seed
    LOADTEST_TIME          Locust run time in seconds (60)
    LOADTEST_USERS         Locust users (32)
    LOADTEST_SPAWN_RATE    users started per second (users / 8)
    LOADTEST_WRK_TIME      seconds of wrk per URL (10)
    LOADTEST_MIXED_TIME    seconds of the mixed load at 32 connections (60)
    LOADTEST_PORT          gunicorn's port on 127.0.0.1 (a free one)
    LOADTEST_CACHE_URL     the cache (redis://127.0.0.1:6379/13 when Redis answers,
                           else each process's local memory); "none" for local memory.
                           The load test empties this Redis database at the start.

The database is built when it is missing or empty (migrate, ``load_demo --scale
seed``, ``search_index rebuild``: several minutes), with keys generated once and
kept in ``loadtest/.state/keys.env`` (git-ignored by ``loadtest/.gitignore``):
the private fields and the TOTP secrets are encrypted with them, so the database
and that file belong together. The same directory holds the run's logs, the
Locust CSV files and the fixtures (``fixtures.json``: accounts, shifts, meetings
prepared by ``loadtest/fixtures.py`` for this run). Results go to
``bench/results/loadtest.txt``. Everything listens on and talks to 127.0.0.1
only, every step has a time limit, and every process started here is stopped
on the way out (also on an error or Ctrl-C).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from measure import http_request, mixed_requests, session_cookie, wrk
from report import load_average, loadtest_report, task_counts

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "loadtest" / ".state"
KEYS_FILE = STATE / "keys.env"
FIXTURES_FILE = STATE / "fixtures.json"
OUTCOMES_FILE = STATE / "outcomes.json"  # written by the locustfile
RESULTS_FILE = ROOT / "bench" / "results" / "loadtest.txt"
PYTHON = sys.executable
BIN = Path(PYTHON).parent

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tongxin_seed"
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/13"
# The address links are built from. Production settings refuse a local one
# (portal.E007); nothing ever connects to it (``.invalid`` never resolves).
PUBLIC_HOST = "tongxin-loadtest.invalid"
SEED_MEMBERS = 10_000

# Time limits of the steps (seconds).
BUILD_TIMEOUT = 3 * 3600
STEP_TIMEOUT = 15 * 60
START_TIMEOUT = 90


def log(message: str) -> None:
    print(f"[loadtest {time.strftime('%H:%M:%S')}] {message}", flush=True)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# --- Keys and environment ---------------------------------------------------------------------


def load_keys() -> dict[str, str]:
    """The run's keys: read from KEYS_FILE, made (once) when it is missing."""
    STATE.mkdir(parents=True, exist_ok=True)
    if not KEYS_FILE.exists():
        from cryptography.fernet import Fernet

        keys = {
            "SECRET_KEY": secrets.token_urlsafe(60),
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "FIELD_HASH_KEY": secrets.token_urlsafe(48),
        }
        text = "# Keys of the load-test database (loadtest/run.py); keep with it.\n"
        text += "".join(f"{k}={v}\n" for k, v in keys.items())
        KEYS_FILE.write_text(text, encoding="utf-8")
        KEYS_FILE.chmod(0o600)
        log(f"made new keys in {KEYS_FILE.relative_to(ROOT)}")
    keys = {}
    for line in KEYS_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            keys[name.strip()] = value.strip()
    return keys


def redis_answers(url: str) -> bool:
    bits = urlsplit(url)
    try:
        with socket.create_connection((bits.hostname, bits.port or 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def cache_url() -> str:
    """The cache the portal's processes share (rate limits, TOTP replay, code
    throttles): Redis as in production when it answers on 127.0.0.1."""
    wanted = os.environ.get("LOADTEST_CACHE_URL", "").strip()
    if wanted.lower() == "none":
        return ""
    url = wanted or DEFAULT_CACHE_URL
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"LOADTEST_CACHE_URL must point at 127.0.0.1: {url}")
    if redis_answers(url):
        return url
    if wanted:
        raise SystemExit(f"LOADTEST_CACHE_URL={url} does not answer")
    return ""


def flush_cache(url: str) -> None:
    """Empty the load test's own Redis database: rate-limit counters, used TOTP
    codes and cached pages of an earlier run would make runs differ."""
    if url:
        import redis

        redis.Redis.from_url(url, socket_timeout=5).flushdb()


def django_env(database_url: str, keys: dict[str, str], cache: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DEBUG", "ELASTICSEARCH_URL", "TASKS_BACKEND", "TASKS_SCHEDULED_BACKEND"):
        env.pop(name, None)
    env.update(keys)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.production",
            "DATABASE_URL": database_url,
            "ALLOWED_HOSTS": f"127.0.0.1,localhost,{PUBLIC_HOST}",
            "PUBLIC_BASE_URL": f"https://{PUBLIC_HOST}",
            # Plain HTTP on 127.0.0.1: no proxy in front to redirect to https.
            "SECURE_SSL_REDIRECT": "0",
            # Mail to the worker's log, not to an SMTP server.
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if cache:
        env["CACHE_URL"] = cache
    else:
        env.pop("CACHE_URL", None)
    return env


def manage(env: dict, *args: str, timeout: int = STEP_TIMEOUT, quiet: bool = False) -> float:
    """Run ``manage.py`` with the run's environment; its output is the progress."""
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL if quiet else None,
    )
    return time.perf_counter() - start


# --- The seed-scale database ------------------------------------------------------------------


def _split(url: str) -> tuple[str, str]:
    """The URL of the server's maintenance database, and the database name."""
    base, _, name = url.rpartition("/")
    return f"{base}/postgres", name.split("?")[0]


def database_state(url: str) -> dict | None:
    """What the database holds (None when it does not exist)."""
    import psycopg

    try:
        conn = psycopg.connect(url, connect_timeout=5)
    except psycopg.OperationalError as error:
        if "does not exist" in str(error):
            return None
        raise
    with conn:

        def count(table: str, where: str = "") -> int:
            if conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0] is None:
                return 0
            return conn.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0]

        return {
            "members": count("branches_member"),
            "pages": count("wagtailcore_page"),
            "joint_meetings": count("alliance_jointmeeting"),
            "indexed_members": count("search_searchentry", "WHERE doc_type = 'member'"),
        }


def create_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin, name = _split(url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def ensure_database(url: str, env: dict, keys_were_new: bool) -> str:
    """Build the seed database when it is missing or empty; migrate it. Returns
    a line for the report."""
    state = database_state(url)
    if state is None:
        log(f"{url}: no such database; creating it")
        create_database(url)
        state = database_state(url)
    built = []
    if state["pages"] <= 1:
        log(
            "empty database: migrate, load_demo --scale seed, search_index rebuild (several minutes)"
        )
        seconds = manage(env, "migrate", "--noinput", "-v0", timeout=BUILD_TIMEOUT)
        log(f"migrated in {seconds:.0f} s; load_demo --scale seed …")
        seconds = manage(env, "load_demo", "--scale", "seed", "--seed", "1", timeout=BUILD_TIMEOUT)
        built.append(f"load_demo --scale seed {seconds:.0f} s")
        log(f"loaded in {seconds:.0f} s; search_index rebuild (about 4 minutes) …")
        seconds = manage(env, "search_index", "rebuild", "--quiet", timeout=BUILD_TIMEOUT)
        built.append(f"search_index rebuild {seconds:.0f} s")
        log(f"search index built in {seconds:.0f} s")
        state = database_state(url)
    elif keys_were_new:
        raise SystemExit(
            f"{url} already holds data, but {KEYS_FILE.relative_to(ROOT)} was just made: the "
            "data was written with other keys and cannot be read with these. Restore the old "
            f"keys file, or drop the database (dropdb {_split(url)[1]}) and run again."
        )
    else:
        manage(env, "migrate", "--noinput", "-v0")
    if state["members"] < SEED_MEMBERS or not state["joint_meetings"]:
        raise SystemExit(
            f"{url} is not a complete seed-scale demo ({state['members']} members, "
            f"{state['joint_meetings']} joint meetings): a build was interrupted or it is "
            f"another database. Drop it (dropdb {_split(url)[1]}) and run again."
        )
    if state["indexed_members"] < SEED_MEMBERS:
        log("the search index is incomplete: search_index rebuild (about 4 minutes) …")
        seconds = manage(env, "search_index", "rebuild", "--quiet", timeout=BUILD_TIMEOUT)
        built.append(f"search_index rebuild {seconds:.0f} s")
    how = f"built this run ({', '.join(built)})" if built else "reused"
    return f"{how}: {state['pages']:,} pages, {state['members']:,} members"


def drain_tasks(env: dict) -> None:
    """Run the background tasks that are due (left by the build, the fixtures or
    an earlier run), so the measured worker starts with an empty queue."""
    manage(env, "db_worker", "--batch", "--queue-name", "*", "--no-startup-delay", quiet=True)


def prepare_run(env: dict, fixtures_file: Path) -> dict:
    """Before the load: collectstatic, this run's fixtures (loadtest/fixtures.py)
    written to ``fixtures_file`` and returned, and the due background tasks run."""
    log("collectstatic …")
    manage(env, "collectstatic", "--noinput", "-v0")
    log("fixtures: load-test accounts, shifts, tasks and meetings …")
    subprocess.run(
        [PYTHON, str(ROOT / "loadtest" / "fixtures.py"), str(fixtures_file)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=STEP_TIMEOUT,
    )
    log("running the background tasks that are due …")
    drain_tasks(env)
    return json.loads(fixtures_file.read_text(encoding="utf-8"))


# --- Processes --------------------------------------------------------------------------------


class Processes:
    """The processes this run started; each in its own session, stopped as a group."""

    def __init__(self) -> None:
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(
        self, name: str, args: list[str], env: dict, log_path: Path, *, append: bool = False
    ) -> subprocess.Popen:
        """Start ``args`` in a session of its own, its output to ``log_path``
        (appended to with ``append``: a restarted process after its predecessor)."""
        handle = open(log_path, "ab" if append else "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        proc.log_handle = handle  # type: ignore[attr-defined]
        self.running.append((name, proc))
        return proc

    def stop_all(self) -> None:
        for _name, proc in reversed(self.running):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        for name, proc in reversed(self.running):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop: killing it")
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
            proc.log_handle.close()  # type: ignore[attr-defined]
        self.running.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_healthy(
    port: int, server: subprocess.Popen, log_path: Path = STATE / "gunicorn.log"
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped while starting: see {log_path.relative_to(ROOT)}")
        try:
            if http_get(port, "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"/healthz did not answer within {START_TIMEOUT} s")


def gunicorn_command(
    port: int, workers: int = 2, control: Path = STATE / "gunicorn.ctl"
) -> list[str]:
    """gunicorn as in production (gunicorn.conf.py), sync workers on 127.0.0.1."""
    from gunicorn.config import KNOWN_SETTINGS

    # A recent gunicorn's control socket is ~/.gunicorn/gunicorn.ctl unless told:
    # instances on one machine (and other people's) would collide.
    has_control = any(setting.name == "control_socket" for setting in KNOWN_SETTINGS)
    return [str(BIN / "gunicorn"), "portal.wsgi", "-w", str(workers), "-k", "sync"] + [
        "-b", f"127.0.0.1:{port}", "--error-logfile", "-",
        # gunicorn.conf.py recycles a worker every ~10,000 requests; wrk makes
        # that many in seconds, and both workers restarting mid-measurement
        # (each boot takes seconds) would be measured instead of the app.
        "--max-requests", "0",
    ] + (["--control-socket", str(control)] if has_control else [])  # fmt: skip


def worker_command(backend: str = "default", worker_id: str = "") -> list[str]:
    """A ``db_worker`` for one task backend, every queue; the scheduled backend's
    work is due at set times, so it looks less often."""
    args = [PYTHON, "manage.py", "db_worker", "--queue-name", "*"]
    if backend != "default":
        args += ["--backend", backend]
    args += ["--interval", "1" if backend == "default" else "5"]
    return args + (["--worker-id", worker_id] if worker_id else [])


# --- wrk --------------------------------------------------------------------------------------


def static_path() -> str:
    """A real static file under STATIC_ROOT, by its hashed (manifest) name."""
    manifest = json.loads((ROOT / "static" / "staticfiles.json").read_text(encoding="utf-8"))
    name = manifest["paths"].get("portal/site.css") or next(iter(manifest["paths"].values()))
    return f"/static/{name}"


# --- Locust -----------------------------------------------------------------------------------


def locust_command(
    host: str, users: int, rate: float, seconds: int, prefix: Path, logfile: Path
) -> list[str]:
    """Locust headless on the journeys of loadtest/locustfile.py, its CSV files
    under ``prefix``."""
    return [str(BIN / "locust"), "-f", str(ROOT / "loadtest" / "locustfile.py"), "--headless"] + [
        "-u", str(users), "-r", f"{rate:g}", "-t", f"{seconds}s", "--stop-timeout", "10",
        "--host", host, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
        "--logfile", str(logfile),
    ]  # fmt: skip


def locust(port: int, env: dict, users: int, rate: float, seconds: int) -> Path:
    prefix = STATE / "locust"
    for old in [*STATE.glob("locust_*.csv"), OUTCOMES_FILE]:
        old.unlink(missing_ok=True)
    args = locust_command(
        f"http://127.0.0.1:{port}", users, rate, seconds, prefix, STATE / "locust.log"
    )
    locust_env = {**env, "LOADTEST_FIXTURES": str(FIXTURES_FILE)}
    proc = subprocess.run(args, cwd=ROOT, env=locust_env, timeout=seconds + 180)
    # Locust exits with 1 when any request failed: the table says which.
    if proc.returncode not in (0, 1):
        raise SystemExit(f"locust failed (exit {proc.returncode}): see loadtest/.state/locust.log")
    return prefix


# --- The run ----------------------------------------------------------------------------------


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C, kill and a closed terminal all stop what was started (also when
    # SIGINT came in ignored, as for a background job of a script).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--prepare-only", action="store_true", help="build/migrate the database and stop"
    )
    args = parser.parse_args()

    database_url = os.environ.get("LOADTEST_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    if urlsplit(database_url).hostname not in ("127.0.0.1", "localhost", None, ""):
        raise SystemExit(f"LOADTEST_DATABASE_URL must be on 127.0.0.1: {database_url}")
    seconds = env_int("LOADTEST_TIME", 60)
    users = env_int("LOADTEST_USERS", 32)
    rate = float(os.environ.get("LOADTEST_SPAWN_RATE", "").strip() or max(1.0, users / 8))
    wrk_seconds = env_int("LOADTEST_WRK_TIME", 10)
    mixed_seconds = env_int("LOADTEST_MIXED_TIME", 60)
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    if not (BIN / "locust").exists():
        raise SystemExit(f"locust is not installed in {BIN}: pip install -e '.[load]'")

    keys_were_new = not KEYS_FILE.exists()
    keys = load_keys()
    cache = cache_url()
    env = django_env(database_url, keys, cache)
    started = dt.datetime.now(dt.UTC)
    load_before = load_average()

    flush_cache(cache)
    log(f"database {database_url}")
    db_line = ensure_database(database_url, env, keys_were_new)
    log(db_line)
    if args.prepare_only:
        return 0
    fixtures = prepare_run(env, FIXTURES_FILE)

    port = env_int("LOADTEST_PORT", 0) or free_port()
    processes = Processes()
    gunicorn_log = STATE / "gunicorn.log"
    worker_logs = [STATE / "worker.log", STATE / "worker-scheduled.log"]

    try:
        log(f"gunicorn on 127.0.0.1:{port} (2 sync workers) and the background workers …")
        server = processes.start("gunicorn", gunicorn_command(port), env, gunicorn_log)
        # Production runs one worker per task backend (README, Running in production).
        processes.start("db_worker", worker_command("default"), env, worker_logs[0])
        processes.start("db_worker scheduled", worker_command("scheduled"), env, worker_logs[1])
        wait_healthy(port, server)

        search_path = "/search/?q=" + quote("党员")
        member = fixtures["accounts"]["members"][0]
        cookie = session_cookie(port, member["username"], member["password"])
        branch = fixtures["branch_url"]
        anonymous = [
            ("floor", "/admin/login/"),
            ("static", static_path()),
            ("home", "/"),
            ("branch page", branch),
            ("branch notices/", branch + "notices/"),
            ("search 党员", search_path),
        ]
        signed_in = [
            (f"{member['username']}: {path}", path)
            for path in ("/me/", "/me/notices/", "/me/service/", "/volunteer/", branch, search_path)
        ]
        urls = [(label, path, "") for label, path in anonymous]
        urls += [(label, path, cookie) for label, path in signed_in]
        log("warm-up …")
        statuses = {}
        for label, path, sent in urls:
            for _ in range(5):
                jar = dict([sent.split("=", 1)]) if sent else None
                statuses[label] = http_request(port, "GET", path, cookies=jar)[0]
        wrk(port, [("/", "")], 3)

        wrk_rows = []
        for label, path, sent in urls:
            log(f"wrk {wrk_seconds} s: {label} {path}")
            wrk_rows.append((label, path, statuses[label], wrk(port, [(path, sent)], wrk_seconds)))

        # The mixed load: 40 % tree pages, 20 % search, 20 % a member's pages,
        # 20 % listings, at 32 connections.
        mix = mixed_requests(env, cookie)
        log(f"wrk {mixed_seconds} s, 32 connections: the mixed load ({len(mix)} requests in turn)")
        mixed = wrk(port, mix, mixed_seconds, connections=32) | {"listed": len(mix)}

        log(f"locust: {users} users (+{rate:g}/s) for {seconds} s …")
        locust_started = dt.datetime.now(dt.UTC)
        log_offset = gunicorn_log.stat().st_size
        prefix = locust(port, env, users, rate, seconds)
        load_after = load_average()
        time.sleep(5)  # the background workers catch up with the last requests' tasks
        ready = http_get(port, "/readyz")
        tasks = task_counts(database_url, locust_started)
    finally:
        log("stopping the processes …")
        processes.stop_all()

    text = loadtest_report(
        started=started,
        load_before=load_before,
        load_after=load_after,
        port=port,
        cache=cache,
        database_url=database_url,
        db_line=db_line,
        fixtures=fixtures,
        wrk_seconds=wrk_seconds,
        wrk_rows=wrk_rows,
        mixed=mixed,
        mixed_seconds=mixed_seconds,
        users=users,
        rate=rate,
        seconds=seconds,
        prefix=prefix,
        outcomes_file=OUTCOMES_FILE,
        gunicorn_log=gunicorn_log,
        log_offset=log_offset,
        ready=ready,
        tasks=tasks,
        worker_logs=worker_logs,
    )
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(text, encoding="utf-8")
    print()
    print(text)
    log(f"written to {RESULTS_FILE.relative_to(ROOT)}; logs and CSV in {STATE.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
