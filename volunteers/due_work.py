"""What the volunteers app does when the scheduled work runs (portal/scheduling.py)."""

from portal.scheduling import due_work
from volunteers.dispatch.services import offers_expire
from volunteers.duties.services import check_ins_auto_close

due_work(check_ins_auto_close)  # close the check-ins of shifts that have ended
due_work(offers_expire)  # unanswered dispatch offers, and what that escalates
