"""Background workers that account for their work.

A worker (``manage.py db_worker``: django-tasks-db's, run with a beat by
``portal/management/commands/db_worker.py``) claims a task by marking it
RUNNING. Killed mid-task (``kill -9``, a lost machine), it leaves the task
RUNNING for ever, and nobody does its work. So each worker records a beat every
``TONGXIN_WORKER_BEAT_SECONDS`` (``WorkerBeat``); the due work puts back in the
queue every task RUNNING under a worker that has not beaten for
``TONGXIN_WORKER_TIMEOUT`` seconds. Every task here is safe to run twice (the
due work, deliveries, indexing), so a task run again after a false alarm does
no harm.

The due work itself needs someone to run it even when nothing is scheduled
(the outbox sweep, these requeues): the workers of the scheduled backend keep
a run of it queued at most ``TONGXIN_DUE_WORK_PERIOD`` seconds ahead."""

import datetime as dt
import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from portal.models import WorkerBeat
from portal.scheduling import SCHEDULED_BACKEND, run_due_work

logger = logging.getLogger("tongxin.workers")


def beat(worker_id: str, backend_name: str, started_at: dt.datetime) -> None:
    WorkerBeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "backend_name": backend_name,
            "started_at": started_at,
            "seen_at": timezone.now(),
        },
    )


def keep_due_work_coming() -> bool:
    """Queue a run of the due work ``TONGXIN_DUE_WORK_PERIOD`` seconds from now
    unless one is already queued to run by then. Two workers doing this at once
    queue two runs, which is harmless; the next check finds them and adds none."""
    horizon = timezone.now() + dt.timedelta(seconds=settings.TONGXIN_DUE_WORK_PERIOD)
    queued = DBTaskResult.objects.filter(
        Q(run_after__lte=horizon) | Q(run_after=get_date_max()),
        status=TaskResultStatus.READY,
        backend_name=SCHEDULED_BACKEND,
        task_path=run_due_work.module_path,
    )
    if queued.exists():
        return False
    run_due_work.using(run_after=horizon).enqueue()
    return True


def requeue_abandoned_tasks() -> int:
    """Put back in the queue the tasks RUNNING under a worker that stopped
    beating; forget beats a day old. Returns how many tasks went back."""
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.TONGXIN_WORKER_TIMEOUT)
    alive = set(WorkerBeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True))
    running = DBTaskResult.objects.running().filter(started_at__lt=cutoff)
    abandoned = {
        pk: workers[-1] if workers else "?"
        for pk, workers in running.values_list("id", "worker_ids")
        if not workers or workers[-1] not in alive
    }
    requeued = 0
    if abandoned:
        # Only if still RUNNING: the task may have finished since it was read.
        requeued = (
            DBTaskResult.objects.running()
            .filter(id__in=abandoned)
            .update(status=TaskResultStatus.READY, started_at=None)
        )
        for pk, worker_id in abandoned.items():
            logger.warning("task %s requeued: its worker %s stopped beating", pk, worker_id)
    WorkerBeat.objects.filter(seen_at__lt=now - dt.timedelta(days=1)).delete()
    return requeued


def database_backends() -> list[str]:
    """The task backends that need a ``db_worker``."""
    return [
        alias
        for alias, options in settings.TASKS.items()
        if issubclass(import_string(options["BACKEND"]), DatabaseBackend)
    ]


def backends_without_worker() -> list[str]:
    """The database task backends no live worker serves (for ``/readyz``)."""
    since = timezone.now() - dt.timedelta(seconds=settings.TONGXIN_READY_WORKER_DELAY)
    served = set(
        WorkerBeat.objects.filter(seen_at__gte=since).values_list("backend_name", flat=True)
    )
    return [alias for alias in database_backends() if alias not in served]


class Heartbeat(threading.Thread):
    """Beats for one worker while its process lives (a daemon thread: it ends
    with the process, so a killed worker stops beating at once)."""

    def __init__(self, worker_id: str, backend_name: str):
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.backend_name = backend_name
        self.started_at = timezone.now()
        self.stopped = threading.Event()

    def tick(self) -> None:
        beat(self.worker_id, self.backend_name, self.started_at)
        if self.backend_name == SCHEDULED_BACKEND:
            keep_due_work_coming()

    def start(self) -> None:
        """Beat once here, before the worker claims its first task (and queue the
        due work), then keep beating on this thread's own connection."""
        self.beat_now()
        super().start()

    def beat_now(self) -> None:
        close_old_connections()
        try:
            self.tick()
        except Exception:  # noqa: BLE001 (the database is away: beat again later)
            logger.warning("worker %s could not record its beat", self.worker_id, exc_info=True)
            connection.close()

    def run(self) -> None:
        while not self.stopped.wait(settings.TONGXIN_WORKER_BEAT_SECONDS):
            self.beat_now()
        connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)
