"""Probes for whatever runs the portal (a load balancer, a process supervisor,
Kubernetes): ``/healthz`` says the process answers; ``/readyz`` says it can do
its work — the database answers, the cache answers, the background worker is
draining its queue (no task has waited past its time for longer than
``TONGXIN_READY_TASK_DELAY`` seconds), each database task backend has a worker
that beat within ``TONGXIN_READY_WORKER_DELAY`` seconds (``portal.workers``) and
the outbox is not backing up (fewer
than ``TONGXIN_READY_OUTBOX_LIMIT`` notifications wait to be delivered). Each
check says only "ok" or "failing": the figures behind them are not for anyone
who can reach the URL."""

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Min
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django_tasks_db.models import DBTaskResult, get_date_max

from portal.models import Notification
from portal.notify import MAX_ATTEMPTS
from portal.workers import backends_without_worker

# How long a client is asked to wait while a service it needs cannot be reached
# (the database, the search service): the 503 pages' ``Retry-After``.
UNAVAILABLE_RETRY_AFTER = 30


def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _cache() -> bool:
    key = "tongxin:readyz"
    cache.set(key, "1", timeout=10)
    return cache.get(key) == "1"


def oldest_waiting_task(now: dt.datetime) -> dt.datetime | None:
    """Since when the oldest task that is due has been waiting for a worker."""
    ready = DBTaskResult.objects.ready()
    unscheduled = ready.filter(run_after=get_date_max()).aggregate(at=Min("enqueued_at"))["at"]
    scheduled = ready.exclude(run_after=get_date_max()).aggregate(at=Min("run_after"))["at"]
    waiting = [at for at in (unscheduled, scheduled) if at is not None and at <= now]
    return min(waiting, default=None)


def _tasks() -> bool:
    now = timezone.now()
    since = oldest_waiting_task(now)
    return since is None or now - since <= dt.timedelta(seconds=settings.TONGXIN_READY_TASK_DELAY)


def outbox_backlog() -> int:
    """Notifications still to be delivered (counted up to the limit and one more);
    those that failed ``MAX_ATTEMPTS`` times wait for a person, not for a worker."""
    limit = settings.TONGXIN_READY_OUTBOX_LIMIT
    pending = Notification.objects.filter(delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
    return pending[: limit + 1].count()


def _outbox() -> bool:
    return outbox_backlog() <= settings.TONGXIN_READY_OUTBOX_LIMIT


def _workers() -> bool:
    return not backends_without_worker()


CHECKS = {
    "database": _database,
    "cache": _cache,
    "tasks": _tasks,
    "workers": _workers,
    "outbox": _outbox,
}


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """200 when every check passes, else 503; a check that raises has failed."""
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = "ok" if check() else "failing"
        except Exception:  # noqa: BLE001 (a probe reports, it does not crash)
            results[name] = "failing"
            if name == "database":
                # The rest need the database: report them as unknown.
                results.update({other: "unknown" for other in CHECKS if other not in results})
                break
    ready = all(value == "ok" for value in results.values())
    return JsonResponse(
        {"status": "ok" if ready else "failing", "checks": results}, status=200 if ready else 503
    )
