"""Workers that account for their work (portal/workers.py): a task left RUNNING by
a killed worker goes back in the queue and its work gets done; a live worker's
task is left alone; the due work keeps coming when nothing is scheduled; the
real ``db_worker`` command beats while it works."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from portal.models import InboxMessage, Notification, WorkerBeat
from portal.notify import deliver
from portal.scheduling import SCHEDULED_BACKEND, run_due_work
from portal.workers import Heartbeat, beat, keep_due_work_coming, requeue_abandoned_tasks


@task(backend=SCHEDULED_BACKEND)
def deliver_in_the_background(notification_id: int) -> bool:
    """The outbox's delivery on the database backend, as production runs it (the
    tests' default backend runs tasks in the process)."""
    return deliver.call(notification_id)


def claimed_delivery(user, worker_id: str) -> tuple[Notification, DBTaskResult]:
    """A notification whose delivery task ``worker_id`` has claimed (RUNNING)."""
    notification = Notification.objects.create(user=user, subject="排班变更", body="周六改为9点")
    result = deliver_in_the_background.enqueue(notification.pk)
    task = DBTaskResult.objects.get(pk=result.id)
    task.claim(worker_id)
    return notification, task


def beat_at(worker_id: str, when: dt.datetime) -> None:
    WorkerBeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"backend_name": SCHEDULED_BACKEND, "started_at": when, "seen_at": when},
    )


@pytest.mark.django_db
def test_a_task_of_a_killed_worker_is_queued_again_and_its_work_done(users, run_worker):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        beat_at("killed", start)
        notification, task = claimed_delivery(users.member, "killed")
    # The worker died right after: no more beats. Within its timeout it may
    # still be alive and busy: nothing moves.
    with time_machine.travel(start + dt.timedelta(seconds=50), tick=False):
        assert requeue_abandoned_tasks() == 0
    task.refresh_from_db()
    assert task.status == "RUNNING"

    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        assert requeue_abandoned_tasks() == 1
    task.refresh_from_db()
    assert (task.status, task.started_at) == ("READY", None)

    run_worker()
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert task.worker_ids[0] == "killed" and len(task.worker_ids) == 2
    notification.refresh_from_db()
    assert notification.delivered_at is not None
    assert InboxMessage.objects.filter(user=users.member, subject="排班变更").count() == 1


@pytest.mark.django_db
def test_a_live_worker_keeps_its_long_task_and_a_fresh_claim_is_left_alone(users, settings):
    settings.TONGXIN_WORKER_TIMEOUT = 60
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _, long_task = claimed_delivery(users.member, "busy")
        _, unknown = claimed_delivery(users.member, "never-beat")
    # Ten minutes on, "busy" still beats; "never-beat" (a worker without the
    # heartbeat) has been silent all along.
    later = start + dt.timedelta(minutes=10)
    beat_at("busy", later - dt.timedelta(seconds=5))
    with time_machine.travel(later, tick=False):
        assert requeue_abandoned_tasks() == 1
        # And a task claimed a moment ago by a worker we have no beat of yet.
        _, fresh = claimed_delivery(users.member, "just-started")
        assert requeue_abandoned_tasks() == 0
    statuses = {
        t.worker_ids[-1]: t.status
        for t in DBTaskResult.objects.filter(pk__in=[long_task.pk, unknown.pk, fresh.pk])
    }
    assert statuses == {"busy": "RUNNING", "never-beat": "READY", "just-started": "RUNNING"}


@pytest.mark.django_db
def test_the_due_work_puts_abandoned_tasks_back_and_forgets_old_beats(users, run_worker):
    start = timezone.now() - dt.timedelta(days=2)
    with time_machine.travel(start, tick=False):
        beat_at("gone", start)
        _, task = claimed_delivery(users.member, "gone")
    run_due_work.call()
    task.refresh_from_db()
    assert task.status == "READY"
    assert not WorkerBeat.objects.filter(worker_id="gone").exists()


def due_runs():
    return DBTaskResult.objects.filter(task_path=run_due_work.module_path, status="READY").order_by(
        "run_after"
    )


@pytest.mark.django_db
def test_the_due_work_is_kept_coming_once_not_twice(settings):
    settings.TONGXIN_DUE_WORK_PERIOD = 60
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        assert keep_due_work_coming() is True
        assert keep_due_work_coming() is False  # a second worker, or the next beat
    runs = list(due_runs())
    assert len(runs) == 1
    assert runs[0].run_after == now + dt.timedelta(seconds=60)

    # A worker takes it: the next beat queues the following one.
    runs[0].claim("w1")
    with time_machine.travel(now + dt.timedelta(seconds=61), tick=False):
        assert keep_due_work_coming() is True
    assert due_runs().count() == 1

    # A run scheduled for a page's go-live within the period counts as coming.
    DBTaskResult.objects.filter(task_path=run_due_work.module_path).delete()
    run_due_work.using(run_after=now + dt.timedelta(seconds=20)).enqueue()
    with time_machine.travel(now, tick=False):
        assert keep_due_work_coming() is False


@task(backend=SCHEDULED_BACKEND)
def has_my_worker_beaten(worker_id: str) -> bool:
    """A task that tells whether its worker's beat was recorded before it ran."""
    return WorkerBeat.objects.filter(worker_id=worker_id).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_command_beats_before_it_works_and_keeps_the_due_work_coming():
    # The beat is written before the worker claims its task (the next one, on
    # the heartbeat's own connection, only after TONGXIN_WORKER_BEAT_SECONDS).
    result = has_my_worker_beaten.enqueue("web-1-scheduled")
    call_command(
        "db_worker",
        "--backend",
        SCHEDULED_BACKEND,
        "--max-tasks",
        "1",
        "--no-startup-delay",
        "--worker-id",
        "web-1-scheduled",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    result.refresh()
    assert result.return_value is True
    beat = WorkerBeat.objects.get()
    assert (beat.worker_id, beat.backend_name) == ("web-1-scheduled", SCHEDULED_BACKEND)
    assert timezone.now() - beat.seen_at < dt.timedelta(seconds=30)
    assert due_runs().count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_heartbeat_survives_the_database_going_away(monkeypatch, settings, caplog):
    settings.TONGXIN_WORKER_BEAT_SECONDS = 0.01
    calls = []

    def flaky_beat(*args):
        calls.append(args)
        if len(calls) == 1:
            raise OperationalError("the database system is shutting down")
        beat(*args)

    monkeypatch.setattr("portal.workers.beat", flaky_beat)
    heartbeat = Heartbeat("w-default", "default")
    heartbeat.start()  # its first beat, here, fails: the worker still starts
    assert not WorkerBeat.objects.exists()
    for _ in range(500):
        if WorkerBeat.objects.exists():
            break
        heartbeat.stopped.wait(0.01)
    heartbeat.stop()
    assert len(calls) >= 2
    assert "worker w-default could not record its beat" in caplog.text
    assert WorkerBeat.objects.get().backend_name == "default"
    assert not due_runs().exists()  # only the scheduled backend's workers queue due work
