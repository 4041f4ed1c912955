"""What the alliance adds to a person's private calendar feed (registered from
``AllianceConfig.ready``): the joint meetings they are invited to, with the
same UID and SEQUENCE as the meeting's own invitation file, cancelled ones as
STATUS:CANCELLED. One query however many meetings."""

from alliance.meetings.calendar import calendar_item
from alliance.models import JointMeeting
from portal.calendars import MAX_EVENTS, personal_source


@personal_source
def my_joint_meetings(user, *, start, end, request=None, limit=MAX_EVENTS):
    meetings = (
        JointMeeting.objects.filter(invitations__user=user, starts_at__gte=start, starts_at__lt=end)
        .select_related("alliance")
        .order_by("starts_at", "id")[:limit]
    )
    return [calendar_item(meeting) for meeting in meetings]
