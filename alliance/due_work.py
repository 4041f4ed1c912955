"""What the alliance app does when the scheduled work runs (portal/scheduling.py)."""

from alliance.action_items.reminders import overdue_actions_remind
from portal.scheduling import due_work

due_work(overdue_actions_remind)  # overdue action items, once a day each
