"""Time ``load_demo --scale seed`` on a fresh SQLite file.

    .venv/bin/python bench/seed_load.py [--seed 1]

Writes bench/results/seed_load.txt and leaves the database at
$BENCH_DB (default /tmp/tongxin-seed.sqlite3) for bench/pages.py.
"""

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, build_seed_db, db_path, machine  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    path = db_path()
    print(f"building {path} …", flush=True)
    result = build_seed_db(path, seed=args.seed)
    lines = [
        f"# load_demo --scale seed --seed {args.seed} on a fresh SQLite file",
        f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()}",
        f"database: {path} ({result['size_mb']:.0f} MB after load)",
        f"migrate (empty database):  {result['migrate_s']:8.1f} s",
        f"load_demo --scale seed:    {result['load_s']:8.1f} s (wall, incl. Django start-up)",
        "",
        "load_demo output (phases, counts, accounts):",
        result["output"].rstrip(),
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "seed_load.txt"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
