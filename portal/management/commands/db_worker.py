"""django-tasks-db's ``db_worker``, with a heartbeat (``portal.workers``): a task
left RUNNING by a killed worker goes back in the queue, and the workers of the
scheduled backend keep the due work coming."""

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from portal.workers import Heartbeat


class Command(db_worker.Command):
    def handle(self, *, worker_id: str, backend_name: str, reload: bool, **options):
        # With --reload the parent process only watches files: the child works.
        heartbeat = None
        if not reload or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            heartbeat = Heartbeat(worker_id, backend_name)
            heartbeat.start()
        try:
            return super().handle(
                worker_id=worker_id, backend_name=backend_name, reload=reload, **options
            )
        finally:  # the worker ran its batch or its --max-tasks
            if heartbeat:
                heartbeat.stop()
