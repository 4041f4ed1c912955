"""The public tree pages rendered afresh (page cache off), and the pages a
signed-in member opens most, in-process, at seed scale: median time and queries
per page, for this checkout and for earlier revisions side by side, alternating
rounds so that the machine's load falls on each alike. The member is the demo
account ``member`` (a member of a branch, with a building group).

    .venv/bin/python bench/tree_pages.py [--ref REV ...] [--runs 20] [--rounds 2]

Runs against $DATABASE_URL (the load test's seed-scale PostgreSQL database by
default, with its keys from loadtest/.state/keys.env; or a seed SQLite file).
``--ref`` checks REV out into a temporary worktree and measures it on the same
database (it must need no other migrations). Writes bench/results/tree_pages.txt.
"""

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, RESULTS, ROOT, machine  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tongxin_seed"
KEYS = ROOT / "loadtest" / ".state" / "keys.env"

# Run inside the checkout being measured (its own code on sys.path).
MEASURE = r"""
import json, os, statistics, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
import django
django.setup()
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from branches.models import BuildingGroupPage, GridBranchPage, GridPage

settings.TONGXIN_PAGE_CACHE = False
runs = int(sys.argv[1])
branch = GridBranchPage.objects.live().order_by("path")[300]
urls = {
    "district home": "/",
    "level-1 grid": GridPage.objects.live().filter(level="1").order_by("path").first().url,
    "level-3 grid": GridPage.objects.live().filter(level="3").order_by("path")[300].url,
    "branch": branch.url,
    "building group": BuildingGroupPage.objects.live().filter(path__startswith=branch.path).first().url,
    "branch notices/": branch.url + "notices/",
    "branch calendar/": branch.url + "calendar/",
    "branch calendar/ics/": branch.url + "calendar/ics/",
}
from django.contrib.auth import get_user_model
member = get_user_model().objects.get(username="member")
signed_in = Client()
signed_in.force_login(member)
urls.update({
    "member: /me/": "/me/",
    "member: /me/notices/": "/me/notices/",
    "member: /me/service/": "/me/service/",
    "member: /volunteer/": "/volunteer/",
    "member: own branch": member.member.branch.url,
})
out = {}
for name, url in urls.items():
    client = signed_in if name.startswith("member:") else Client()
    for _ in range(3):
        client.get(url, HTTP_HOST="127.0.0.1")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, HTTP_HOST="127.0.0.1")
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, HTTP_HOST="127.0.0.1")
    out[name] = [response.status_code, times, len(queries)]
print(json.dumps(out))
"""


def environment() -> dict:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if KEYS.exists():
        for line in KEYS.read_text().splitlines():
            name, _, value = line.partition("=")
            if name and not line.startswith("#"):
                env.setdefault(name.strip(), value.strip())
    return env


def measure(tree: Path, runs: int) -> dict:
    script = Path(tempfile.gettempdir()) / "tongxin_tree_pages_measure.py"
    script.write_text(MEASURE)
    env = environment() | {"PYTHONPATH": str(tree)}
    done = subprocess.run(
        [PYTHON, str(script), str(runs)],
        cwd=tree, env=env, capture_output=True, text=True, check=True, timeout=1800,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", action="append", default=[], help="an earlier revision")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    trees, worktrees = {"this checkout": ROOT}, []
    for ref in args.ref:
        tree = Path(tempfile.mkdtemp(prefix="tongxin-bench-"))
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(tree), ref], cwd=ROOT, check=True
        )
        worktrees.append(tree)
        trees[ref] = tree
    samples = {label: {} for label in trees}
    try:
        for _ in range(args.rounds):
            for label, tree in trees.items():
                for page, (status, times, queries) in measure(tree, args.runs).items():
                    entry = samples[label].setdefault(page, {"status": status, "times": []})
                    entry["times"] += times
                    entry["queries"] = queries
    finally:
        for tree in worktrees:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)

    labels = list(trees)
    head = labels[0]
    lines = [
        "# Public tree pages rendered afresh (page cache off) and a signed-in member's pages,",
        "# in-process django.test.Client,",
        f"# {args.rounds} rounds x {args.runs} timed requests per page and revision, alternating",
        f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()}",
        f"database: {environment()['DATABASE_URL'].rsplit('@', 1)[-1]}",
        "",
        f"{'page':<26}"
        + "".join(f"{label[:14]:>16} ms {'q':>4}" for label in labels)
        + (f"{'ratio':>8}" if len(labels) > 1 else ""),
    ]
    for page in samples[head]:
        row = f"{page:<26}"
        medians = []
        for label in labels:
            entry = samples[label][page]
            medians.append(statistics.median(entry["times"]))
            row += f"{medians[-1]:>19.1f} {entry['queries']:>4}"
        if len(labels) > 1:
            row += f"{medians[0] / medians[1]:>8.2f}"
        lines.append(row)
    if len(labels) > 1:
        lines.append(f"\nratio: median of this checkout / median of {labels[1]}")
    text = "\n".join(lines) + "\n"
    (RESULTS / "tree_pages.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
