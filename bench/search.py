"""Portal search at seed scale: full index rebuild time, then query latency for a
fixed mix of ~30 queries as the district administrator and as a branch secretary.
With ``--relevance``: recall@10 of the relevance test set on a fresh small demo,
ours vs Wagtail's stock database backend.

    .venv/bin/python bench/search.py [--runs 20] [--warmup 3] [--skip-rebuild]
    .venv/bin/python bench/search.py --relevance

Uses $BENCH_DB (default /tmp/tongxin-seed.sqlite3), building it with
``load_demo --scale seed`` if it is missing, and migrating it first (a seed
database built before the search app existed has no search tables). Writes
bench/results/search.txt (or bench/results/search_relevance.txt).
"""

import argparse
import datetime as dt
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    PYTHON,
    RESULTS,
    ROOT,
    ensure_seed_db,
    env_for,
    machine,
    percentile,
    setup_django,
)

TARGET_P95_MS = 100.0
RELEVANCE_DB = "/tmp/tongxin-relevance.sqlite3"


def now_line():
    return f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()}"


def manage(path, *args, capture=True):
    start = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env_for(path),
        check=True,
        capture_output=capture,
        text=True,
    )
    return time.perf_counter() - start, proc.stdout if capture else ""


# --- Relevance -------------------------------------------------------------------------------


def relevance():
    for suffix in ("", "-wal", "-shm"):
        Path(RELEVANCE_DB + suffix).unlink(missing_ok=True)
    migrate_s, _ = manage(RELEVANCE_DB, "migrate", "-v0")
    load_s, _ = manage(RELEVANCE_DB, "load_demo")
    # load_demo builds both indexes; make sure of it (cheap at this size).
    manage(RELEVANCE_DB, "update_index", "-v0")
    manage(RELEVANCE_DB, "search_index", "rebuild", "--quiet")
    setup_django(RELEVANCE_DB)
    from django.utils import translation

    from tests.search import relevance_queries as rq

    translation.activate("zh-hans")
    rows = rq.evaluate()
    clean = rq.summary([r for r in rows if not r.query.gap])["overall"]
    text = "\n".join(
        [
            "# Search relevance: recall@10 on the small demo (load_demo, seed 1), district admin",
            now_line(),
            f"database: {RELEVANCE_DB} (migrate {migrate_s:.1f} s, load_demo {load_s:.1f} s)",
            "ours: search.query.search() on the embedded backend (SQLite FTS5 + jieba);",
            "stock: Page.objects.live().search(q, backend='default') (wagtail.search database",
            "backend, page titles) - it indexes pages only, so the comparison is on the unit",
            "pages subset (queries with a unit-page target; ours limited to doc_types=('unit',)).",
            "",
            rq.format_table(rows),
            "",
            f"ours overall without the {sum(1 for r in rows if r.query.gap)} known gaps "
            f"(tests/search/relevance_queries.py GAP_*): {clean['ours']:.3f}",
        ]
    )
    out = RESULTS / "search_relevance.txt"
    out.write_text(text + "\n")
    print(text)
    print(f"\nwritten to {out}")


# --- Latency at seed scale ---------------------------------------------------------------------


def query_mix():
    """~30 queries by class, chosen from the seed data deterministically (names,
    addresses and a phone of the secretary's own branch, so the secretary has hits)."""
    from django.contrib.auth import get_user_model

    from branches.models import Building, Household, Member, Resident
    from portal.models import RoleAssignment

    secretary = get_user_model().objects.get(username="secretary")
    branch = RoleAssignment.objects.get(user=secretary, role="branch_secretary").page
    own = list(Member.objects.filter(branch=branch).order_by("id")[:3])
    building = Building.objects.filter(branch=branch).order_by("id").first()
    room = Household.objects.filter(building=building).order_by("-id").first().room
    elsewhere = Resident.objects.order_by("-id").first()
    return [
        ("common", "党员"),
        ("common", "社区"),
        ("common", "网格"),
        ("common", "老人"),
        ("common", "党支部"),
        ("common", "书记"),
        ("name", own[0].name),
        ("name", own[1].name),
        ("name", elsewhere.name),
        ("name", own[2].name[0]),  # a surname
        ("name", "王"),
        ("address", "3号楼2单元"),
        ("address", "3栋2单元"),
        ("address", f"{building.estate}{building.name}"),
        ("address", f"{building.estate}{building.name}{room}"),
        ("address", "5栋1单元501"),
        ("number", "501"),
        ("number", "0101"),
        ("number", "010203"),
        ("number", own[0].phone[-4:]),
        ("rare", "低保户"),
        ("rare", "残疾人"),
        ("rare", "市自来水公司"),
        ("rare", "党员示范岗"),
        ("rare", "专属网格"),
        ("rare", "Demonstration District"),
        ("rare", "实验小学"),
        ("lookup", own[0].phone),
        ("lookup", own[1].id_number),
    ]


def run_query(user, text):
    from search.query import search

    user.__dict__.pop("_tongxin_scope", None)  # one scope computation per request
    start = time.perf_counter()
    page = search(user=user, text=text)
    return time.perf_counter() - start, page.results.total


def measure(user, text, runs, warmup):
    for _ in range(warmup):
        run_query(user, text)
    times, total = [], 0
    for _ in range(runs):
        t, total = run_query(user, text)
        times.append(t * 1000)
    return times, total


def explain(user, text):
    """EXPLAIN QUERY PLAN of every SQL statement one search issues."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        run_query(user, text)
    out = []
    with connection.cursor() as cursor:
        for q in ctx.captured_queries:
            sql = q["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            t0 = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            ms = (time.perf_counter() - t0) * 1000
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = [row[-1] for row in cursor.fetchall()]
            out.append((ms, sql, plan))
    return out


def latency(args):
    path, built = ensure_seed_db()
    lines = []
    if built:
        lines.append(f"seed database built: load {built['load_s']:.1f} s")
    migrate_s, _ = manage(path, "migrate", "-v0")
    lines.append(f"migrate (adds the search tables if missing): {migrate_s:.1f} s")
    rebuild_line = ""
    if not args.skip_rebuild:
        print("timing manage.py search_index rebuild …", flush=True)
        rebuild_s, out = manage(path, "search_index", "rebuild", "--quiet")
        m = re.search(r"rebuild: ([\d,]+) documents in ([\d.]+) s", out)
        docs, inner = int(m.group(1).replace(",", "")), float(m.group(2))
        rebuild_line = (
            f"search_index rebuild: {docs:,} documents, {rebuild_s:.1f} s wall "
            f"(incl. Django start-up; command's own figure {inner:.1f} s), "
            f"{docs / inner:,.0f} documents/s"
        )
        print(rebuild_line, flush=True)
        (RESULTS / "search_rebuild.txt").write_text(f"{now_line()}\n{rebuild_line}\n")
    elif (RESULTS / "search_rebuild.txt").exists():
        earlier = (RESULTS / "search_rebuild.txt").read_text().splitlines()
        rebuild_line = f"{earlier[1]}  [measured earlier: {earlier[0].lstrip('# ')}]"
    setup_django(path)

    from django.contrib.auth import get_user_model
    from django.utils import translation

    from search.backends import get_backend

    translation.activate("zh-hans")
    counts = get_backend().count()
    User = get_user_model()
    from django.contrib.auth.models import AnonymousUser

    # A member and a visitor search the public records only, with past shifts
    # and activities held back (the history filter): another query path.
    users = {
        "district": User.objects.get(username="district"),
        "secretary": User.objects.get(username="secretary"),
        "member": User.objects.get(username="member"),
        "anonymous": AnonymousUser(),
    }
    mix = query_mix()
    baseline_text = "zzqxjv"  # a word no document has: the fixed cost of one search
    results = []  # (user, class, text, total, times)
    for name, user in users.items():
        times, _ = measure(user, baseline_text, args.runs, args.warmup)
        results.append((name, "baseline", baseline_text, 0, times))
        for cls, text in mix:
            times, total = measure(user, text, args.runs, args.warmup)
            results.append((name, cls, text, total, times))
            shown = text if cls != "lookup" else "<lookup value>"
            print(
                f"{name:<10} {cls:<8} {shown[:24]:<24} {statistics.median(times):7.1f} ms "
                f"p95 {percentile(times, 95):7.1f} ms  {total:>7,} hits",
                flush=True,
            )

    report = [
        f"# Search at seed scale ({args.runs} timed searches per query and user after "
        f"{args.warmup} warm-up; search.query.search() in process, embedded backend, "
        "portal.settings.dev)",
        now_line(),
        f"database: {path}",
        *lines,
    ]
    if rebuild_line:
        report.append(rebuild_line)
    report.append("documents in the index: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    report.append(
        "clear values (full phone / ID number) in the lookup queries are not written here"
    )
    report.append("")
    report.append(
        f"{'user':<10} {'class':<9} {'query':<26} {'hits':>8} {'median ms':>10} {'p95 ms':>8}"
    )
    baseline = {}
    for name, cls, text, total, times in results:
        shown = text if cls != "lookup" else f"<{len(text)}-digit value>"
        if cls == "baseline":
            baseline[name] = statistics.median(times)
            shown = f"{text} (no match)"
        report.append(
            f"{name:<10} {cls:<9} {shown[:26]:<26} {total:>8,} "
            f"{statistics.median(times):10.1f} {percentile(times, 95):8.1f}"
        )
    report += ["", "by class (all timed searches pooled)"]
    report.append(
        f"{'user':<10} {'class':<9} {'n':>5} {'median ms':>10} {'p95 ms':>8}  p95 / baseline median"
    )
    slow = []
    for name in users:
        classes = list(dict.fromkeys(c for _, c, *_ in results))
        pooled_all = []
        for cls in classes + ["overall"]:
            if cls == "overall":
                pooled = pooled_all
            else:
                pooled = [t for n, c, _, _, ts in results if n == name and c == cls for t in ts]
                if cls != "baseline":
                    pooled_all.extend(pooled)
            p95 = percentile(pooled, 95)
            report.append(
                f"{name:<10} {cls:<9} {len(pooled):>5} {statistics.median(pooled):10.1f} "
                f"{p95:8.1f}  x{p95 / baseline[name]:.1f}"
            )
        for n, cls, text, total, times in results:
            if n == name and cls != "baseline" and percentile(times, 95) > TARGET_P95_MS:
                slow.append((name, cls, text, total, percentile(times, 95)))
    report.append("")
    report.append(f"target (not an assertion): p95 < {TARGET_P95_MS:.0f} ms per query")
    if slow:
        report.append(f"{len(slow)} query/user pairs miss it:")
        for name, cls, text, total, p95 in slow:
            shown = text if cls != "lookup" else "<lookup value>"
            report.append(f"  {name:<10} {cls:<8} {shown:<26} p95 {p95:7.1f} ms  {total:,} hits")
        report += ["", "EXPLAIN QUERY PLAN of the slowest query per user (statement time, plan):"]
        for name in users:
            worst = max((s for s in slow if s[0] == name), key=lambda s: s[4], default=None)
            if worst is None:
                continue
            report.append(f"-- {name}: {worst[2] if worst[1] != 'lookup' else '<lookup>'}")
            for ms, sql, plan in explain(users[name], worst[2]):
                report.append(f"   {ms:7.1f} ms  {sql[:300]}")
                report.extend(f"              {step}" for step in plan)
    else:
        report.append("every query meets it")
    text = "\n".join(report)
    out = RESULTS / "search.txt"
    out.write_text(text + "\n")
    print("\n" + text)
    print(f"\nwritten to {out}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--skip-rebuild", action="store_true", help="time the queries only")
    parser.add_argument(
        "--relevance", action="store_true", help="recall@10 on a fresh small demo instead"
    )
    args = parser.parse_args()
    if args.relevance:
        relevance()
    else:
        latency(args)


if __name__ == "__main__":
    main()
