"""What the portal does when the scheduled work runs (portal/scheduling.py), before
the feature apps' work."""

from io import StringIO

from django.core.management import call_command

from portal.notify import deliver_pending
from portal.scheduling import due_work
from portal.workers import requeue_abandoned_tasks


@due_work
def publish_scheduled_pages():
    """Publish pages whose go-live time has come, unpublish expired ones."""
    call_command("publish_scheduled", stdout=StringIO())


due_work(deliver_pending)  # what a failed or killed worker left in the outbox
due_work(requeue_abandoned_tasks)  # what a killed worker left RUNNING
