"""gunicorn's settings for the portal: `gunicorn portal.wsgi` reads this file
from the directory it starts in. Command-line options still win over it."""

import gc
import glob
import os

from prometheus_client import multiprocess

_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

# Where to listen. Behind nginx or a load balancer on the same machine keep the
# loopback address; GUNICORN_BIND=0.0.0.0:8000 when the proxy is elsewhere.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# One process per core the process may use. A worker holds about 225 MB
# (Wagtail, jieba's dictionary), so gunicorn's usual 2 × cores + 1 would cost
# memory rather than add throughput. WEB_CONCURRENCY overrides.
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
workers = int(os.environ.get("WEB_CONCURRENCY", _cores or 1))

# Plain synchronous workers: the app is WSGI and its requests are short; slow
# clients are buffered by the proxy in front.
worker_class = "sync"

# A request still running after 30 s is killed (its worker is restarted) rather
# than holding a worker for ever.
timeout = 30

# Workers are not replaced after a number of requests by default: a worker takes
# seconds to start (jieba's dictionary), and the page cache answers a thousand
# requests a second, so a limit would restart workers every few seconds under
# load, together. GUNICORN_MAX_REQUESTS sets one (with 10% jitter) if memory
# ever grows; with PROMETHEUS_MULTIPROC_DIR each replaced worker leaves its
# metric files until gunicorn restarts, and /metrics reads them all.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10

# The app (and jieba's dictionary, the bulk of a worker's memory) is loaded once
# in the master and shared by the workers it forks, instead of once per worker.
preload_app = True

# No access log: the app writes one line per request itself (the tongxin.requests
# logger), with the request id and without query strings.
accesslog = None


def on_starting(server):
    """Start the metrics of a new run from zero: remove the files an earlier run
    left in PROMETHEUS_MULTIPROC_DIR (prometheus_client requires this)."""
    if _metrics_dir:
        os.makedirs(_metrics_dir, exist_ok=True)
        for path in glob.glob(os.path.join(_metrics_dir, "*.db")):
            os.remove(path)


def when_ready(server):
    """Before the first worker is forked: load jieba's dictionary here, so every
    worker shares it, and move what is loaded out of the garbage collector's
    reach (its scans would touch, and so copy, the shared pages in each worker)."""
    from search.text import jieba_ready

    jieba_ready()
    gc.freeze()


def child_exit(server, worker):
    """A worker ended: drop its live gauges from what /metrics adds up."""
    if _metrics_dir:
        multiprocess.mark_process_dead(worker.pid)
