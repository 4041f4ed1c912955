"""What indexing character bigrams costs the embedded search (SQLite), on the small
demo plus the 26 policy paragraphs of tests/search/data as notices: index size
(full-text index blocks, token text) and query latency, with bigrams and without
(the index as it was: jieba's words only, the query matched by words only).

    .venv/bin/python bench/search_bigrams.py [--runs 20]

Uses its own database file ($BENCH_DB, default /tmp/tongxin-bigrams.sqlite3,
rebuilt from scratch). Writes bench/results/search_bigrams.txt."""

import argparse
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, RESULTS, ROOT, env_for, machine, setup_django  # noqa: E402

QUERIES = (
    "党员",
    "社区",
    "网格",
    "志愿服务",
    "党日",
    "三会",
    "党建共建",
    "共建",
    "网格化治理",
    "老旧小区 加装电梯",
    "晓园新村3号楼",
    "望湖小区4栋501",
    "邓娜倩",
    "低保户",
    "party branch",
)


def measure(runs):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from search.models import SearchEntry
    from search.query import search

    user = get_user_model().objects.get(username="district")
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(length(block)), 0) FROM search_fts_data")
        fts_bytes = cursor.fetchone()[0]
    entries = SearchEntry.objects.all()
    token_chars = sum(
        len(e.title_tokens) + len(e.summary_tokens) + len(e.body_tokens)
        for e in entries.only("title_tokens", "summary_tokens", "body_tokens")
    )
    rows = []
    for text in QUERIES:
        for _ in range(3):
            search(user=user, text=text)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            page = search(user=user, text=text)
            times.append((time.perf_counter() - start) * 1000)
        rows.append((text, page.results.total, statistics.median(times), max(times)))
    return {"entries": entries.count(), "fts": fts_bytes, "chars": token_chars, "rows": rows}


def rebuild():
    from django.core.management import call_command

    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    import os

    path = os.environ.get("BENCH_DB", "/tmp/tongxin-bigrams.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)
    env = env_for(path)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [PYTHON, "manage.py", "load_demo"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    setup_django(path)
    from django.utils import translation

    from branches.models import GridBranchPage
    from tests.search import policy_queries

    translation.activate("zh-hans")
    policy_queries.load(GridBranchPage.objects.live().first())
    rebuild()
    with_bigrams = measure(args.runs)

    import search.backends.database as database
    import search.query as query

    # The index and queries as they were: words only.
    database.index_bigrams = lambda text: []
    query.query_grams = lambda text: ()
    rebuild()
    words_only = measure(args.runs)

    lines = [
        f"# Bigram indexing cost, small demo + policy notices, {args.runs} timed searches "
        "per query (district administrator, search.query.search() in process, SQLite)",
        f"# {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {machine()}",
        f"documents: {with_bigrams['entries']:,}",
        f"full-text index blocks: words only {words_only['fts'] / 1e6:.2f} MB, with bigrams "
        f"{with_bigrams['fts'] / 1e6:.2f} MB ({with_bigrams['fts'] / words_only['fts']:.2f}x)",
        f"token text: words only {words_only['chars']:,} chars, with bigrams "
        f"{with_bigrams['chars']:,} chars ({with_bigrams['chars'] / words_only['chars']:.2f}x)",
        "",
        f"{'query':<24}{'hits words':>11}{'hits +bigrams':>14}"
        f"{'median ms words':>17}{'median ms +bigrams':>20}{'max ms +bigrams':>17}",
    ]
    for (text, n0, m0, _), (_, n1, m1, x1) in zip(
        words_only["rows"], with_bigrams["rows"], strict=True
    ):
        lines.append(f"{text:<24}{n0:>11,}{n1:>14,}{m0:>17.1f}{m1:>20.1f}{x1:>17.1f}")
    out = "\n".join(lines) + "\n"
    (RESULTS / "search_bigrams.txt").write_text(out, encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
