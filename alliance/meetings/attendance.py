"""Answers and attendance at a joint meeting: an invitee's answer (attend,
send a deputy, decline), signing in with the convener's rotating code, the
convener marking someone present, and the count against the quorum.

A refusal is a ``ValidationError`` (a message to show the person) or
``PermissionDenied`` (not theirs to do)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.meetings.rules import (
    TOKEN_PURPOSE,
    meeting_path,
    require_runner,
    require_scheduled,
    sign_in_window,
    when_text,
)
from alliance.models import Invitation, JointMeeting
from portal import codes

Response = Invitation.Response
Status = JointMeeting.Status


def attendance_counts(meeting: JointMeeting) -> dict:
    """Who was invited, what they answered and who signed in (one query).

    ``expected`` (应到) is everyone invited; ``quorum_met`` compares those
    signed in with the meeting's quorum (always met when no quorum is set)."""
    counts = Invitation.objects.filter(meeting=meeting).aggregate(
        invited=Count("pk"),
        attending=Count("pk", filter=Q(response=Response.ATTEND)),
        deputies=Count("pk", filter=Q(response=Response.DEPUTY)),
        declined=Count("pk", filter=Q(response=Response.DECLINE)),
        pending=Count("pk", filter=Q(response=Response.PENDING)),
        signed_in=Count("pk", filter=Q(signed_in_at__isnull=False)),
    )
    counts["expected"] = counts["invited"]
    counts["quorum"] = meeting.quorum
    counts["quorum_met"] = counts["signed_in"] >= meeting.quorum
    return counts


@transaction.atomic
def invitation_rsvp(
    *, meeting: JointMeeting, user, response: str, deputy_name: str = ""
) -> Invitation:
    """An invitee's answer: attend, send a deputy (whose name is required) or
    decline. It can be changed until the meeting ends."""
    invitation = Invitation.objects.select_for_update().filter(meeting=meeting, user=user).first()
    if invitation is None:
        raise PermissionDenied(_("You are not invited to this meeting."))
    require_scheduled(meeting)
    if timezone.now() > meeting.ends_at:
        raise ValidationError(_("This meeting is over."))
    if response not in (Response.ATTEND, Response.DEPUTY, Response.DECLINE):
        raise ValidationError(_("Choose whether you attend, send a deputy or decline."))
    deputy_name = (deputy_name or "").strip()
    if response == Response.DEPUTY and not deputy_name:
        raise ValidationError(_("Give the name of the person you send in your place."))
    if len(deputy_name) > 50:
        raise ValidationError(_("Keep the deputy's name to 50 characters."))
    invitation.response = response
    invitation.deputy_name = deputy_name if response == Response.DEPUTY else ""
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["response", "deputy_name", "responded_at"])
    return invitation


def _check_sign_in_window(meeting: JointMeeting) -> None:
    if meeting.status == Status.CANCELLED:
        raise ValidationError(_("This meeting has been cancelled."))
    opens, closes = sign_in_window(meeting)
    now = timezone.now()
    if now < opens:
        raise ValidationError(
            _("Sign-in opens 30 minutes before the meeting, at %(time)s.")
            % {"time": when_text(opens)}
        )
    if now > closes:
        raise ValidationError(
            _("The meeting is over and sign-in has closed. Ask the convener to record you.")
        )


def meeting_sign_in(
    *, meeting: JointMeeting, user, token: str = "", digits: str = ""
) -> tuple[Invitation, bool]:
    """An invitee signs in with the convener's current code (the scanned
    ``token`` or the 6 ``digits``), from 30 minutes before the start until the
    end. A deputy signs in with the invitee's account, or the convener records
    them. Returns the invitation and whether it was already signed in (a second
    sign-in changes nothing). Wrong codes are throttled (``codes.verify``);
    the code is checked outside the write's transaction, so the convener's
    alert is not rolled back with the refusal."""
    invitation = Invitation.objects.filter(meeting=meeting, user=user).first()
    if invitation is None:
        raise PermissionDenied(_("You are not invited to this meeting."))
    _check_sign_in_window(meeting)
    if invitation.signed_in_at is not None:
        return invitation, True
    action = codes.verify(
        meeting.pk,
        user=user,
        token=token,
        digits=digits,
        purpose=TOKEN_PURPOSE,
        on_lockout=lambda: codes.alert_organisers(
            [meeting.convener], what=meeting.title, url=meeting_path(meeting)
        ),
    )
    if action != "in":
        raise ValidationError(_("This check-in code is not valid."))
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.signed_in_at is not None:
            return invitation, True
        invitation.signed_in_at = timezone.now()
        invitation.save(update_fields=["signed_in_at"])
    return invitation, False


@transaction.atomic
def meeting_sign_in_record(*, meeting: JointMeeting, by, invitation: Invitation) -> Invitation:
    """The convener marks an invitee (or their deputy) present, from 30 minutes
    before the start on. Recording twice changes nothing."""
    require_runner(by, meeting)
    if invitation.meeting_id != meeting.pk:
        raise ValidationError(_("This person is not invited to this meeting."))
    if meeting.status == Status.CANCELLED:
        raise ValidationError(_("This meeting has been cancelled."))
    opens, _closes = sign_in_window(meeting)
    if timezone.now() < opens:
        raise ValidationError(
            _("Sign-in opens 30 minutes before the meeting, at %(time)s.")
            % {"time": when_text(opens)}
        )
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.signed_in_at is None:
        invitation.signed_in_at = timezone.now()
        invitation.save(update_fields=["signed_in_at"])
    return invitation
