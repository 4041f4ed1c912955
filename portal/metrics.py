"""What Prometheus scrapes at ``/metrics``, and one log line per request.

- ``RequestMetricsMiddleware`` times every request into
  ``tongxin_http_request_duration_seconds`` (labelled by view, method and status
  class — never by path, which would make a series per URL and could carry
  private values) and writes one line to the ``tongxin.requests`` logger:
  method, path without its query string, status, duration, view, user id.
- ``tongxin_login_failures_total`` counts failed sign-ins (Django's
  ``user_login_failed``, which allauth's sign-in sends too).
- Gauges read from the database when Prometheus scrapes: the background
  tasks waiting for a worker and the age of the oldest, the tasks running, the
  workers alive, the outbox backlog and
  the notifications given up on. Another capability adds its own with
  ``register_gauge`` (from a module its app loads at start-up), without
  editing this one.

Under gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` (see
``gunicorn.conf.py``): each worker then writes its counts to files there and
``/metrics`` adds them up, whichever worker answers the scrape.
"""

import datetime as dt
import hmac
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.encoding import escape_uri_path
from django.utils.functional import LazyObject
from django.views.decorators.cache import never_cache
from django_tasks_db.models import DBTaskResult
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from portal.health import oldest_waiting_task
from portal.log_filters import mask_url_secrets
from portal.models import Notification, WorkerBeat
from portal.notify import MAX_ATTEMPTS

logger = logging.getLogger(__name__)
request_logger = logging.getLogger("tongxin.requests")

# From a fast page (5 ms) to gunicorn's timeout (30 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUEST_DURATION = Histogram(
    "tongxin_http_request_duration_seconds",
    "Time to answer a request, by view, method and status class.",
    ["view", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
LOGIN_FAILURES = Counter(
    "tongxin_login_failures",
    "Failed sign-ins (wrong password or unknown account).",
)

# Any other method (a client can send any token) is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# --- Requests -----------------------------------------------------------------------


def view_label(request, response) -> str:
    """The view that answered, as a label: the URL name, or for a Wagtail page its
    page type (``wagtail_serve:branches.gridbranchpage``); ``page_cache`` for a
    page served from the page cache, ``static`` for a static file, ``unmatched``
    for what a middleware answered before the URL was resolved (a redirect to
    https or to the second factor, a refusal). Paths nothing routes reach
    Wagtail: their 404s count as ``wagtail_serve``."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        if response.get("X-Page-Cache") == "hit":
            return "page_cache"
        return "static" if request.path.startswith(settings.STATIC_URL) else "unmatched"
    if match.view_name == "wagtail_serve":
        # Wagtail keeps the route it served on the request (documented on
        # Page.route_for_request): the page type costs no query.
        route = getattr(request, "_wagtail_route_for_request", None)
        if route:
            return f"wagtail_serve:{route[0]._meta.label_lower}"
    return match.view_name


def method_label(method: str | None) -> str:
    return method if method in METHODS else "other"


def loggable_path(request) -> str:
    """The path without its query string, secret URL parameters replaced by ***,
    escaped as on the wire (so a %0A in a URL cannot start a new log line)."""
    return escape_uri_path(mask_url_secrets(request.path, request))


def signed_in_user_id(request) -> int | None:
    """The id of the user the request already loaded, if signed in. A user the
    request never looked at is not loaded just for the log line."""
    user = getattr(request, "user", None)
    if isinstance(user, LazyObject):
        # AuthenticationMiddleware's lazy user: loaded only if something used it.
        user = getattr(request, "_cached_user", None)
    if user is not None and user.is_authenticated:
        return user.pk
    return None


class RequestMetricsMiddleware:
    """Times each request into ``tongxin_http_request_duration_seconds`` and logs
    one line for it to ``tongxin.requests``::

        GET /search/ 200 12.3ms view=search user=42

    Never a query string, a request body, a header or a cookie. Placed right after
    ``RequestIdMiddleware`` so the time covers every other middleware and the
    line carries the request id. The line's fields are on the record too
    (``method``, ``path``, ``status``, ``duration_ms``, ``view``, ``user_id``)
    for a structured formatter."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - start
        view = view_label(request, response)
        method = method_label(request.method)
        REQUEST_DURATION.labels(
            view=view, method=method, status=f"{response.status_code // 100}xx"
        ).observe(seconds)
        if request_logger.isEnabledFor(logging.INFO):
            fields = {
                "method": method,
                "path": loggable_path(request),
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
                "view": view,
                "user_id": signed_in_user_id(request),
            }
            request_logger.info(
                "%s %s %s %sms view=%s user=%s",
                fields["method"],
                fields["path"],
                fields["status"],
                fields["duration_ms"],
                fields["view"],
                fields["user_id"] or "-",
                extra=fields,
            )
        return response


# Connected when this module is imported, with the middleware (MIDDLEWARE) and the
# URL conf: before the first request.
@receiver(user_login_failed, dispatch_uid="portal.metrics.count_login_failure")
def count_login_failure(sender, **kwargs):
    """Count a failed sign-in (the credentials it carries are not looked at)."""
    LOGIN_FAILURES.inc()


# --- Gauges read at scrape time ---------------------------------------------------------


@dataclass(frozen=True)
class ScrapeGauge:
    name: str
    help: str
    read: Callable[[], float]


# Each capability registers its gauges with ``register_gauge``.
SCRAPE_GAUGES: dict[str, ScrapeGauge] = {}


def register_gauge(name: str, help: str, fn: Callable[[], float]) -> ScrapeGauge:
    """Expose ``name`` at ``/metrics`` with the value ``fn()`` returns when
    Prometheus scrapes (once per scrape, whichever worker answers). Keep ``fn`` to
    one cheap query. Registering a name again replaces it."""
    gauge = ScrapeGauge(name, help, fn)
    SCRAPE_GAUGES[name] = gauge
    return gauge


class ScrapeGaugeCollector:
    """The registered gauges, read when collected. A gauge that fails (the
    database is down) is left out and logged; the rest are still served."""

    def collect(self):
        for gauge in list(SCRAPE_GAUGES.values()):
            try:
                value = float(gauge.read())
            except Exception:  # noqa: BLE001 (one gauge must not break the scrape)
                logger.exception("metrics: gauge %s failed", gauge.name)
                continue
            yield GaugeMetricFamily(gauge.name, gauge.help, value=value)


def tasks_waiting() -> int:
    return DBTaskResult.objects.ready().count()


def oldest_task_wait_seconds() -> float:
    now = timezone.now()
    since = oldest_waiting_task(now)
    return (now - since).total_seconds() if since else 0.0


def live_workers() -> int:
    since = timezone.now() - dt.timedelta(seconds=settings.TONGXIN_READY_WORKER_DELAY)
    return WorkerBeat.objects.filter(seen_at__gte=since).count()


def _undelivered():
    return Notification.objects.filter(delivered_at__isnull=True)


def outbox_backlog() -> int:
    return _undelivered().filter(attempts__lt=MAX_ATTEMPTS).count()


def outbox_failed() -> int:
    return _undelivered().filter(attempts__gte=MAX_ATTEMPTS).count()


register_gauge(
    "tongxin_tasks_waiting",
    "Background tasks that are due and wait for a worker.",
    tasks_waiting,
)
register_gauge(
    "tongxin_tasks_oldest_waiting_seconds",
    "How long the oldest due task has waited for a worker (0 when none waits).",
    oldest_task_wait_seconds,
)
register_gauge(
    "tongxin_tasks_running",
    "Background tasks a worker has claimed and not finished.",
    lambda: DBTaskResult.objects.running().count(),
)
register_gauge(
    "tongxin_workers_alive",
    "db_worker processes that beat within READY_WORKER_DELAY seconds.",
    live_workers,
)
register_gauge(
    "tongxin_outbox_backlog",
    "Notifications not yet delivered that the worker will still try.",
    outbox_backlog,
)
register_gauge(
    "tongxin_outbox_failed",
    f"Notifications given up after {MAX_ATTEMPTS} attempts: for a person to look at.",
    outbox_failed,
)


# --- The endpoint -----------------------------------------------------------------------


def _authorized(request) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.encode())
    )


def scrape_registry() -> CollectorRegistry:
    """This process's metrics, or every worker's when ``PROMETHEUS_MULTIPROC_DIR``
    is set, and the gauges read now."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(ScrapeGaugeCollector())
    return registry


@never_cache
def metrics(request):
    """The metrics in Prometheus' text format (or OpenMetrics, if asked for), for
    ``Authorization: Bearer <METRICS_TOKEN>`` only. Without the token, or when no
    token is configured, a 404 like any unknown URL."""
    if not _authorized(request):
        raise Http404
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(scrape_registry()), content_type=content_type)
