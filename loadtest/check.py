"""The invariants that must hold after any load, faults included, read from the
database (and, given the fault test's files, from the HTTP status log):

- no shift has more confirmed sign-ups than places, and no person holds two live
  sign-ups for one shift;
- at most one check-in, and at most one service credit (net of reversals), per
  person and shift; at most one credit per dispatched task; the ledgers equal
  the sum of their credit events;
- no service request has more places taken than it needs (per round), and no
  person has taken one request twice;
- every notification is delivered, with exactly one inbox message (none
  without a notification);
- every meeting reminder due in the window was sent exactly once: one reminder
  row and one notification per invited member with an account;
- no background task lost: none left waiting that was due, none stuck running;
  failed ones are listed;
- with ``--statuses`` and ``--timeline`` (written by ``loadtest/faults.py``): no
  5xx outside the PostgreSQL restart window, and in it only the portal's 503
  page with Retry-After, never a traceback; nobody signed out by a fault.

    .venv/bin/python loadtest/check.py postgres://postgres@127.0.0.1:5433/tongxin_faults \\
        [--since 2026-12-05T14:00:00+00:00] [--until …] [--statuses status.csv --timeline timeline.json]

``--since`` limits the time-bound checks (notifications, reminders, tasks) to
what happened from then on; ``--until`` (default: now) is the end of the load,
what was due by then must be done. Reads only; exits 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

EXAMPLES = 8
# A 5xx that started up to this long after PostgreSQL answered again still
# belongs to its restart (a request that waited on the database meanwhile).
POSTGRES_GRACE = 10.0
MAX_DATE = "9000-01-01"


class Report:
    """PASS/FAIL/WARN lines, with a few examples under each."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.failed: list[str] = []

    def add(self, ok: bool | None, name: str, summary: str, examples=()) -> None:
        mark = "PASS" if ok else ("WARN" if ok is None else "FAIL")
        if ok is False:
            self.failed.append(name)
        self.lines.append(f"{mark}  {name}: {summary}")
        examples = list(examples)
        self.lines += [f"        {e}" for e in examples[:EXAMPLES]]
        if len(examples) > EXAMPLES:
            self.lines.append(f"        … and {len(examples) - EXAMPLES} more")


# --- Database invariants -----------------------------------------------------------------------


def check_shifts(conn, report: Report) -> None:
    over = conn.execute(
        "SELECT s.id, s.capacity, count(*) FROM volunteers_shift s "
        "JOIN volunteers_signup u ON u.shift_id = s.id AND u.status = 'confirmed' "
        "GROUP BY s.id HAVING count(*) > s.capacity ORDER BY s.id"
    ).fetchall()
    shifts, confirmed = conn.execute(
        "SELECT count(DISTINCT shift_id), count(*) FROM volunteers_signup WHERE status = 'confirmed'"
    ).fetchone()
    report.add(
        not over,
        "shift capacity",
        f"{shifts:,} shifts with {confirmed:,} confirmed sign-ups; {len(over)} over capacity",
        [f"shift {i}: {n} confirmed for {c} places" for i, c, n in over],
    )
    twice = conn.execute(
        "SELECT shift_id, user_id, count(*) FROM volunteers_signup "
        "WHERE status IN ('confirmed', 'waitlisted') GROUP BY 1, 2 HAVING count(*) > 1"
    ).fetchall()
    report.add(
        not twice,
        "one live sign-up per person and shift",
        f"{len(twice)} people with two",
        [f"shift {s}, user {u}: {n} live sign-ups" for s, u, n in twice],
    )


def check_credits(conn, report: Report) -> None:
    twice = conn.execute(
        "SELECT shift_id, user_id, count(*) FROM volunteers_checkin GROUP BY 1, 2 HAVING count(*) > 1"
    ).fetchall()
    (check_ins,) = conn.execute("SELECT count(*) FROM volunteers_checkin").fetchone()
    report.add(
        not twice,
        "one check-in per person and shift",
        f"{check_ins:,} check-ins; {len(twice)} duplicated",
        [f"shift {s}, user {u}: {n} check-ins" for s, u, n in twice],
    )
    net = conn.execute(
        "SELECT c.shift_id, c.user_id, "
        "sum(CASE WHEN e.kind = 'credit' THEN 1 ELSE -1 END) AS net, "
        "count(*) FILTER (WHERE e.user_id <> c.user_id) AS foreign "
        "FROM volunteers_creditevent e JOIN volunteers_checkin c ON c.id = e.check_in_id "
        "GROUP BY 1, 2 HAVING sum(CASE WHEN e.kind = 'credit' THEN 1 ELSE -1 END) NOT IN (0, 1) "
        "OR count(*) FILTER (WHERE e.user_id <> c.user_id) > 0"
    ).fetchall()
    per_task = conn.execute(
        "SELECT offer_id, count(*) FROM volunteers_creditevent WHERE offer_id IS NOT NULL "
        "AND kind = 'credit' GROUP BY 1 HAVING count(*) > 1"
    ).fetchall()
    (events,) = conn.execute("SELECT count(*) FROM volunteers_creditevent").fetchone()
    report.add(
        not net and not per_task,
        "one service credit per person and shift (and per task)",
        f"{events:,} ledger entries; {len(net)} shifts and {len(per_task)} tasks credited "
        "other than once",
        [f"shift {s}, user {u}: net {n} credits, {f} to another user" for s, u, n, f in net]
        + [f"offer {o}: {n} credits" for o, n in per_task],
    )
    wrong = conn.execute(
        "WITH ev AS (SELECT user_id, year, sum(minutes) AS minutes, sum(points) AS points, "
        "sum(CASE WHEN kind = 'credit' THEN 1 ELSE -1 END) AS shifts "
        "FROM volunteers_creditevent GROUP BY 1, 2) "
        "SELECT user_id, year, l.minutes, ev.minutes, l.points, ev.points, l.shifts, ev.shifts "
        "FROM ev FULL JOIN volunteers_serviceledger l USING (user_id, year) "
        "WHERE l.minutes IS DISTINCT FROM ev.minutes OR l.points IS DISTINCT FROM ev.points "
        "OR l.shifts IS DISTINCT FROM ev.shifts"
    ).fetchall()
    report.add(
        not wrong,
        "ledgers equal the sum of their entries",
        f"{len(wrong)} (person, year) ledgers differ",
        [
            f"user {u} {y}: ledger {lm} min / {lp} pts / {ls} shifts, entries {em} / {ep} / {es}"
            for u, y, lm, em, lp, ep, ls, es in wrong
        ],
    )


def check_offers(conn, report: Report) -> None:
    taken = "('accepted', 'in_service', 'completed')"
    over = conn.execute(
        f"SELECT r.id, o.round, r.people_needed, count(*) FROM volunteers_servicerequest r "
        f"JOIN volunteers_offer o ON o.request_id = r.id AND o.status IN {taken} "
        f"GROUP BY r.id, o.round HAVING count(*) > r.people_needed ORDER BY r.id"
    ).fetchall()
    twice = conn.execute(
        f"SELECT request_id, user_id, count(*) FROM volunteers_offer WHERE status IN {taken} "
        f"GROUP BY 1, 2 HAVING count(*) > 1"
    ).fetchall()
    requests, places = conn.execute(
        f"SELECT count(DISTINCT request_id), count(*) FROM volunteers_offer WHERE status IN {taken}"
    ).fetchone()
    report.add(
        not over and not twice,
        "no request place filled twice",
        f"{places:,} places taken on {requests:,} requests; {len(over)} requests over their "
        f"places, {len(twice)} people who took one request twice",
        [f"request {r} round {n}: {c} taken for {p} places" for r, n, p, c in over]
        + [f"request {r}, user {u}: taken {c} times" for r, u, c in twice],
    )


def check_notifications(conn, report: Report, since, until) -> None:
    rows = conn.execute(
        "SELECT n.id, n.created_at, n.delivered_at, n.inbox_at, n.inbox_message_id, n.attempts, "
        "n.last_error, u.is_active, n.subject FROM portal_notification n "
        "JOIN auth_user u ON u.id = n.user_id WHERE n.created_at >= %s ORDER BY n.id",
        [since],
    ).fetchall()
    undelivered, no_inbox, inactive, removed = [], [], 0, 0
    for pk, created, delivered, inbox_at, inbox_id, attempts, error, active, subject in rows:
        if delivered is None:
            reason = (error or "").splitlines()[0][:80] if error else "no error recorded"
            undelivered.append(
                f"notification {pk} ({created:%H:%M:%S}, {attempts} attempts, {reason}): {subject[:50]}"
            )
        elif not active:
            inactive += 1
        elif inbox_at is None:
            no_inbox.append(
                f"notification {pk}: delivered at {delivered:%H:%M:%S}, not in the inbox"
            )
        elif inbox_id is None:
            removed += 1  # in the inbox, since removed by its reader
    orphans = conn.execute(
        "SELECT i.id, i.user_id, i.created_at, i.subject FROM portal_inboxmessage i "
        "WHERE i.created_at >= %s AND NOT EXISTS "
        "(SELECT 1 FROM portal_notification n WHERE n.inbox_message_id = i.id) ORDER BY i.id",
        [since],
    ).fetchall()
    report.add(
        not undelivered and not no_inbox and not orphans,
        "every notification in the inbox exactly once",
        f"{len(rows):,} notifications; {len(undelivered)} not delivered, {len(no_inbox)} "
        f"delivered without an inbox message, {len(orphans)} inbox messages of no notification "
        f"(a second delivery); {inactive} to inactive accounts (nothing to send), {removed} "
        "since removed",
        undelivered
        + no_inbox
        + [f"inbox message {i} (user {u}, {c:%H:%M:%S}): {s[:50]}" for i, u, c, s in orphans],
    )


def check_reminders(conn, report: Report, since, until, hours: int) -> None:
    """Reminders due in [since, until] of meetings still ahead at ``until``."""
    window = dt.timedelta(hours=hours)
    rows = conn.execute(
        "SELECT m.id, m.title, m.starts_at, mem.user_id, "
        "(SELECT count(*) FROM branches_meetingreminder r "
        " WHERE r.meeting_id = m.id AND r.member_id = a.member_id), "
        "(SELECT count(*) FROM portal_notification n WHERE n.user_id = mem.user_id "
        " AND strpos(n.subject, left(m.title, 150)) > 0 AND n.created_at >= m.starts_at - %s), "
        "(SELECT count(*) FROM portal_notification n WHERE n.user_id = mem.user_id "
        " AND strpos(n.subject, left(m.title, 150)) > 0 AND n.created_at >= m.starts_at - %s "
        " AND n.delivered_at IS NOT NULL) "
        "FROM branches_meeting m JOIN branches_attendance a ON a.meeting_id = m.id "
        "JOIN branches_member mem ON mem.id = a.member_id "
        "WHERE m.status = 'scheduled' AND mem.user_id IS NOT NULL "
        "AND m.starts_at - %s BETWEEN %s AND %s AND m.starts_at > %s ORDER BY m.starts_at, m.id",
        [window, window, window, since, until, until],
    ).fetchall()
    meetings = {r[0] for r in rows}
    wrong = [
        f"meeting {m} ({t[:30]}, reminder due {s - window:%H:%M:%S}), user {u}: "
        f"{r} reminder rows, {n} notifications, {d} delivered"
        for m, t, s, u, r, n, d in rows
        if (r, n, d) != (1, 1, 1)
    ]
    report.add(
        not wrong,
        "every due meeting reminder sent exactly once",
        f"{len(meetings)} meetings whose reminder fell due in the window, {len(rows)} invitees "
        f"with an account; {len(wrong)} not reminded exactly once",
        wrong,
    )


def check_tasks(
    conn, report: Report, since, until, running_grace: float, killed: dict[str, str]
) -> None:
    """``killed``: task id → how the fault test killed its worker mid-task."""
    table = "django_tasks_database_dbtaskresult"
    due = conn.execute(
        f"SELECT id, task_path, backend_name, run_after, enqueued_at FROM {table} "
        f"WHERE status = 'READY' AND (CASE WHEN run_after > %s THEN enqueued_at ELSE run_after END) "
        f"<= %s ORDER BY enqueued_at",
        [MAX_DATE, until],
    ).fetchall()
    report.add(
        not due,
        "no due task left waiting",
        f"{len(due)} tasks due by the end of the load still READY",
        [
            f"{t} ({b}) enqueued {e:%H:%M:%S}, due {'at once' if r.year > 8999 else f'{r:%H:%M:%S}'}"
            for _, t, b, r, e in due
        ],
    )
    # Whether the work of a stuck or failed task was done after all: a later
    # successful run of the same task with (at least) its arguments, or for a
    # delivery, its notification delivered (the outbox sweep calls it directly).
    fate = (
        f"SELECT t.id::text, t.task_path, t.backend_name, t.started_at, t.worker_ids, "
        f"t.args_kwargs->'args', t.exception_class_path, n.id, n.delivered_at, "
        f"EXISTS (SELECT 1 FROM {table} l WHERE l.task_path = t.task_path "
        f"AND l.status = 'SUCCESSFUL' AND l.enqueued_at > t.enqueued_at "
        f"AND (l.args_kwargs->'args') @> (t.args_kwargs->'args')) "
        f"FROM {table} t LEFT JOIN portal_notification n "
        f"ON t.task_path = 'portal.notify.deliver' AND n.id::text = t.args_kwargs->'args'->>0 "
    )

    def line(pk, path, backend, started, workers, args, error, note, delivered, redone):
        text = f"{pk}: {path}{tuple(args)} ({backend}) started {started:%H:%M:%S} by "
        text += ", ".join(workers) + (f": {error.rsplit('.', 1)[-1]}" if error else "")
        text += f"; {killed[pk]}" if pk in killed else ""
        if note:
            done = f"delivered at {delivered:%H:%M:%S}" if delivered else "NOT delivered"
            return text + f"; its notification {note} {done} (outbox sweep)", bool(delivered)
        return text + (
            "; a later run of it succeeded" if redone else "; no later run of it succeeded"
        ), redone

    stuck = [
        line(*row)
        for row in conn.execute(
            fate + "WHERE t.status = 'RUNNING' AND t.started_at < now() - %s ORDER BY t.started_at",
            [dt.timedelta(seconds=running_grace)],
        )
    ]
    # A task claimed by more than one worker was put back in the queue after its
    # worker stopped beating (portal/workers.py).
    requeued = [
        f"{pk}: {path}{tuple(args)} ({backend}) claimed by {', '.join(workers)}"
        + (f" ({killed[pk]})" if pk in killed else "")
        + f"; {status}"
        + (f" at {finished:%H:%M:%S}" if finished else "")
        for pk, path, backend, args, workers, status, finished in conn.execute(
            f"SELECT id::text, task_path, backend_name, args_kwargs->'args', worker_ids, "
            f"status, finished_at FROM {table} "
            f"WHERE jsonb_array_length(worker_ids) > 1 AND coalesce(finished_at, now()) >= %s "
            f"ORDER BY started_at",
            [since],
        )
    ]
    report.add(
        not stuck,
        "no task stuck RUNNING",
        f"{len(stuck)} tasks RUNNING for more than {running_grace:.0f} s, the work of "
        f"{sum(1 for _, done in stuck if not done)} of them not done after; "
        f"{len(requeued)} queued again after their worker was killed",
        [text for text, _ in stuck] + [f"queued again: {text}" for text in requeued],
    )
    failed = [
        line(*row)
        for row in conn.execute(
            fate + "WHERE t.status = 'FAILED' AND t.enqueued_at >= %s ORDER BY t.started_at",
            [since],
        )
    ]
    lost = [text for text, done in failed if not done]
    counts = conn.execute(
        f"SELECT status, count(*) FROM {table} WHERE enqueued_at >= %s GROUP BY 1 ORDER BY 1",
        [since],
    ).fetchall()
    report.add(
        True if not failed else None if not lost else False,
        "no failed task whose work was lost",
        f"tasks enqueued in the window: {', '.join(f'{s} {n:,}' for s, n in counts) or 'none'}; "
        f"{len(failed)} failed, the work of {len(lost)} of them not done after",
        lost + [text for text, done in failed if done],
    )


# --- HTTP statuses against the fault timeline --------------------------------------------------


def read_statuses(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["start"], row["end"] = float(row["start"]), float(row["end"])
        row["status"] = int(row["status"] or 0)
    return rows


def window_of(row: dict, faults: list[dict], grace: float = 2.0) -> dict | None:
    """The fault whose window (widened by ``grace``; PostgreSQL's by its own
    grace after) the request overlaps, if any."""
    for fault in faults:
        after = POSTGRES_GRACE if fault["kind"] == "postgres" else grace
        if row["start"] <= fault["end"] + after and row["end"] >= fault["start"] - grace:
            return fault
    return None


def grouped(rows: list[dict], faults: list[dict], t0: float) -> list[str]:
    """Responses by (status, what the body was, the fault then): how many,
    when, and a few paths."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        fault = window_of(row, faults)
        groups[(row["status"], row["detail"], fault["label"] if fault else "no fault")].append(row)
    out = []
    for (status, detail, label), found in sorted(groups.items(), key=lambda g: -len(g[1])):
        paths = list(dict.fromkeys(f"{r['method']} {r['path']}" for r in found))
        more = f" … ({len(paths)} paths)" if len(paths) > 3 else ""
        out.append(
            f"{len(found)} × {status} {detail} — during {label}, "
            f"+{found[0]['start'] - t0:.1f} to +{found[-1]['start'] - t0:.1f} s: "
            f"{', '.join(p[:60] for p in paths[:3])}{more}"
        )
    return out


def check_http(report: Report, rows: list[dict], timeline: dict) -> None:
    faults = timeline["faults"]
    t0 = timeline["load"]["start"]
    outside, in_pg, inside_wrong = [], [], []
    for row in (r for r in rows if r["status"] >= 500):
        fault = window_of(row, faults)
        if fault is None or fault["kind"] != "postgres":
            outside.append(row)
            continue
        in_pg.append(row)
        if not (row["status"] == 503 and row["detail"].startswith("503 page, Retry-After 3")):
            inside_wrong.append(row)
    tracebacks = [r for r in rows if r["status"] >= 500 and "traceback" in r["detail"]]
    report.add(
        not outside,
        "no 5xx outside the PostgreSQL restart",
        f"{len(rows):,} requests; {len(outside)} 5xx outside it",
        grouped(outside, faults, t0),
    )
    report.add(
        not inside_wrong and not tracebacks,
        "during the PostgreSQL restart only the 503 page (Retry-After), never a traceback",
        f"{len(in_pg)} 5xx in its window, {len(in_pg) - len(inside_wrong)} of them the 503 page "
        f"with Retry-After; {len(tracebacks)} tracebacks in all",
        grouped(inside_wrong, faults, t0) + grouped(tracebacks, faults, t0),
    )
    sign_outs = [r for r in rows if r["detail"].startswith("sent to /accounts/")]
    by_fault = Counter((window_of(r, faults) or {}).get("label", "no fault") for r in sign_outs)
    redis = [f for f in faults if f["kind"] == "redis"]
    redis_outs = sum(n for label, n in by_fault.items() if label in {f["label"] for f in redis})
    report.add(
        not sign_outs,
        "nobody signed out (sessions: cached_db, Redis + PostgreSQL)",
        f"{len(sign_outs)} requests sent back to sign in"
        + (f"; the Redis restart signed {redis_outs} out" if redis else ""),
        [f"{n} during {label}" for label, n in by_fault.items()],
    )
    lost = [r for r in rows if r["status"] == 0]
    unexplained = [r for r in lost if window_of(r, faults) is None]
    report.add(
        None if unexplained else True,
        "requests without an answer (refused or cut off) only around a fault",
        f"{len(lost)} in all, {len(unexplained)} away from any fault",
        [f"+{r['start'] - t0:.1f} s {r['method']} {r['path']}: {r['detail']}" for r in unexplained],
    )


def traffic_table(rows: list[dict], timeline: dict, bucket: float = 15.0) -> list[str]:
    """Requests per time slice by outcome, with the faults of each slice: the
    journeys keep going, or not."""
    t0, t1 = timeline["load"]["start"], timeline["load"]["end"]
    slices: dict[int, Counter] = defaultdict(Counter)
    for row in rows:
        s = row["status"]
        kind = "none" if s == 0 else "5xx" if s >= 500 else "4xx" if s >= 400 else "ok"
        if row["detail"].startswith("sent to /accounts/"):
            kind = "signed out"
        slices[int((row["start"] - t0) // bucket)][kind] += 1
    head = f"{'from s':>6} {'requests':>8} {'2xx/3xx':>8} {'4xx':>5} {'5xx':>5} {'no answer':>9} {'signed out':>10}  faults"
    out = [head]
    for i in range(int((t1 - t0) // bucket) + 1):
        c = slices.get(i, Counter())
        lo, hi = t0 + i * bucket, t0 + (i + 1) * bucket
        here = [f["label"] for f in timeline["faults"] if f["start"] < hi and f["end"] >= lo]
        out.append(
            f"{i * bucket:>6.0f} {sum(c.values()):>8} {c['ok']:>8} {c['4xx']:>5} {c['5xx']:>5} "
            f"{c['none']:>9} {c['signed out']:>10}  {'; '.join(here)}"
        )
    return out


# --- Running the checks ------------------------------------------------------------------------


def run_checks(
    database_url: str,
    *,
    since: dt.datetime,
    until: dt.datetime,
    reminder_hours: int = 24,
    running_grace: float = 60.0,
    statuses: Path | None = None,
    timeline: Path | None = None,
) -> Report:
    import psycopg

    report = Report()
    faults = json.loads(timeline.read_text(encoding="utf-8")) if timeline else None
    killed = {}
    for fault in (faults or {}).get("faults", []):
        for pk in re.findall(r"\(([0-9a-f-]{36})\)", fault["detail"]):
            killed[pk] = f"its worker killed at +{fault['start'] - faults['load']['start']:.1f} s"
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        check_shifts(conn, report)
        check_credits(conn, report)
        check_offers(conn, report)
        check_notifications(conn, report, since, until)
        check_reminders(conn, report, since, until, reminder_hours)
        check_tasks(conn, report, since, until, running_grace, killed)
    if statuses and faults:
        check_http(report, read_statuses(statuses), faults)
    return report


def _time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url", nargs="?", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--since", type=_time, default=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    parser.add_argument("--until", type=_time, default=None, help="the end of the load (now)")
    parser.add_argument(
        "--reminder-hours",
        type=int,
        default=int(os.environ.get("MEETING_REMINDER_HOURS", "24")),
        help="the portal's MEETING_REMINDER_HOURS (24)",
    )
    parser.add_argument("--running-grace", type=float, default=60.0, help="seconds (60)")
    parser.add_argument("--statuses", type=Path, help="the status log (LOADTEST_STATUS_CSV)")
    parser.add_argument("--timeline", type=Path, help="the fault timeline (faults.py)")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give a database URL (or set DATABASE_URL)")
    report = run_checks(
        args.database_url,
        since=args.since,
        until=args.until or dt.datetime.now(dt.UTC),
        reminder_hours=args.reminder_hours,
        running_grace=args.running_grace,
        statuses=args.statuses,
        timeline=args.timeline,
    )
    print("\n".join(report.lines))
    print(f"\n{'FAILED: ' + ', '.join(report.failed) if report.failed else 'all invariants hold'}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
