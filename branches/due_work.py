"""What the branches app does when the scheduled work runs (portal/scheduling.py)."""

from branches.schedule import reminders_send_due
from portal.scheduling import due_work

due_work(reminders_send_due)  # meeting reminders, once per meeting and member
