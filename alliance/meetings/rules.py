"""The rules of a joint meeting that its services and pages share, read-only:
what one meeting may hold, when agenda proposals and sign-in are open, who is
invited (and who came) and whom the convener may invite, who may run the
meeting (``require_runner``) and whether it is still to be held
(``require_scheduled``), and the meeting's addresses and times as messages
write them."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.access import can_run
from alliance.models import Alliance, Invitation, JointMeeting
from portal.calendars import SHANGHAI
from portal.links import absolute_url

Status = JointMeeting.Status

# Invitees may sign in from this long before the start until the end.
EARLY_SIGN_IN = dt.timedelta(minutes=30)
# What one meeting may hold: invitees and agenda items (lists stay bounded).
MAX_INVITEES = 300
MAX_AGENDA = 60
MAX_MINUTES_ALLOTTED = 240
MAX_BACKGROUND = 4000
# The purpose the convener's rotating sign-in code is made for (portal.codes).
TOKEN_PURPOSE = "meeting"


# --- Invitees ---------------------------------------------------------------------------------


def invitation_of(meeting: JointMeeting, user) -> Invitation | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Invitation.objects.filter(meeting=meeting, user=user).first()


def is_invited(user, meeting: JointMeeting) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return Invitation.objects.filter(meeting=meeting, user=user).exists()


def attending(qs: QuerySet) -> QuerySet:
    """Invitations of people who came: answered attend or deputy, or signed in."""
    return qs.filter(
        Q(response__in=(Invitation.Response.ATTEND, Invitation.Response.DEPUTY))
        | Q(signed_in_at__isnull=False)
    )


def is_attendee(user, meeting: JointMeeting) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return attending(Invitation.objects.filter(meeting=meeting, user=user)).exists()


def member_choices(alliance: Alliance, *, query: str = ""):
    """Active users with a member record in the alliance's branches (whom the
    convener may invite), by branch and name; the caller slices the list."""
    qs = (
        get_user_model()
        .objects.filter(member__branch__in=alliance.branches.all(), is_active=True)
        .select_related("member__branch")
        .order_by("member__branch__path", "member__name", "pk")
    )
    if query:
        qs = qs.filter(member__name__icontains=query.strip()[:50])
    return qs


# --- When things are open ---------------------------------------------------------------------


def sign_in_window(meeting: JointMeeting) -> tuple[dt.datetime, dt.datetime]:
    return meeting.starts_at - EARLY_SIGN_IN, meeting.ends_at


def sign_in_open(meeting: JointMeeting, now: dt.datetime | None = None) -> bool:
    opens, closes = sign_in_window(meeting)
    now = now or timezone.now()
    return meeting.status != Status.CANCELLED and opens <= now <= closes


def proposals_open(meeting: JointMeeting, now: dt.datetime | None = None) -> bool:
    return meeting.status == Status.SCHEDULED and (now or timezone.now()) <= meeting.proposals_until


# --- Checks before a write --------------------------------------------------------------------


def require_runner(user, meeting: JointMeeting) -> None:
    if not can_run(user, meeting):
        raise PermissionDenied(_("Only the convener and the alliance's staff may do this."))


def require_scheduled(meeting: JointMeeting) -> None:
    if meeting.status == Status.CANCELLED:
        raise ValidationError(_("This meeting has been cancelled."))
    if meeting.status == Status.HELD:
        raise ValidationError(_("This meeting has already been held."))


# --- Addresses and times in messages ----------------------------------------------------------


def when_text(moment: dt.datetime) -> str:
    """A moment as messages write it, in Asia/Shanghai (``2026-05-01 09:00``)."""
    return timezone.localtime(moment, SHANGHAI).strftime("%Y-%m-%d %H:%M")


def meeting_path(meeting: JointMeeting) -> str:
    return reverse("meeting_detail", args=[meeting.pk])


def invite_ics_url(meeting: JointMeeting) -> str:
    """The absolute address of the meeting's .ics invitation (for messages)."""
    return absolute_url(reverse("meeting_ics", args=[meeting.pk]))
