"""What volunteering adds to the calendars (registered from ``VolunteersConfig.ready``):

- a unit's public calendar: the shifts of the open duties at or under it;
- a person's private feed: the shifts they signed up for, and the dispatched
  tasks they accepted.

UIDs never change (``shift-<id>``, ``signup-<id>``, ``task-<id>``); SEQUENCE
goes up when a shift moves or is cancelled, a sign-up is cancelled or a task
is withdrawn, and such events stay in the feed with STATUS:CANCELLED. Each
source is one query however many events there are."""

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.calendars import (
    MAX_EVENTS,
    CalendarItem,
    local_time,
    personal_source,
    public_units,
    short_text,
    unit_source,
)
from portal.links import absolute_url
from portal.page_cache import EVENTS, shown_on_unit_pages
from volunteers.models import Duty, Offer, Shift, SignUp

# Unit calendars show the shifts of published duties.
shown_on_unit_pages(Duty, part=EVENTS, units=lambda duty: (duty.branch, duty.group))
shown_on_unit_pages(Shift, part=EVENTS, units=lambda shift: (shift.duty.branch, shift.duty.group))


def shift_item(shift, *, uid=None, cancelled=None, sequence=0) -> CalendarItem:
    duty = shift.duty
    path = reverse("volunteer_shift", args=[shift.pk])
    return CalendarItem(
        uid=uid or f"shift-{shift.pk}@tongxin",
        kind="shift",
        label=str(duty.get_kind_display()),
        title=duty.title,
        starts_at=local_time(shift.starts_at),
        ends_at=local_time(shift.ends_at),
        place=duty.place,
        description=short_text(duty.description),
        sequence=shift.calendar_sequence + sequence,
        cancelled=shift.cancelled if cancelled is None else cancelled,
        url=absolute_url(path),
        stamp=timezone.now(),
        link=path,
        unit_title=duty.branch.title,
    )


@unit_source
def unit_shifts(unit, *, start, end, request=None, limit=MAX_EVENTS):
    """Shifts of the open duties of the live, public units at or under ``unit``."""
    units = public_units(unit)
    shifts = (
        Shift.objects.filter(duty__published=True, starts_at__gte=start, starts_at__lt=end)
        .filter(Q(duty__branch__in=units) | Q(duty__group__in=units))
        .select_related("duty__branch")
        .order_by("starts_at", "id")[:limit]
    )
    return [shift_item(shift) for shift in shifts]


@personal_source
def my_shifts(user, *, start, end, request=None, limit=MAX_EVENTS):
    """The user's sign-ups (confirmed, waiting, and cancelled ones as cancelled)."""
    signups = (
        SignUp.objects.filter(user=user, shift__starts_at__gte=start, shift__starts_at__lt=end)
        .select_related("shift__duty__branch")
        .order_by("shift__starts_at", "id")[:limit]
    )
    items = []
    for signup in signups:
        withdrawn = signup.status not in SignUp.ACTIVE
        item = shift_item(
            signup.shift,
            uid=f"signup-{signup.pk}@tongxin",
            cancelled=withdrawn or signup.shift.cancelled,
            sequence=1 if withdrawn else 0,
        )
        if signup.status == SignUp.Status.WAITLISTED:
            item.title = _("%(title)s (waitlist)") % {"title": item.title}
        items.append(item)
    return items


@personal_source
def my_tasks(user, *, start, end, request=None, limit=MAX_EVENTS):
    """Dispatched tasks the user accepted (a task withdrawn after that: cancelled)."""
    offers = (
        Offer.objects.filter(user=user, answered_at__isnull=False)
        .filter(Q(status__in=Offer.TAKEN) | Q(status=Offer.Status.WITHDRAWN))
        .filter(request__window_start__gte=start, request__window_start__lt=end)
        .select_related("request__grid")
        .order_by("request__window_start", "id")[:limit]
    )
    path = reverse("my_tasks")
    items = []
    for offer in offers:
        task = offer.request
        cancelled = offer.status not in Offer.TAKEN
        items.append(
            CalendarItem(
                uid=f"task-{offer.pk}@tongxin",
                kind="task",
                label=_("Dispatched task"),
                title=task.title,
                starts_at=local_time(task.window_start),
                ends_at=local_time(task.window_end),
                place=task.grid.title if task.grid_id else "",
                description=short_text(task.description),
                sequence=1 if cancelled else 0,
                cancelled=cancelled,
                url=absolute_url(path),
                stamp=timezone.now(),
                link=path,
            )
        )
    return items
