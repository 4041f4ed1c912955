"""Work that must happen at a given time: publishing pages whose go-live time has
come and unpublishing expired ones (Wagtail's ``publish_scheduled``), delivering
what is left in the outbox, and whatever the feature apps register in their
``due_work.py`` (meeting reminders, closing the check-ins of shifts that have
ended, expiring unanswered dispatch offers, reminding owners of overdue action
items). Each time-bound change enqueues ``run_due_work`` on the "scheduled" task
backend to run at that time (``run_at``); the background worker (``manage.py
db_worker --backend scheduled``) runs it then. The task does whatever is due at
the moment it runs, so running it late, early or twice is harmless — and so must
every registered piece of work."""

import datetime as dt
from collections.abc import Callable
from io import StringIO

from django.core.management import call_command
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
    from portal.notify import deliver_pending

    call_command("publish_scheduled", stdout=StringIO())
    for work in DUE_WORK:
        work()
    deliver_pending()  # what a failed or killed worker left in the outbox


def run_at(when: dt.datetime | None) -> None:
    """Have the worker run the due work at ``when``, once the current
    transaction commits (a rolled-back change schedules nothing)."""
    if when is None:
        return
    when = max(when, timezone.now())
    transaction.on_commit(lambda: run_due_work.using(run_after=when).enqueue())
