"""Writes for branch meetings: scheduling one-off and recurring meetings,
cancelling, attendance, and reminders."""

import datetime as dt
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, rrulestr
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import (
    Attendance,
    Meeting,
    MeetingKind,
    MeetingReminder,
    MeetingSeries,
    Member,
    PartyPost,
)
from portal.i18n import in_language_of
from portal.scheduling import run_at

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A recurring schedule creates at most this many meetings (two years of monthly ones),
# all within this many years of the first.
MAX_OCCURRENCES = 24
HORIZON_YEARS = 10
# 400 Gregorian years are 146,097 days, a whole number of weeks: the calendar repeats.
_CYCLE_DAYS = 146_097
_LAST = dt.datetime(9999, 12, 31, 23, 59, 59)
COMMITTEE_POSTS = {PartyPost.SECRETARY, PartyPost.DEPUTY_SECRETARY, PartyPost.COMMITTEE_MEMBER}


def occurrences(rrule: str, first_start: dt.datetime, limit: int = MAX_OCCURRENCES):
    """Start times of a recurring schedule, expanded in Asia/Shanghai wall-clock
    time (so 19:30 stays 19:30), as aware datetimes: at most ``limit`` of them,
    all within HORIZON_YEARS of the first. RFC 5545 rules apply: a monthly rule
    on the 31st skips months without one; BYMONTHDAY=-1 is the last day of
    every month. Raises ValidationError for a rule that cannot be read, repeats
    more often than daily, or yields nothing within the horizon.

    The expansion is bounded before it starts: dateutil walks period after
    period until a date matches, so a rule no date matches (30 February) is
    walked to the year 9999 (seconds of work). The Gregorian calendar and its
    weekdays repeat every 400 years, so the rule is expanded from the same start
    400·k years later, k as large as fits: dateutil's own end of time then
    comes at most 400 years after the horizon, and the dates are shifted back."""
    local = timezone.localtime(first_start, SHANGHAI).replace(tzinfo=None)
    text = rrule.strip().removeprefix("RRULE:")
    if not text or "\n" in text or "DTSTART" in text.upper():
        raise ValidationError(_("Write the repeat rule like FREQ=MONTHLY;BYMONTHDAY=15;COUNT=6."))
    try:
        rule = rrulestr(text, dtstart=local)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValidationError(
            _("The repeat rule cannot be read: %(error)s") % {"error": error}
        ) from error
    if rule._freq > DAILY:  # HOURLY, MINUTELY, SECONDLY
        raise ValidationError(
            _("A schedule repeats at most once a day: use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY.")
        )
    if local.year + HORIZON_YEARS <= _LAST.year:
        horizon = local + relativedelta(years=HORIZON_YEARS)
    else:
        horizon = _LAST
    shift = dt.timedelta(days=(_LAST - horizon).days // _CYCLE_DAYS * _CYCLE_DAYS)
    changes = {"dtstart": local + shift}
    if rule._until is not None:
        changes["until"] = min(rule._until, _LAST - shift) + shift
    starts = []
    for start in rule.replace(**changes):
        start -= shift
        if start > horizon:
            break
        starts.append(start.replace(tzinfo=SHANGHAI))
        if len(starts) >= limit:
            break
    if not starts:
        raise ValidationError(
            _("The repeat rule gives no dates in the %(years)d years from the first one.")
            % {"years": HORIZON_YEARS}
        )
    return starts


def default_invitees(*, branch, kind, group=None):
    """Who is invited by default: the branch committee to a committee meeting,
    the group's members to a group meeting, every member of the branch otherwise."""
    members = Member.objects.filter(branch=branch)
    if kind == MeetingKind.COMMITTEE:
        return [
            m for m in members.only("id", "party_posts") if COMMITTEE_POSTS & set(m.party_posts)
        ]
    if kind == MeetingKind.GROUP and group is not None:
        members = members.filter(building_group=group)
    return list(members.only("id"))


@transaction.atomic
def meeting_schedule(
    *,
    branch,
    kind,
    title,
    starts_at,
    duration: dt.timedelta,
    place,
    agenda="",
    rrule="",
    group=None,
    public=False,
    invitees=None,
    by=None,
) -> list[Meeting]:
    """Create a meeting, or every occurrence of a recurring one, with its invitees
    (``invitees`` or the default for the kind). All or nothing."""
    if duration <= dt.timedelta(0):
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    series = None
    starts = [starts_at]
    if rrule:
        starts = occurrences(rrule, starts_at)
        series = MeetingSeries.objects.create(
            branch=branch, kind=kind, title=title, rrule=rrule, first_start=starts_at, created_by=by
        )
    if invitees is None:
        invitees = default_invitees(branch=branch, kind=kind, group=group)
    meetings = []
    for start in starts:
        meeting = Meeting(
            branch=branch,
            group=group,
            series=series,
            kind=kind,
            title=title,
            starts_at=start,
            ends_at=start + duration,
            place=place,
            agenda=agenda,
            public=public,
            created_by=by,
        )
        meeting.full_clean()
        meeting.save()
        meetings.append(meeting)
    Attendance.objects.bulk_create(
        [Attendance(meeting=m, member=member) for m in meetings for member in invitees]
    )
    for meeting in meetings:
        reminder_schedule(meeting=meeting)
    return meetings


def reminder_time(meeting) -> dt.datetime:
    return meeting.starts_at - dt.timedelta(hours=settings.TONGXIN_MEETING_REMINDER_HOURS)


def reminder_schedule(*, meeting) -> None:
    if not meeting.is_cancelled and meeting.starts_at > timezone.now():
        run_at(reminder_time(meeting))


@transaction.atomic
def meeting_cancel(*, meeting, by=None) -> Meeting:
    """Cancelled meetings stay (calendars show them as cancelled)."""
    meeting.status = Meeting.Status.CANCELLED
    meeting.save()
    return meeting


@transaction.atomic
def attendance_record(*, meeting, rows: dict, by=None) -> int:
    """``rows``: {member_id: (status, reason)} for invited members. Leave needs a
    reason. Validates every row before writing any."""
    invited = {a.member_id: a for a in meeting.attendances.select_for_update()}
    errors = {}
    for member_id, (status, reason) in rows.items():
        if member_id not in invited:
            errors[member_id] = _("This member is not invited to the meeting.")
        elif status not in Attendance.Status.values:
            errors[member_id] = _("Unknown attendance status.")
        elif status == Attendance.Status.LEAVE and not reason.strip():
            errors[member_id] = _("Give the reason for the leave.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    changed = []
    for member_id, (status, reason) in rows.items():
        row = invited[member_id]
        reason = reason.strip() if status == Attendance.Status.LEAVE else ""
        if (row.status, row.reason) != (status, reason):
            row.status, row.reason, row.recorded_by, row.recorded_at = status, reason, by, now
            changed.append(row)
    Attendance.objects.bulk_update(changed, ["status", "reason", "recorded_by", "recorded_at"])
    return len(changed)


def reminders_send_due(*, now=None) -> int:
    """Remind the invitees (with an account) of meetings starting within the
    reminder window. At most once per member and meeting, however many times
    this runs: the (meeting, member) row is written with the message in the
    outbox, in one transaction, and a second run finds it."""
    from portal.notify import notify_on_commit

    now = now or timezone.now()
    window = dt.timedelta(hours=settings.TONGXIN_MEETING_REMINDER_HOURS)
    due = (
        Attendance.objects.filter(
            meeting__status=Meeting.Status.SCHEDULED,
            meeting__starts_at__gt=now,
            meeting__starts_at__lte=now + window,
            member__user__isnull=False,
        )
        .select_related("meeting", "meeting__branch", "member__user")
        .order_by("meeting__starts_at", "id")
    )
    sent = 0
    for attendance in due.iterator(chunk_size=500):
        meeting, member = attendance.meeting, attendance.member
        local = timezone.localtime(meeting.starts_at, SHANGHAI)
        try:
            # The reminder row and the outbox message commit together: a second
            # run finds the row, and a killed worker leaves the message to send.
            with transaction.atomic():
                MeetingReminder.objects.create(meeting=meeting, member=member)
                with in_language_of(member.user):
                    notify_on_commit(
                        member.user,
                        subject=_("Reminder: %(title)s") % {"title": meeting.title},
                        body=_("%(title)s starts at %(time)s at %(place)s (%(branch)s).")
                        % {
                            "title": meeting.title,
                            "time": local.strftime("%Y-%m-%d %H:%M"),
                            "place": meeting.place,
                            "branch": meeting.branch.title,
                        },
                        url="/me/",
                    )
        except IntegrityError:
            continue  # reminded already
        sent += 1
    return sent
