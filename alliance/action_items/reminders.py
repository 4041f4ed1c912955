"""Reminders of overdue action items (督办): those who answer for a live, open
item past its due date are told once a day until it is closed. Run by the
scheduled work (``alliance.due_work``); publishing minutes books the first run
for the day after each due date (``reminder_time``)."""

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from alliance.action_items.selectors import action_url, overdue_actions, unit_people
from alliance.models import ActionItem
from portal.i18n import in_language_of
from portal.notify import notify_on_commit
from portal.scheduling import run_at

# Overdue reminders go out at this local hour on the day after the due date.
REMINDER_HOUR = 9


def reminder_time(due_on: dt.date) -> dt.datetime:
    """When the first reminder of an item due on ``due_on`` goes out."""
    day = due_on + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(REMINDER_HOUR)))


def overdue_actions_remind(*, today: dt.date | None = None) -> int:
    """Remind those who answer for each overdue action item, at most once a day
    per item however often this runs (``reminded_on`` is written with the
    messages, in one transaction). Returns how many items were reminded."""
    today = today or timezone.localdate()
    due = list(
        overdue_actions(today)
        .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today))
        .values_list("pk", flat=True)
    )
    reminded = 0
    for pk in due:
        with transaction.atomic():
            action = (
                ActionItem.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("meeting", "owner", "owner_partner", "owner_branch")
                .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today), pk=pk)
                .first()
            )
            if action is None:
                continue  # reminded meanwhile, or another worker holds it
            url = action_url(action)
            days = (today - action.due_on).days
            for person in unit_people(action):
                with in_language_of(person):
                    notify_on_commit(
                        person,
                        subject=_("Overdue action item: %(title)s") % {"title": action.title},
                        body=_(
                            "The action item “%(title)s” of %(meeting)s was due on %(due)s "
                            "(%(days)d days ago). Please post its progress, or close it when done."
                        )
                        % {
                            "title": action.title,
                            "meeting": action.meeting.title,
                            "due": formats.date_format(action.due_on, "DATE_FORMAT"),
                            "days": days,
                        },
                        url=url,
                    )
            action.reminded_on = today
            action.save(update_fields=["reminded_on"])
            reminded += 1
    if reminded:
        # Still overdue tomorrow unless closed: come back then.
        run_at(reminder_time(today))
    return reminded
