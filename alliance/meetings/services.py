"""Scheduling joint meetings (联席会议): convening one with its invitations,
moving it and cancelling it. Every invitee is told, with the link to the .ics
invitation; the agenda and the follow-ups it carries are in
``alliance.meetings.agenda``, answers and sign-in in
``alliance.meetings.attendance``.

Writes are keyword-only services in one transaction each. A refusal is a
``ValidationError`` (a message to show the person) or ``PermissionDenied``
(not theirs to do). Messages to people go through the outbox
(``portal.notify.notify_on_commit``), so a rolled-back change tells nobody."""

import datetime as dt
from collections.abc import Callable, Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.access import alliances_run_by
from alliance.meetings.agenda import agenda_carry_over, agenda_entries, next_position
from alliance.meetings.rules import (
    MAX_AGENDA,
    MAX_INVITEES,
    invite_ics_url,
    meeting_path,
    require_runner,
    require_scheduled,
    when_text,
)
from alliance.models import AgendaItem, Alliance, Invitation, JointMeeting, PartnerContact
from portal.i18n import in_language_of
from portal.notify import notify_on_commit

Status = JointMeeting.Status


# --- Checks and messages ----------------------------------------------------------------------


def _check_place_and_times(errors: dict, *, place, starts_at, ends_at, proposals_until) -> None:
    if not place:
        errors["place"] = _("Give the place of the meeting.")
    now = timezone.now()
    if starts_at is None:
        errors["starts_at"] = _("Give the start of the meeting.")
    elif starts_at <= now:
        errors["starts_at"] = _("The meeting must start in the future.")
    if ends_at is None:
        errors["ends_at"] = _("Give the end of the meeting.")
    elif starts_at is not None and ends_at <= starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    if proposals_until is None:
        errors["proposals_until"] = _("Give the deadline for agenda proposals.")
    elif starts_at is not None and proposals_until > starts_at:
        errors["proposals_until"] = _("Proposals must close before the meeting starts.")


def _notify_invitees(meeting: JointMeeting, message: Callable[[], tuple[str, str]]) -> None:
    """Tell every invitee; ``message()`` gives the (subject, body), written in
    each invitee's language."""
    for invitation in meeting.invitations.select_related("user").filter(user__is_active=True):
        with in_language_of(invitation.user):
            subject, body = message()
            notify_on_commit(invitation.user, subject=subject, body=body, url=meeting_path(meeting))


def _invitation_body(meeting: JointMeeting) -> str:
    return _(
        "%(alliance)s convenes the joint meeting “%(title)s”.\n"
        "Time: %(start)s–%(end)s\nPlace: %(place)s\n"
        "Agenda proposals until: %(until)s\n"
        "Please answer on the meeting's page whether you attend. "
        "Add it to your calendar: %(ics)s"
    ) % {
        "alliance": meeting.alliance.name,
        "title": meeting.title,
        "start": when_text(meeting.starts_at),
        "end": when_text(meeting.ends_at),
        "place": meeting.place,
        "until": when_text(meeting.proposals_until),
        "ics": invite_ics_url(meeting),
    }


# --- Convening --------------------------------------------------------------------------------


def _invitees(partners: list, members: Iterable) -> dict[int, tuple]:
    """Who is invited, by user id: (user, partner unit or None). Every contact
    with an active account of ``partners``, then each user in ``members``."""
    invitees: dict[int, tuple] = {}
    contacts = PartnerContact.objects.filter(
        partner__in=[p.pk for p in partners], user__isnull=False, user__is_active=True
    ).select_related("user", "partner")
    for contact in contacts:
        invitees.setdefault(contact.user_id, (contact.user, contact.partner))
    for user in members:
        invitees.setdefault(user.pk, (user, None))
    return invitees


def _check_invitees(
    errors: dict, *, alliance: Alliance, partners: list, invitees: dict, quorum: int
) -> None:
    ours = set(alliance.partners.values_list("pk", flat=True))
    outside = [p.name for p in partners if p.pk not in ours]
    if outside:
        errors["partners"] = _("Not partner units of this alliance: %(names)s") % {
            "names": "、".join(outside)
        }
    if not invitees and "partners" not in errors:
        errors["partners"] = _(
            "Invite at least one person: a partner unit with a contact account, or a member."
        )
    if len(invitees) > MAX_INVITEES:
        errors["members"] = _("Invite at most %(n)d people to one meeting.") % {"n": MAX_INVITEES}
    if quorum < 0 or (invitees and quorum > len(invitees)):
        errors["quorum"] = _("The quorum cannot be more than the %(n)d people invited.") % {
            "n": len(invitees)
        }


@transaction.atomic
def meeting_convene(
    *,
    alliance: Alliance,
    by,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    place: str,
    proposals_until: dt.datetime,
    quorum: int = 0,
    partners: Iterable = (),
    members: Iterable = (),
    agenda: Iterable = (),
) -> JointMeeting:
    """Convene a joint meeting of ``alliance`` (only its staff may).

    Invites every contact with an account of the ``partners`` (units of the
    alliance) and each user in ``members``; puts the open action items of the
    alliance's earlier meetings on the agenda as follow-ups, then the items in
    ``agenda`` (titles, or dicts with title, background, minutes_allotted);
    sends each invitee a message with the link to the .ics invitation."""
    if not alliances_run_by(by).filter(pk=alliance.pk).exists():
        raise PermissionDenied(_("You do not run this alliance."))
    title, place = (title or "").strip(), (place or "").strip()
    errors: dict = {}
    if not title:
        errors["title"] = _("Give the meeting a title.")
    _check_place_and_times(
        errors, place=place, starts_at=starts_at, ends_at=ends_at, proposals_until=proposals_until
    )
    partners = list(partners)
    invitees = _invitees(partners, members)
    quorum = int(quorum or 0)
    _check_invitees(errors, alliance=alliance, partners=partners, invitees=invitees, quorum=quorum)
    entries = agenda_entries(agenda)
    if len(entries) > MAX_AGENDA:
        errors["agenda"] = _("Put at most %(n)d items on the agenda.") % {"n": MAX_AGENDA}
    if errors:
        raise ValidationError(errors)

    meeting = JointMeeting(
        alliance=alliance,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
        convener=by,
        proposals_until=proposals_until,
        quorum=quorum,
    )
    meeting.full_clean()
    meeting.save()
    Invitation.objects.bulk_create(
        Invitation(meeting=meeting, user=user, partner=partner)
        for user, partner in invitees.values()
    )
    agenda_carry_over(meeting=meeting)
    start = next_position(meeting)
    AgendaItem.objects.bulk_create(
        AgendaItem(meeting=meeting, proposer=by, position=start + i, **entry)
        for i, entry in enumerate(entries)
    )
    _notify_invitees(
        meeting,
        lambda: (
            _("Meeting invitation: %(title)s") % {"title": meeting.title},
            _invitation_body(meeting),
        ),
    )
    return meeting


# --- Moving and cancelling --------------------------------------------------------------------


@transaction.atomic
def meeting_reschedule(
    *,
    meeting: JointMeeting,
    by,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    place: str | None = None,
    proposals_until: dt.datetime | None = None,
) -> JointMeeting:
    """Move a meeting (and/or its place): SEQUENCE goes up so calendar apps
    update the entry, and every invitee is told."""
    require_runner(by, meeting)
    require_scheduled(meeting)
    place = meeting.place if place is None else place.strip()
    proposals_until = proposals_until or min(meeting.proposals_until, starts_at)
    errors: dict = {}
    _check_place_and_times(
        errors, place=place, starts_at=starts_at, ends_at=ends_at, proposals_until=proposals_until
    )
    if errors:
        raise ValidationError(errors)
    changed = (meeting.starts_at, meeting.ends_at, meeting.place, meeting.proposals_until) != (
        starts_at,
        ends_at,
        place,
        proposals_until,
    )
    if not changed:
        return meeting
    meeting.starts_at, meeting.ends_at = starts_at, ends_at
    meeting.place, meeting.proposals_until = place, proposals_until
    meeting.save(update_fields=["starts_at", "ends_at", "place", "proposals_until"])
    agenda_carry_over(meeting=meeting)
    _notify_invitees(
        meeting,
        lambda: (
            _("Meeting moved: %(title)s") % {"title": meeting.title},
            _(
                "The joint meeting “%(title)s” now takes place %(start)s–%(end)s at %(place)s. "
                "Update your calendar: %(ics)s"
            )
            % {
                "title": meeting.title,
                "start": when_text(starts_at),
                "end": when_text(ends_at),
                "place": place,
                "ics": invite_ics_url(meeting),
            },
        ),
    )
    return meeting


@transaction.atomic
def meeting_cancel(*, meeting: JointMeeting, by, reason: str = "") -> JointMeeting:
    """Cancel a meeting: it stays listed as cancelled, its invitation file says
    so (METHOD:CANCEL, a higher SEQUENCE) and every invitee is told."""
    require_runner(by, meeting)
    require_scheduled(meeting)
    meeting.status = Status.CANCELLED
    meeting.save(update_fields=["status"])
    reason = (reason or "").strip()[:300]

    def message():
        body = _("The joint meeting “%(title)s” of %(start)s is cancelled.") % {
            "title": meeting.title,
            "start": when_text(meeting.starts_at),
        }
        if reason:
            body += "\n" + _("Reason: %(reason)s") % {"reason": reason}
        return _("Meeting cancelled: %(title)s") % {"title": meeting.title}, body

    _notify_invitees(meeting, message)
    return meeting
