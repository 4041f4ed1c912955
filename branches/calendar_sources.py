"""What the branches app adds to the calendars (portal/calendars.py): a unit's
public branch meetings, and the meetings a person is invited to. A moved
meeting carries a higher SEQUENCE; a cancelled one stays with STATUS:CANCELLED."""

from django.db.models import Q
from django.utils import timezone
from wagtail.models import Page

from branches.models import Meeting
from portal.calendars import (
    MAX_EVENTS,
    CalendarItem,
    full_url,
    local_time,
    personal_source,
    public_units,
    short_text,
    unit_source,
)
from portal.page_cache import EVENTS, shown_on_unit_pages
from portal.roles import member_of


def public_meetings(unit: Page, *, start, end):
    """Meetings marked public whose branch (or building group) is a live,
    public page at or under ``unit``; cancelled ones included."""
    units = public_units(unit)
    return (
        Meeting.objects.filter(public=True, starts_at__gte=start, starts_at__lt=end)
        .filter(Q(branch__in=units) | Q(group__in=units))
        .select_related("branch")
        .order_by("starts_at", "id")
    )


def invited_meetings(member, *, start, end):
    """The meetings ``member`` is invited to (any status, public or not)."""
    return (
        Meeting.objects.filter(attendances__member=member, starts_at__gte=start, starts_at__lt=end)
        .select_related("branch")
        .order_by("starts_at", "id")
    )


def meeting_item(meeting, request=None) -> CalendarItem:
    url = None
    if meeting.public and request is not None:
        url = full_url(meeting.branch, request, meeting.branch.reverse_subpage("calendar"))
    return CalendarItem(
        uid=f"meeting-{meeting.pk}@tongxin",
        kind="meeting",
        label=str(meeting.get_kind_display()),
        title=meeting.title,
        starts_at=local_time(meeting.starts_at),
        ends_at=local_time(meeting.ends_at),
        place=meeting.place,
        description=short_text(meeting.agenda),
        sequence=meeting.sequence,
        cancelled=meeting.is_cancelled,
        url=url,
        stamp=meeting.updated_at or timezone.now(),
        unit_title=meeting.branch.title,
    )


shown_on_unit_pages(Meeting, part=EVENTS, units=lambda meeting: (meeting.branch, meeting.group))


@unit_source
def unit_meetings(unit, *, start, end, request=None, limit=MAX_EVENTS):
    return [meeting_item(m, request) for m in public_meetings(unit, start=start, end=end)[:limit]]


@personal_source
def my_meetings(user, *, start, end, request=None, limit=MAX_EVENTS):
    member = member_of(user)
    if member is None:
        return []
    return [
        meeting_item(m, request) for m in invited_meetings(member, start=start, end=end)[:limit]
    ]
