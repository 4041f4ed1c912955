"""The load tests' reports: tables made from wrk's and Locust's figures, the
portal's request log and the processes' logs, and the text of
``bench/results/loadtest.txt`` (``loadtest/run.py``). ``loadtest/faults.py``
writes ``bench/results/loadtest_faults.txt`` with the same pieces."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def machine() -> str:
    return f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return f"{rev}{' (with uncommitted changes)' if dirty else ''}"
    except OSError:
        return "unknown"


def wrk_table(rows: list[tuple[str, str, int, dict]]) -> list[str]:
    floor = next((r[3]["rps"] for r in rows if r[0].startswith("floor")), 0) or 1
    static = next((r[3]["rps"] for r in rows if r[0].startswith("static")), 0) or 1
    out = [
        f"{'url':<46} {'status':>6} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'of floor':>8} {'of static':>9} {'non-2xx/3xx':>11}  socket errors"
    ]
    for label, path, status, r in rows:
        out.append(
            f"{label + ' ' + path:<46.46} {status:>6} {r['rps']:>8.1f} {r['p50']:>7.1f} "
            f"{r['p95']:>7.1f} {r['p99']:>7.1f} {r['rps'] / floor:>8.1%} {r['rps'] / static:>9.1%} "
            f"{r['bad']:>11}  {r['socket_errors'] or '-'}"
        )
    return out


def mixed_lines(mixed: dict, seconds: int) -> list[str]:
    return [
        f"## Mixed load: wrk -t2 -c32 -d{seconds}s over {mixed['listed']:,} requests in turn — "
        "40 % pages of the tree and publications, 20 % search (10 words), 20 % a signed-in member's "
        "pages (/me/, /me/notices/, /me/service/, /volunteer/), 20 % listings (notices/, calendar/, "
        ".ics of 200 units), in a fixed random order (loadtest/mixed.lua)",
        f"req/s {mixed['rps']:.1f}; p50 {mixed['p50']:.1f} ms, p90 {mixed['p90']:.1f} ms, "
        f"p95 {mixed['p95']:.1f} ms, p99 {mixed['p99']:.1f} ms; {mixed['requests']:,} requests, "
        f"{mixed['bad']} not 2xx/3xx, socket errors: {mixed['socket_errors'] or 'none'}",
    ]


def _number(row: dict, key: str) -> float:
    try:
        return float(row.get(key) or 0)
    except ValueError:
        return float("nan")


def locust_table(stats: list[dict]) -> list[str]:
    out = [
        f"{'request':<44} {'requests':>8} {'fails':>6} {'req/s':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    ]
    body = [r for r in stats if r.get("Name") != "Aggregated"]
    body.sort(key=lambda r: r["Name"])
    total = [r for r in stats if r.get("Name") == "Aggregated"]
    for row in body + total:
        name = "TOTAL" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
        if row["Name"] == "Aggregated":
            out.append("-" * len(out[0]))
        out.append(
            f"{name:<44.44} {int(_number(row, 'Request Count')):>8} "
            f"{int(_number(row, 'Failure Count')):>6} {_number(row, 'Requests/s'):>7.1f} "
            f"{_number(row, '50%'):>7.0f} {_number(row, '95%'):>7.0f} {_number(row, '99%'):>7.0f} "
            f"{_number(row, 'Max Response Time'):>7.0f}"
        )
    return out


REQUEST_LINE = re.compile(
    r"tongxin\.requests \[[^\]]*\] (?P<method>[A-Z]+) \S+ (?P<status>\d{3}) "
    r"(?P<ms>[\d.]+)ms view=(?P<view>\S+)"
)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (as bench/_common.py)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def server_table(log_path: Path, offset: int, limit: int = 30) -> list[str]:
    """Time spent in the app per view during the Locust run, from the request log
    lines the portal writes (``tongxin.requests``): what the server did, without
    the queueing in front of the two workers that Locust's times include."""
    times: dict[tuple[str, str], list[float]] = {}
    with log_path.open("rb") as handle:
        handle.seek(offset)
        for line in handle.read().decode("utf-8", errors="replace").splitlines():
            found = REQUEST_LINE.search(line)
            if found:
                key = (found["method"], found["view"])
                times.setdefault(key, []).append(float(found["ms"]))
    if not times:
        return ["(no request log lines from the app)"]
    total = sum(sum(v) for v in times.values())
    rows = sorted(times.items(), key=lambda item: -sum(item[1]))
    out = [f"{'view':<52} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'of time':>7}"]
    for (method, view), values in rows[:limit]:
        out.append(
            f"{method + ' ' + view:<52.52} {len(values):>8} {percentile(values, 50):>7.0f} "
            f"{percentile(values, 95):>7.0f} {max(values):>7.0f} {sum(values) / total:>7.1%}"
        )
    if len(rows) > limit:
        out.append(
            f"… {len(rows) - limit} more views, {sum(len(v) for _, v in rows[limit:])} requests"
        )
    return out


def server_errors(log_path: Path, limit: int = 15) -> tuple[int, list[str]]:
    """ERROR lines (with the request id) and tracebacks' last lines in a log."""
    if not log_path.exists():
        return 0, []
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    found = []
    for i, line in enumerate(lines):
        if re.search(r"\[(ERROR|CRITICAL)\]|\s(ERROR|CRITICAL)\s", line):
            found.append(line.strip())
        elif line.startswith("Traceback"):
            tail = next(
                (
                    lines[j]
                    for j in range(i + 1, min(i + 200, len(lines)))
                    if lines[j][:1] not in " \t"
                ),
                "",
            )
            if tail:
                found.append(f"  {tail.strip()}")
    unique = list(dict.fromkeys(re.sub(r"\[req-[^\]]*\]", "[…]", f) for f in found))
    return len(found), unique[:limit]


def task_counts(url: str, since: dt.datetime) -> str:
    """Background tasks enqueued since ``since``, by status (django-tasks-db)."""
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        if (
            conn.execute("SELECT to_regclass('django_tasks_database_dbtaskresult')").fetchone()[0]
            is None
        ):
            return "unknown (no django_tasks_database_dbtaskresult table)"
        # Unscheduled tasks have run_after at the largest date; a READY task with a
        # real run_after still ahead is due later (offer expiry, reminders), not late.
        rows = conn.execute(
            "SELECT CASE WHEN status <> 'READY' THEN status "
            "WHEN run_after > now() AND run_after < '9000-01-01' THEN 'READY (due later)' "
            "ELSE 'READY (due, waiting)' END, count(*) "
            "FROM django_tasks_database_dbtaskresult WHERE enqueued_at >= %s "
            "GROUP BY 1 ORDER BY 1",
            [since],
        ).fetchall()
    return ", ".join(f"{status} {count}" for status, count in rows) or "none"


def locust_sections(prefix: Path, outcomes_file: Path) -> list[str]:
    """Locust's failures and exceptions, and what the journeys' actions came to."""
    failures = read_csv(Path(f"{prefix}_failures.csv"))
    exceptions = read_csv(Path(f"{prefix}_exceptions.csv"))
    lines = ["## Failures (Locust: status or check failed; expected refusals are not failures)"]
    if failures:
        for row in sorted(failures, key=lambda r: -int(r["Occurrences"])):
            lines.append(
                f"{int(row['Occurrences']):>6}  {row['Method']} {row['Name']}: {row['Error']}"
            )
    else:
        lines.append("none")
    if exceptions:
        lines += ["", "## Exceptions in the journeys (Locust)"]
        for row in exceptions:
            lines.append(f"{row['Count']:>6}  {row['Msg']}")
    outcomes = {}
    if outcomes_file.exists():
        outcomes = json.loads(outcomes_file.read_text(encoding="utf-8"))
    lines += ["", "## What the journeys' actions came to (the message each page showed)"]
    for name, count in outcomes.get("outcomes", {}).items():
        lines.append(f"{count:>6}  {name}")
    site = ", ".join(f"{k} {v}" for k, v in outcomes.get("site", {}).items())
    lines += [f"(URLs gathered at the start: {site or 'none'})"]
    return lines


def log_sections(logs: list[Path], *, always: tuple[Path, ...] = ()) -> list[str]:
    """A section per log with ERROR lines or tracebacks (and for those in
    ``always``, also when it has none)."""
    lines = []
    for path in logs:
        count, found = server_errors(path)
        if count or path in always:
            lines += ["", f"## {path.name}: {count} ERROR lines / tracebacks", *(found or ["none"])]
    return lines


def loadtest_report(
    *,
    started,
    load_before: str,
    load_after: str,
    port: int,
    cache: str,
    database_url: str,
    db_line: str,
    fixtures: dict,
    wrk_seconds: int,
    wrk_rows: list,
    mixed: dict,
    mixed_seconds: int,
    users: int,
    rate: float,
    seconds: int,
    prefix: Path,
    outcomes_file: Path,
    gunicorn_log: Path,
    log_offset: int,
    ready: tuple[int, bytes],
    tasks: str,
    worker_logs: list[Path],
) -> str:
    """The text of ``bench/results/loadtest.txt``."""
    settings_line = (
        f"portal.settings.production, gunicorn -w 2 -k sync --max-requests 0 on 127.0.0.1:{port}"
        f"{' (+ gunicorn.conf.py)' if (ROOT / 'gunicorn.conf.py').exists() else ''}, "
        "db_worker per task backend, cache "
        + (cache or "local memory per process")
        + ", SECURE_SSL_REDIRECT=0, plain HTTP"
    )
    where = urlsplit(database_url)
    lines = [
        "# Load test: gunicorn + PostgreSQL at seed scale, wrk and Locust (loadtest/run.py)",
        f"# {started:%Y-%m-%d %H:%M} UTC, {machine()}; load average before {load_before}, "
        f"after {load_after} (other work on the machine inflates the times)",
        f"revision: {git_revision()}",
        f"settings: {settings_line}",
        f"database: PostgreSQL {where.hostname}{where.path} — {db_line}",
        f"fixtures: {fixtures['summary']}",
        "",
        f"## wrk -t2 -c16 -d{wrk_seconds}s (one URL at a time, anonymous unless a user is named; "
        "'of floor' = req/s divided by the floor's: /admin/login/, a redirect through every "
        "middleware, no database; 'of static' = divided by the static file's)",
        *wrk_table(wrk_rows),
        "",
        *mixed_lines(mixed, mixed_seconds),
        "",
        f"## Locust: {users} users (spawned {rate:g}/s), {seconds} s, journeys weighted "
        "reader 40 / search 20 / member 20 / staff and partners 20, 0.5–2 s between steps "
        "(loadtest/locustfile.py); times in ms, including the queue in front of the workers",
        *locust_table(read_csv(Path(f"{prefix}_stats.csv"))),
        "",
        "## Time in the app per view during the Locust run (the portal's request log; "
        "sorted by total time)",
        *server_table(gunicorn_log, log_offset),
        "",
        *locust_sections(prefix, outcomes_file),
        "",
        "## Background work",
        f"/readyz 5 s after the run: {ready[0]} {ready[1].decode(errors='replace').strip()}",
        f"background tasks enqueued during the Locust run, by status: {tasks}",
    ]
    count, found = server_errors(gunicorn_log)
    lines += [
        "",
        f"## Server log: {count} ERROR lines / tracebacks (gunicorn)",
        *(found or ["none"]),
    ]
    lines += log_sections(worker_logs)
    return "\n".join(lines) + "\n"


# --- The fault test ------------------------------------------------------------------------------

MESSAGE_ID = re.compile(r"^Message-ID: <notification-(\d+)@tongxin>", re.M)


def emails_sent(logs: list[Path]) -> str:
    """Emails the workers sent (the console backend writes them to their logs):
    at least once per notification; a repeat only after a kill mid-send."""
    counts: dict[str, int] = {}
    for path in logs:
        if path.exists():
            for found in MESSAGE_ID.findall(path.read_text(encoding="utf-8", errors="replace")):
                counts[found] = counts.get(found, 0) + 1
    repeated = {k: v for k, v in counts.items() if v > 1}
    return (
        f"emails (console backend, the workers' logs): {sum(counts.values())} for "
        f"{len(counts)} notifications; sent more than once: "
        + (", ".join(f"notification {k} × {v}" for k, v in sorted(repeated.items())) or "none")
    )


ERROR_LINE = re.compile(r"\[(ERROR|CRITICAL)\]|\s(ERROR|CRITICAL)\s")


def log_digest(path: Path, limit: int = 10) -> list[str]:
    """A log's ERROR lines and tracebacks, counted by kind: times, process and
    request ids, numbers and paths folded (a fault makes hundreds alike)."""
    if not path.exists():
        return [f"## {path.name}: missing"]
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    errors: dict[str, int] = {}
    tails: dict[str, int] = {}
    for i, line in enumerate(lines):
        if ERROR_LINE.search(line):
            kind = re.sub(r"^(\[[^\]]*\] ?|\S+ \S+ )", "", line)  # the time
            kind = re.sub(r"\[[^\]]*\] ", "", kind)  # process and request ids
            kind = re.sub(r"\d+", "#", re.sub(r": /\S*$", ": <path>", kind))
            errors[kind] = errors.get(kind, 0) + 1
        elif line.startswith("Traceback"):
            tail = next((x for x in lines[i + 1 : i + 300] if x[:1] not in " \t"), "")
            tails[tail.strip()] = tails.get(tail.strip(), 0) + 1
    out = [f"## {path.name}: {sum(errors.values())} ERROR lines, {sum(tails.values())} tracebacks"]
    for title, counts in (("ERROR lines", errors), ("tracebacks ending in", tails)):
        if counts:
            out.append(f"  {title}:")
            ranked = sorted(counts.items(), key=lambda item: -item[1])
            out += [f"    {n:>4} × {text[:160]}" for text, n in ranked[:limit]]
            if len(ranked) > limit:
                out.append(f"    … {len(ranked) - limit} more kinds")
    return out


def faults_report(
    *,
    started,
    load_before: str,
    load_after: str,
    setup: list[str],
    fixtures: dict,
    users: int,
    rate: float,
    seconds: int,
    ports: list[int],
    services: list,
    timeline: dict,
    meetings: list[dict],
    drained: str,
    ready: tuple[int, bytes],
    checks,
    state: Path,
) -> str:
    """The text of ``bench/results/loadtest_faults.txt`` (``loadtest/faults.py``)."""
    from check import read_statuses, traffic_table

    t0 = timeline["load"]["start"]
    due = ", ".join(f"+{m['reminder_at'] - t0:.0f}" for m in meetings)
    lines = [
        "# Fault test: two gunicorn instances, 2 + 2 db_workers, one PostgreSQL, one Redis "
        "(loadtest/faults.py)",
        f"# {started:%Y-%m-%d %H:%M} UTC, {machine()}; load average before {load_before}, "
        f"after {load_after}",
        f"revision: {git_revision()}",
        "servers: " + "; ".join(setup[:2]),
        "database: " + "; ".join(setup[2:]),
        f"portal: portal.settings.production; gunicorn -w 2 -k sync on 127.0.0.1:{ports[0]} (web A) "
        f"and :{ports[1]} (web B); db_worker × 2 for the default backend and × 2 for "
        "--backend scheduled; cache, rate limits, page cache and sessions (cached_db) in Redis",
        f"fixtures: {fixtures['summary']}",
        f"meetings: {len(meetings)} branch meetings ({sum(m['invitees'] for m in meetings)} "
        f"invitees) whose reminders fell due at {due} s",
        "",
        f"## Load: {users} users (+{rate:g}/s) for {seconds} s; each request to the next "
        "instance in turn, an instance that refused or dropped a connection left out for 5 s "
        "(loadtest/browser.py); the journeys of loadtest/locustfile.py",
        "",
        "## Faults (seconds from the start of the load: began, over)",
    ]
    for fault in timeline["faults"]:
        lines.append(
            f"{fault['start'] - t0:>+7.1f} {fault['end'] - t0:>+7.1f}  {fault['label']}: "
            f"{fault['detail']}"
        )
    lines += ["", "## Processes that ended by themselves (started again 2 s later, as systemd's "
              "Restart=always would; the end of their log says why)"]  # fmt: skip
    deaths = [f"{at:>+7.1f}  {s.name}: exit {code}" for s in services for at, code in s.deaths]
    lines += sorted(deaths) or ["none"]
    lines += [
        "",
        "## Invariants (loadtest/check.py: the database after the drain; the status log "
        "against the faults)",
        *checks.lines,
        "",
        f"{'FAILED: ' + ', '.join(checks.failed) if checks.failed else 'all invariants hold'}",
        "",
        "## Requests by start time, 15-second slices (no answer: refused or cut off; "
        "signed out: sent back to the sign-in page)",
        *traffic_table(read_statuses(state / "status.csv"), timeline),
        "",
        "## Locust: times in ms, including the queue in front of the workers",
        *locust_table(read_csv(state / "locust_stats.csv")),
        "",
        *locust_sections(state / "locust", state / "outcomes.json"),
        "",
        "## After the load",
        drained,
        f"/readyz after the drain: {ready[0]} {ready[1].decode(errors='replace').strip()}",
        emails_sent([s.log for s in services if not s.port]),
    ]
    for service in services:
        lines += ["", *log_digest(service.log)]
    return "\n".join(lines) + "\n"
