"""Recall@10 of both relevance sets of the portal search — the demo set
(tests/search/relevance_queries.py) and the real-text policy set
(tests/search/policy_queries.py) — on SQLite and, with --postgres URL, on
PostgreSQL, by running their tests with ``-s`` and keeping the printed tables.

    .venv/bin/python bench/search_relevance_sets.py [--postgres postgres://…/tongxin_x]

Writes bench/results/search_relevance_sets.txt. Elasticsearch has no server here:
its analyzers and query bodies are asserted offline (tests/search/test_elastic_offline.py)."""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, machine  # noqa: E402

TESTS = (
    "tests/search/test_relevance.py::test_overall_recall_and_comparison",
    "tests/search/test_policy_relevance.py::test_overall_recall_at_10",
)


def run(database_url):
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    proc = subprocess.run(
        [str(ROOT / ".venv/bin/pytest"), *TESTS, "-q", "-s", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    out = proc.stdout
    # Keep the tables, drop pytest's progress dots.
    lines = [line for line in out.splitlines() if not re.fullmatch(r"[.FsxX]+( \[\d+%\])?", line)]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="", help="DATABASE_URL of a PostgreSQL database")
    args = parser.parse_args()
    parts = [
        "# Recall@10 of both relevance sets (pytest -s of their overall tests)",
        f"# {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {machine()}",
    ]
    for name, url in (("SQLite", ""), ("PostgreSQL", args.postgres)):
        if name == "PostgreSQL" and not url:
            continue
        parts += ["", f"=== {name} ===", run(url)]
    out = "\n".join(parts) + "\n"
    (RESULTS / "search_relevance_sets.txt").write_text(out, encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
