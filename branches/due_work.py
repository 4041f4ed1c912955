"""What the branches app does when the scheduled work runs (portal/scheduling.py)."""

from branches.schedule import send_due_reminders
from portal.scheduling import due_work

due_work(send_due_reminders)  # meeting reminders, once per meeting and member
