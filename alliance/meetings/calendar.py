"""A joint meeting in calendars: the event (``calendar_item``) that the
invitation file and the invitee's personal feed share, with one UID and the
meeting's SEQUENCE, and the iCalendar invitation itself (``meeting_ics``)."""

import uuid

import icalendar
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.meetings.rules import meeting_path
from alliance.models import Invitation, JointMeeting
from alliance.names import person_name
from portal.calendars import SHANGHAI, CalendarItem, build_calendar
from portal.links import absolute_url

Response = Invitation.Response
Status = JointMeeting.Status

PARTSTAT = {
    Response.PENDING: "NEEDS-ACTION",
    Response.ATTEND: "ACCEPTED",
    Response.DEPUTY: "DELEGATED",
    Response.DECLINE: "DECLINED",
}


def _cal_address(user) -> str:
    if user.email:
        return f"mailto:{user.email}"
    # No email: a stable URN still identifies the person to calendar apps.
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'tongxin:user:{user.pk}')}"


def calendar_item(meeting: JointMeeting) -> CalendarItem:
    """The meeting as a calendar event: the same UID and SEQUENCE in its
    invitation file and in the invitee's personal feed."""
    url = absolute_url(meeting_path(meeting))
    return CalendarItem(
        uid=f"alliance-meeting-{meeting.pk}@tongxin",
        kind="meeting",
        label=_("Joint meeting"),
        title=meeting.title,
        starts_at=timezone.localtime(meeting.starts_at, SHANGHAI),
        ends_at=timezone.localtime(meeting.ends_at, SHANGHAI),
        place=meeting.place,
        description=_("%(alliance)s joint meeting. Agenda and answers: %(url)s")
        % {"alliance": meeting.alliance.name, "url": url},
        sequence=meeting.sequence,
        cancelled=meeting.status == Status.CANCELLED,
        url=url,
        stamp=timezone.now(),
        link=meeting_path(meeting),
    )


def meeting_ics(meeting: JointMeeting, invitation: Invitation | None, request=None) -> bytes:
    """The invitation as an iCalendar file: METHOD:REQUEST (METHOD:CANCEL once
    cancelled), the convener as ORGANIZER, the invitee as the only ATTENDEE
    (with their answer), a UID that never changes and the meeting's SEQUENCE,
    times in Asia/Shanghai with its VTIMEZONE."""
    item = calendar_item(meeting)
    cancelled = item.cancelled
    calendar = build_calendar(meeting.title, [item], start=meeting.starts_at, end=meeting.ends_at)
    # An invitation, not a subscribed feed.
    for key in ("method", "refresh-interval", "x-published-ttl"):
        calendar.pop(key, None)
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = calendar.walk("VEVENT")[0]
    organizer = icalendar.vCalAddress(_cal_address(meeting.convener))
    organizer.params["CN"] = person_name(meeting.convener)
    event.add("organizer", organizer)
    if invitation is not None:
        attendee = icalendar.vCalAddress(_cal_address(invitation.user))
        attendee.params["CN"] = person_name(invitation.user)
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = PARTSTAT[invitation.response]
        attendee.params["RSVP"] = "TRUE"
        event.add("attendee", attendee)
    return calendar.to_ical()
