"""What the volunteers app does when the scheduled work runs (portal/scheduling.py)."""

from portal.scheduling import due_work
from volunteers.dispatch import offers_expire
from volunteers.services import auto_check_out

due_work(auto_check_out)  # close the check-ins of shifts that have ended
due_work(offers_expire)  # unanswered dispatch offers, and what that escalates
