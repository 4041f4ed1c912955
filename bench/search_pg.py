"""Portal search on PostgreSQL at seed scale, before and after the embedded backend
answered visibility and filters from the index (``ftsv``, search/migrations/0005)
and facets and page in one statement.

    .venv/bin/python bench/search_pg.py [--runs 20] [--warmup 3] [--ref HEAD]
                                        [--source tongxin_seed] [--copy tongxin_search]
                                        [--reuse] [--keep]

Works on a copy of the load test's seed-scale database (loadtest/run.py), never on
the database itself: waits until nobody is connected to --source (a load test may be
using it), copies it (``CREATE DATABASE … TEMPLATE``) to --copy, migrates the copy's
search app (the time of 0005 is reported), measures, and drops the copy at the end
(--keep keeps it; --reuse measures an existing, migrated copy). Django runs in process
with portal.settings.dev, as bench/search.py, and the load test's keys
(loadtest/.state/keys.env, or $LOADTEST_KEYS): a user's scope reads their member
record, whose private fields were encrypted with them. No key is printed.

"Before" is the backend of --ref (its search/backends/database.py from git, which
filters by columns and counts facets in a statement of its own), "after" the working
tree's, on the same migrated copy, timed alternately for each user and query
(``search.query.search()``: scope, state, the search statements and highlighting).
Reported per query: hits, median and p95 of both, SQL statements per search, and
whether both give the same total, facets and first page; then the p95 of each query
class per user, and EXPLAIN (ANALYZE, BUFFERS) of the search statements of a common
word. Output: bench/results/search_pg.txt.
"""

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, RESULTS, ROOT, machine, percentile  # noqa: E402

TARGET_P95_MS = 100.0
SERVER = "postgres://postgres@127.0.0.1:5432"
KEYS = Path(os.environ.get("LOADTEST_KEYS", ROOT / "loadtest" / ".state" / "keys.env"))
KEY_NAMES = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "FIELD_HASH_KEY")
USERS = ("anonymous", "member", "leader", "gridworker", "secretary", "coordinator", "district")
EXPLAINED = (("anonymous", "党员"), ("secretary", "党员"), ("district", "党员"))


def queries(level1_path):
    """(class, text, search() keywords)."""
    return [
        ("common", "党员", {}),
        ("common", "志愿", {}),
        ("common", "社区", {}),
        ("common", "网格", {}),
        ("rare", "实验小学", {}),
        ("rare", "市自来水公司", {}),
        ("rare", "低保户", {}),
        ("type", "党员", {"doc_types": ("member",)}),
        ("type", "社区", {"doc_types": ("unit",)}),
        ("grid", "党员", {"grid_path": level1_path}),
        ("page 5", "社区", {"page": 5}),
    ]


def now_line():
    return f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()}"


# --- The copy -----------------------------------------------------------------------------------


def keys() -> dict:
    if not KEYS.exists():
        raise SystemExit(f"{KEYS} is missing: the seed database's keys (see loadtest/run.py)")
    found = {}
    for line in KEYS.read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if name.strip() in KEY_NAMES:
            found[name.strip()] = value.strip()
    return found


def server(sql, params=(), fetch=False):
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if fetch else None


def sessions(name) -> int:
    return server("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name], fetch=True)[
        0
    ][0]


def exists(name) -> bool:
    return bool(server("SELECT 1 FROM pg_database WHERE datname = %s", [name], fetch=True))


def copy_database(source, copy, wait_minutes):
    from psycopg import sql

    deadline = time.monotonic() + wait_minutes * 60
    while sessions(source):
        if time.monotonic() > deadline:
            raise SystemExit(f"{source} still has sessions after {wait_minutes} min")
        print(f"{source} is in use: waiting …", flush=True)
        time.sleep(15)
    start = time.perf_counter()
    server(
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(copy), sql.Identifier(source)
        )
    )
    return time.perf_counter() - start


def migrate(env):
    start = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", "migrate", "search", "-v0"], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


# --- Measuring ----------------------------------------------------------------------------------


def backend_at(ref):
    """The embedded backend as it was at ``ref``, loaded from git under another name."""
    path = "search/backends/database.py"
    source = subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("bench_search_database_before")
    module.__file__ = f"{ref}:{path}"
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
    return module.DatabaseBackend()


def run(backend, user, text, kwargs):
    import search.query

    search.query.get_backend = lambda: backend
    user.__dict__.pop("_tongxin_scope", None)  # one scope computation per request
    start = time.perf_counter()
    page = search.query.search(user=user, text=text, **kwargs)
    return (time.perf_counter() - start) * 1000, page.results


def outcome(results):
    return (
        results.total,
        dict(sorted(results.facets.items())),
        [(h.doc_type, h.object_id) for h in results.hits],
    )


def statements(backend, user, text, kwargs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # DEBUG's query log keeps the last 9,000 statements: once full, a capture
    # would see none.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as ctx:
        run(backend, user, text, kwargs)
    return [q["sql"] for q in ctx.captured_queries]


def explain(backend, user, text):
    from django.db import connection

    out = []
    with connection.cursor() as cursor:
        for sql in statements(backend, user, text, {}):
            if "search_searchentry" not in sql:
                continue  # the search state row
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            out.append((sql, [row[0] for row in cursor.fetchall()]))
    return out


def measure(args, env):
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser
    from django.db import connection
    from django.utils import translation

    from portal.models import RoleAssignment
    from search.backends import get_backend

    translation.activate("zh-hans")
    User = get_user_model()
    users = {name: User.objects.get(username=name) for name in USERS if name != "anonymous"}
    users["anonymous"] = AnonymousUser()
    branch = RoleAssignment.objects.get(user=users["secretary"], role="branch_secretary").page
    mix = queries(branch.path[:12])
    before, after = backend_at(args.ref), get_backend()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE public) FROM search_searchentry")
        entries, public = cursor.fetchone()
    rows = []
    for name in USERS:
        user = users[name]
        for cls, text, kwargs in mix:
            for _ in range(args.warmup):
                run(before, user, text, kwargs)
                run(after, user, text, kwargs)
            old_times, new_times = [], []
            for _ in range(args.runs):
                ms, old = run(before, user, text, kwargs)
                old_times.append(ms)
                ms, new = run(after, user, text, kwargs)
                new_times.append(ms)
            row = {
                "user": name,
                "class": cls,
                "query": text + "".join(f" {k}={v}" for k, v in kwargs.items()),
                "hits": new.total,
                "before": old_times,
                "after": new_times,
                "n_before": len(statements(before, user, text, kwargs)),
                "n_after": len(statements(after, user, text, kwargs)),
                "same": outcome(old) == outcome(new),
            }
            rows.append(row)
            print(
                f"{name:<11} {cls:<7} {row['query'][:22]:<22} {row['hits']:>7,} hits  "
                f"before {statistics.median(old_times):6.1f} / {percentile(old_times, 95):6.1f}"
                f"  after {statistics.median(new_times):6.1f} / {percentile(new_times, 95):6.1f}"
                f" ms  {'same' if row['same'] else 'DIFFERENT'}",
                flush=True,
            )
    plans = [(name, text, explain(before, users[name], text)) for name, text in EXPLAINED]
    plans_after = [(name, text, explain(after, users[name], text)) for name, text in EXPLAINED]
    sizes = {}
    with connection.cursor() as cursor:
        for index in ("search_searchentry_tsv", "search_searchentry_ftsv"):
            cursor.execute("SELECT pg_size_pretty(pg_relation_size(%s::regclass))", [index])
            sizes[index] = cursor.fetchone()[0]
    connection.close()
    return rows, plans, plans_after, entries, public, sizes


def report(args, rows, plans, plans_after, entries, public, sizes, lines):
    out = [
        f"# Search on PostgreSQL at seed scale, before ({args.ref}: column filters, facets "
        "and page in two statements) and after (filter words in ftsv, one statement)",
        f"# {args.runs} timed searches per query, user and backend, alternately, after "
        f"{args.warmup} warm-up each; search.query.search() in process, portal.settings.dev",
        now_line(),
        *lines,
        f"index: {entries:,} entries ({public:,} public); GIN tsv {sizes['search_searchentry_tsv']}"
        f", GIN ftsv {sizes['search_searchentry_ftsv']}",
        "stmts: SQL statements of one search, before → after (the user's scope, the index "
        "state, then the search's own); same: total, facets and first page identical",
        "",
        f"{'user':<11} {'class':<7} {'query':<34} {'hits':>7} {'before ms':>15} "
        f"{'after ms':>15} {'stmts':>6}  same",
        f"{'':<11} {'':<7} {'':<34} {'':>7} {'median':>7} {'p95':>7} {'median':>7} {'p95':>7}",
    ]
    for r in rows:
        out.append(
            f"{r['user']:<11} {r['class']:<7} {r['query'][:34]:<34} {r['hits']:>7,} "
            f"{statistics.median(r['before']):7.1f} {percentile(r['before'], 95):7.1f} "
            f"{statistics.median(r['after']):7.1f} {percentile(r['after'], 95):7.1f} "
            f"{r['n_before']:>2} → {r['n_after']:<2} {'yes' if r['same'] else 'NO'}"
        )
    out += ["", "by class (all timed searches pooled): p95 ms before → after"]
    classes = list(dict.fromkeys(r["class"] for r in rows))
    out.append(f"{'user':<11} " + " ".join(f"{c:>17}" for c in classes))
    for name in USERS:
        cells = []
        for cls in classes:
            chosen = [r for r in rows if r["user"] == name and r["class"] == cls]
            old = [t for r in chosen for t in r["before"]]
            new = [t for r in chosen for t in r["after"]]
            cells.append(f"{percentile(old, 95):7.1f} → {percentile(new, 95):6.1f}")
        out.append(f"{name:<11} " + " ".join(f"{c:>17}" for c in cells))
    slow = [r for r in rows if percentile(r["after"], 95) > TARGET_P95_MS]
    out.append("")
    out.append(f"target (not an assertion): p95 < {TARGET_P95_MS:.0f} ms per query, after")
    if slow:
        out.append(f"{len(slow)} query/user pairs miss it:")
        for r in slow:
            out.append(
                f"  {r['user']:<11} {r['query']:<34} p95 {percentile(r['after'], 95):7.1f} ms"
                f"  {r['hits']:,} hits"
            )
    else:
        out.append("every query meets it")
    different = [r for r in rows if not r["same"]]
    out.append(
        "before and after give the same total, facets and first page for every query"
        if not different
        else f"{len(different)} queries differ between before and after: "
        + ", ".join(f"{r['user']} {r['query']}" for r in different)
    )
    for title, explained in (("before", plans), ("after", plans_after)):
        out += ["", f"EXPLAIN (ANALYZE, BUFFERS), {title}:"]
        for name, text, statements_ in explained:
            for sql, plan in statements_:
                out.append(f"-- {name}: {text}: {sql[:160]}…")
                out.extend(f"   {line}" for line in plan)
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--ref", default="HEAD", help="git revision of the 'before' backend")
    parser.add_argument("--source", default="tongxin_seed")
    parser.add_argument("--copy", default="tongxin_search")
    parser.add_argument("--wait", type=float, default=60, help="minutes to wait for --source")
    parser.add_argument("--reuse", action="store_true", help="measure an existing copy")
    parser.add_argument("--keep", action="store_true", help="do not drop the copy")
    args = parser.parse_args()
    if args.copy == args.source:
        raise SystemExit("--copy must differ from --source: the source is never migrated")
    env = dict(os.environ)
    env.update(keys())
    env.update(
        {"DJANGO_SETTINGS_MODULE": "portal.settings.dev", "DATABASE_URL": f"{SERVER}/{args.copy}"}
    )
    lines = []
    if exists(args.copy) and not args.reuse:
        raise SystemExit(f"{args.copy} exists: drop it (dropdb {args.copy}) or pass --reuse")
    if not exists(args.copy):
        seconds = copy_database(args.source, args.copy, args.wait)
        lines.append(f"database: {args.copy}, a copy of {args.source} ({seconds:.1f} s)")
    else:
        lines.append(f"database: {args.copy} (reused)")
    seconds = migrate(env)
    lines.append(f"manage.py migrate search (0005 when not yet applied): {seconds:.1f} s")
    try:
        rows, plans, plans_after, entries, public, sizes = measure(args, env)
    finally:
        if not args.keep:
            from psycopg import sql

            server(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.copy))
            )
            print(f"dropped {args.copy}")
    text = report(args, rows, plans, plans_after, entries, public, sizes, lines)
    path = RESULTS / "search_pg.txt"
    path.write_text(text + "\n")
    print("\n" + text)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
