"""Response time and query count of public pages and of the Wagtail admin for the
demo branch secretary, at seed scale, against baselines in the same run.

    .venv/bin/python bench/pages.py [--runs 30] [--warmup 3]

Uses $BENCH_DB (default /tmp/tongxin-seed.sqlite3), building it with
``load_demo --scale seed`` if it is missing. Writes bench/results/pages.txt.
"""

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ensure_seed_db, machine, setup_django  # noqa: E402


def measure(client, url, runs, warmup):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(url)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    return {
        "status": response.status_code,
        "median_ms": statistics.median(times) * 1000,
        "p90_ms": sorted(times)[int(len(times) * 0.9) - 1] * 1000,
        "queries": len(ctx.captured_queries),
        "bytes": len(response.content),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    path, built = ensure_seed_db()
    setup_django(path)

    from django.contrib.auth import get_user_model
    from django.test import Client
    from wagtail.models import GroupPagePermission, Page

    from branches.models import GridBranchPage, GridPage, Member
    from portal.models import RoleAssignment

    User = get_user_model()
    secretary = User.objects.get(username="secretary")
    district_user = User.objects.get(username="district")
    branch = RoleAssignment.objects.get(user=secretary, role="branch_secretary").page.specific
    level3 = branch.get_parent().specific
    level1 = GridPage.objects.filter(level="1").order_by("path").first()
    home = Page.objects.get(depth=2)

    anon = Client(HTTP_HOST="localhost")
    sec = Client(HTTP_HOST="localhost")
    sec.force_login(secretary)
    dist = Client(HTTP_HOST="localhost")
    dist.force_login(district_user)

    cases = [
        # (label, client, url, baseline label or None)
        ("trivial: /admin/login/ redirect (anonymous)", anon, "/admin/login/", None),
        ("public: district home /", anon, home.url, "trivial: /admin/login/ redirect (anonymous)"),
        (
            f"public: level-1 grid ({level1.get_children().count()} children)",
            anon,
            level1.url,
            "trivial: /admin/login/ redirect (anonymous)",
        ),
        (
            f"public: level-3 grid ({level3.get_children().count()} children)",
            anon,
            level3.url,
            "trivial: /admin/login/ redirect (anonymous)",
        ),
        (
            "public: branch page (secretary's branch)",
            anon,
            branch.url,
            "trivial: /admin/login/ redirect (anonymous)",
        ),
        ("district admin: dashboard /admin/", dist, "/admin/", None),
        ("secretary: dashboard /admin/", sec, "/admin/", "district admin: dashboard /admin/"),
        ("district admin: explorer of the branch", dist, f"/admin/pages/{branch.pk}/", None),
        (
            "secretary: explorer of the branch",
            sec,
            f"/admin/pages/{branch.pk}/",
            "district admin: explorer of the branch",
        ),
        ("district admin: root explorer /admin/pages/", dist, "/admin/pages/", None),
        (
            "secretary: root explorer /admin/pages/ (302)",
            sec,
            "/admin/pages/",
            "district admin: root explorer /admin/pages/",
        ),
        (
            f"district admin: explorer of district page ({home.numchild} children)",
            dist,
            f"/admin/pages/{home.pk}/",
            None,
        ),
        ("district admin: member list /admin/members/", dist, "/admin/members/", None),
        (
            "secretary: member list /admin/members/",
            sec,
            "/admin/members/",
            "district admin: member list /admin/members/",
        ),
    ]
    results = {}
    for label, client, url, _ in cases:
        results[label] = measure(client, url, args.runs, args.warmup)
        r = results[label]
        print(f"{label:<62} {r['status']} {r['median_ms']:8.1f} ms {r['queries']:4d} q", flush=True)

    perm_rows = GroupPagePermission.objects.filter(group__user=secretary).count()
    district_rows = GroupPagePermission.objects.filter(group__user=district_user).count()
    lines = [
        f"# Page timings at seed scale ({args.runs} timed requests after {args.warmup} warm-up; "
        "django.test.Client, in-process, DEBUG settings of portal.settings.dev)",
        f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()}",
        f"database: {path}",
        f"tree: {Page.objects.count():,} pages, {GridBranchPage.objects.count():,} branches, "
        f"{Member.objects.count():,} members",
        f"secretary: {secretary.username} (branch_secretary of {branch.title}, page {branch.pk})",
        f"GroupPagePermission rows: secretary {perm_rows}, district admin {district_rows}",
        "",
        f"{'request':<62} {'status':>6} {'median ms':>10} {'p90 ms':>8} {'queries':>8} "
        f"{'KB':>6}  ratio to baseline",
    ]
    for label, _, _url, baseline in cases:
        r = results[label]
        ratio = ""
        if baseline:
            b = results[baseline]
            ratio = f"x{r['median_ms'] / b['median_ms']:.2f} of '{baseline}'"
        lines.append(
            f"{label:<62} {r['status']:>6} {r['median_ms']:>10.1f} {r['p90_ms']:>8.1f} "
            f"{r['queries']:>8} {r['bytes'] / 1024:>6.0f}  {ratio}"
        )
    if built:
        lines += ["", f"(database built for this run: load_demo took {built['load_s']:.1f} s)"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "pages.txt"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
