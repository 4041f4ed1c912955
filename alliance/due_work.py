"""What the alliance app does when the scheduled work runs (portal/scheduling.py)."""

from alliance.followup import remind_overdue
from portal.scheduling import due_work

due_work(remind_overdue)  # overdue action items, once a day each
