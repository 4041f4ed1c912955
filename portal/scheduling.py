"""Work that must happen at a given time: whatever the apps register in their
``due_work.py`` (the portal's own: publishing pages whose go-live time has come
and unpublishing expired ones, delivering what is left in the outbox; then
meeting reminders, closing the check-ins of shifts that have ended, expiring
unanswered dispatch offers, reminding owners of overdue action items). Each time-bound change enqueues ``run_due_work`` on the "scheduled" task
backend to run at that time (``run_at``); the background worker (``manage.py
db_worker --backend scheduled``) runs it then. The task does whatever is due at
the moment it runs, so running it late, early or twice is harmless — and so must
every registered piece of work."""

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django_tasks import task

SCHEDULED_BACKEND = "scheduled"

# What the apps' due_work.py modules registered, in the order of INSTALLED_APPS.
DUE_WORK: list[Callable[[], object]] = []


def due_work(work: Callable[[], object]) -> Callable[[], object]:
    """Run ``work()`` (no arguments; safe to run at any time, any number of
    times) whenever the due work runs. Called from an app's ``due_work.py``,
    which the portal app imports at start-up."""
    if work not in DUE_WORK:
        DUE_WORK.append(work)
    return work


@task(backend=SCHEDULED_BACKEND)
def run_due_work() -> None:
    for work in DUE_WORK:
        work()


def run_at(when: dt.datetime | None) -> None:
    """Have the worker run the due work at ``when``, once the current
    transaction commits (a rolled-back change schedules nothing)."""
    if when is None:
        return
    when = max(when, timezone.now())
    transaction.on_commit(lambda: run_due_work.using(run_after=when).enqueue())
