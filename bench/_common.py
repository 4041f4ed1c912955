"""Shared set-up for the benchmarks: the seed-scale SQLite file and Django."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DB = "/tmp/tongxin-seed.sqlite3"
PYTHON = sys.executable


def db_path() -> str:
    return os.environ.get("BENCH_DB", DEFAULT_DB)


def env_for(path: str) -> dict:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings.dev"
    env["DATABASE_URL"] = f"sqlite:///{path}"
    return env


def build_seed_db(path: str, seed: int = 1) -> dict:
    """Create ``path`` from scratch: migrate, then ``load_demo --scale seed``.
    Returns wall times and the command's output."""
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)
    env = env_for(path)
    start = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    migrated = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, "manage.py", "load_demo", "--scale", "seed", "--seed", str(seed)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    done = time.perf_counter()
    return {
        "migrate_s": migrated - start,
        "load_s": done - migrated,
        "output": proc.stdout,
        "size_mb": Path(path).stat().st_size / 1e6,
    }


def ensure_seed_db() -> tuple[str, dict | None]:
    path = db_path()
    built = None
    if not Path(path).exists():
        print(f"{path} is missing: building the seed-scale database (a few minutes)…", flush=True)
        built = build_seed_db(path)
        print(f"built in {built['load_s']:.1f} s (+ {built['migrate_s']:.1f} s migrate)")
    return path, built


def setup_django(path: str) -> None:
    os.environ.update(
        {"DJANGO_SETTINGS_MODULE": "portal.settings.dev", "DATABASE_URL": f"sqlite:///{path}"}
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def machine() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        f"(other work on the machine inflates the times), Python {sys.version.split()[0]}"
    )


def percentile(values, p):
    """The nearest-rank ``p``-th percentile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]
