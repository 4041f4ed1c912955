"""Work that must happen at a given time: publishing pages whose go-live time has
come and unpublishing expired ones (Wagtail's ``publish_scheduled``), meeting
reminders, closing the check-ins of shifts that have ended, expiring unanswered
dispatch offers and reminding owners of overdue action items. Each time-bound
change enqueues ``run_due_work`` on the "scheduled" task backend to run at that
time (``run_after``); the background worker (``manage.py db_worker --backend
scheduled``) runs it then. The task does whatever is due at the moment it runs,
so running it late, early or twice is harmless."""

import datetime as dt
from io import StringIO

from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks import task

SCHEDULED_BACKEND = "scheduled"


@task(backend=SCHEDULED_BACKEND)
def run_due_work() -> int:
    """Returns how many reminders were sent."""
    from alliance.followup import remind_overdue
    from branches.schedule import send_due_reminders
    from portal.notify import deliver_pending
    from volunteers.dispatch import offers_expire
    from volunteers.services import auto_check_out

    call_command("publish_scheduled", stdout=StringIO())
    auto_check_out()
    offers_expire()
    deliver_pending()  # what a failed or killed worker left in the outbox
    remind_overdue()  # overdue action items, once a day each
    return send_due_reminders()


def run_at(when: dt.datetime | None) -> None:
    """Have the worker run the due work at ``when``, once the current
    transaction commits (a rolled-back change schedules nothing)."""
    if when is None:
        return
    when = max(when, timezone.now())
    transaction.on_commit(lambda: run_due_work.using(run_after=when).enqueue())
