"""Joint meetings (联席会议) of an alliance: convening with invitations, the
agenda (partners' proposals before a deadline, and the follow-up of every open
action item of earlier meetings), answers (attend, send a deputy, decline),
sign-in with the convener's rotating code, quorum, moving and cancelling, and
the iCalendar invitation.

Writes are keyword-only services in one transaction each. A refusal is a
``ValidationError`` (a message to show the person) or ``PermissionDenied``
(not theirs to do). Messages to people go through the outbox
(``portal.notify.notify_on_commit``), so a rolled-back change tells nobody."""

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence

import icalendar
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.access import alliances_run_by, can_run, partner_of
from alliance.models import (
    ActionItem,
    ActionProgress,
    AgendaItem,
    Alliance,
    Invitation,
    JointMeeting,
    Minutes,
    PartnerContact,
)
from portal import codes, names
from portal.calendars import SHANGHAI, CalendarItem, build_calendar
from portal.i18n import in_language_of
from portal.links import absolute_url
from portal.notify import notify_on_commit
from search.tasks import index_later

Response = Invitation.Response
Status = JointMeeting.Status

# Invitees may sign in from this long before the start until the end.
EARLY_SIGN_IN = dt.timedelta(minutes=30)
# What one meeting may hold: invitees and agenda items (lists stay bounded).
MAX_INVITEES = 300
MAX_AGENDA = 60
MAX_MINUTES_ALLOTTED = 240
MAX_BACKGROUND = 4000
TOKEN_PURPOSE = "meeting"


# --- Small reads ------------------------------------------------------------------------------


def person_name(user) -> str:
    """How a person is called on meeting pages and in minutes: their
    partner-contact name, else the portal's rule (``portal.names.person_name``)."""
    if user is None:
        return ""
    contact = getattr(user, "partner_contact", None) if hasattr(user, "partner_contact") else None
    if contact is not None and contact.name:
        return contact.name
    return names.person_name(user)


def invitation_of(meeting: JointMeeting, user) -> Invitation | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Invitation.objects.filter(meeting=meeting, user=user).first()


def sign_in_window(meeting: JointMeeting) -> tuple[dt.datetime, dt.datetime]:
    return meeting.starts_at - EARLY_SIGN_IN, meeting.ends_at


def sign_in_open(meeting: JointMeeting, now: dt.datetime | None = None) -> bool:
    opens, closes = sign_in_window(meeting)
    now = now or timezone.now()
    return meeting.status != Status.CANCELLED and opens <= now <= closes


def proposals_open(meeting: JointMeeting, now: dt.datetime | None = None) -> bool:
    return meeting.status == Status.SCHEDULED and (now or timezone.now()) <= meeting.proposals_until


def attendance(meeting: JointMeeting) -> dict:
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


def meeting_path(meeting: JointMeeting) -> str:
    return reverse("meeting_detail", args=[meeting.pk])


def invite_ics_url(meeting: JointMeeting) -> str:
    """The absolute address of the meeting's .ics invitation (for messages)."""
    return absolute_url(reverse("meeting_ics", args=[meeting.pk]))


# --- iCalendar --------------------------------------------------------------------------------

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


# --- Helpers ----------------------------------------------------------------------------------


def _when(moment: dt.datetime) -> str:
    return timezone.localtime(moment, SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _require_runner(user, meeting: JointMeeting) -> None:
    if not can_run(user, meeting):
        raise PermissionDenied(_("Only the convener and the alliance's staff may do this."))


def _require_scheduled(meeting: JointMeeting) -> None:
    if meeting.status == Status.CANCELLED:
        raise ValidationError(_("This meeting has been cancelled."))
    if meeting.status == Status.HELD:
        raise ValidationError(_("This meeting has already been held."))


def _check_times(errors: dict, *, starts_at, ends_at, proposals_until, now) -> None:
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


def _agenda_entries(agenda) -> list[dict]:
    entries = []
    for entry in agenda:
        if isinstance(entry, str):
            entry = {"title": entry}
        title = (entry.get("title") or "").strip()
        if title:
            entries.append(
                {
                    "title": title[:150],
                    "background": (entry.get("background") or "").strip()[:MAX_BACKGROUND],
                    "minutes_allotted": int(entry.get("minutes_allotted") or 15),
                }
            )
    return entries


def _next_position(meeting: JointMeeting) -> int:
    top = AgendaItem.objects.filter(meeting=meeting).aggregate(top=Max("position"))["top"]
    return (top or 0) + 1


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
        "start": _when(meeting.starts_at),
        "end": _when(meeting.ends_at),
        "place": meeting.place,
        "until": _when(meeting.proposals_until),
        "ics": invite_ics_url(meeting),
    }


# --- Convening --------------------------------------------------------------------------------


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
    if not place:
        errors["place"] = _("Give the place of the meeting.")
    _check_times(
        errors,
        starts_at=starts_at,
        ends_at=ends_at,
        proposals_until=proposals_until,
        now=timezone.now(),
    )
    partners = list(partners)
    ours = set(alliance.partners.values_list("pk", flat=True))
    outside = [p.name for p in partners if p.pk not in ours]
    if outside:
        errors["partners"] = _("Not partner units of this alliance: %(names)s") % {
            "names": "、".join(outside)
        }
    invitees: dict[int, tuple] = {}
    contacts = PartnerContact.objects.filter(
        partner__in=[p.pk for p in partners], user__isnull=False, user__is_active=True
    ).select_related("user", "partner")
    for contact in contacts:
        invitees.setdefault(contact.user_id, (contact.user, contact.partner))
    for user in members:
        invitees.setdefault(user.pk, (user, None))
    if not invitees and "partners" not in errors:
        errors["partners"] = _(
            "Invite at least one person: a partner unit with a contact account, or a member."
        )
    if len(invitees) > MAX_INVITEES:
        errors["members"] = _("Invite at most %(n)d people to one meeting.") % {"n": MAX_INVITEES}
    quorum = int(quorum or 0)
    if quorum < 0 or (invitees and quorum > len(invitees)):
        errors["quorum"] = _("The quorum cannot be more than the %(n)d people invited.") % {
            "n": len(invitees)
        }
    entries = _agenda_entries(agenda)
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
    start = _next_position(meeting)
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


def _follow_up_background(action: ActionItem) -> str:
    unit = action.owner_partner or action.owner_branch
    lines = [
        _("Owner: %(unit)s") % {"unit": unit}
        + (
            _(" (person in charge: %(name)s)") % {"name": person_name(action.owner)}
            if action.owner
            else ""
        ),
        _("Due on: %(date)s") % {"date": action.due_on.isoformat()},
        _("Latest progress: %(note)s") % {"note": action.latest_note}
        if action.latest_note
        else _("Latest progress: none reported yet"),
    ]
    if action.expected_result:
        lines.insert(2, _("Expected result: %(text)s") % {"text": action.expected_result})
    return "\n".join(lines)[:MAX_BACKGROUND]


@transaction.atomic
def agenda_carry_over(*, meeting: JointMeeting) -> list[AgendaItem]:
    """Put every open action item of the alliance's earlier meetings on this
    meeting's agenda as a follow-up (督办跟进), accepted, after the items already
    there. Items already carried into this meeting are skipped, so it is safe to
    run again (it runs when a meeting is convened or moved, and when minutes
    with action items are published)."""
    # Lock the meeting: two carry-overs at once must not both add an item.
    JointMeeting.objects.select_for_update().filter(pk=meeting.pk).first()
    carried = AgendaItem.objects.filter(meeting=meeting, carried_from__isnull=False).values(
        "carried_from"
    )
    latest = ActionProgress.objects.filter(action=OuterRef("pk")).order_by("-created_at", "-id")
    actions = list(
        ActionItem.objects.filter(
            meeting__alliance_id=meeting.alliance_id,
            meeting__starts_at__lt=meeting.starts_at,
            # Action items count once their minutes are published.
            meeting__minutes__state=Minutes.State.PUBLISHED,
            status=ActionItem.Status.OPEN,
        )
        .exclude(meeting=meeting)
        .exclude(pk__in=carried)
        .select_related("owner_partner", "owner_branch", "owner__member", "owner__partner_contact")
        .annotate(latest_note=Subquery(latest.values("note")[:1]))
        .order_by("due_on", "id")
    )
    start = _next_position(meeting)
    items = AgendaItem.objects.bulk_create(
        AgendaItem(
            meeting=meeting,
            title=(_("Follow-up: %(title)s") % {"title": action.title})[:150],
            background=_follow_up_background(action),
            status=AgendaItem.Status.ACCEPTED,
            carried_from=action,
            position=start + i,
            minutes_allotted=10,
        )
        for i, action in enumerate(actions)
    )
    if items:
        # The meeting's document lists its agenda; bulk_create saves no meeting.
        index_later(JointMeeting, [meeting.pk])
    return items


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
    _require_runner(by, meeting)
    _require_scheduled(meeting)
    place = meeting.place if place is None else place.strip()
    proposals_until = proposals_until or min(meeting.proposals_until, starts_at)
    errors: dict = {}
    if not place:
        errors["place"] = _("Give the place of the meeting.")
    _check_times(
        errors,
        starts_at=starts_at,
        ends_at=ends_at,
        proposals_until=proposals_until,
        now=timezone.now(),
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
                "start": _when(starts_at),
                "end": _when(ends_at),
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
    _require_runner(by, meeting)
    _require_scheduled(meeting)
    meeting.status = Status.CANCELLED
    meeting.save(update_fields=["status"])
    reason = (reason or "").strip()[:300]

    def message():
        body = _("The joint meeting “%(title)s” of %(start)s is cancelled.") % {
            "title": meeting.title,
            "start": _when(meeting.starts_at),
        }
        if reason:
            body += "\n" + _("Reason: %(reason)s") % {"reason": reason}
        return _("Meeting cancelled: %(title)s") % {"title": meeting.title}, body

    _notify_invitees(meeting, message)
    return meeting


# --- Agenda -----------------------------------------------------------------------------------


@transaction.atomic
def agenda_propose(
    *,
    meeting: JointMeeting,
    by,
    title: str,
    background: str,
    minutes_allotted: int,
    attachment=None,
) -> AgendaItem:
    """An invitee (a partner contact or a member) proposes an agenda item before
    the meeting's deadline; the convener then accepts or declines it. Items the
    convener or the alliance's staff add go straight on the agenda, also after
    the deadline."""
    runner = can_run(by, meeting)
    invitation = invitation_of(meeting, by)
    if invitation is None and not runner:
        raise PermissionDenied(_("Only the people invited to this meeting may propose items."))
    _require_scheduled(meeting)
    if not runner and timezone.now() > meeting.proposals_until:
        raise ValidationError(
            _(
                "Agenda proposals closed at %(when)s. "
                "Ask the convener if the item still needs to be discussed."
            )
            % {"when": _when(meeting.proposals_until)}
        )
    title, background = (title or "").strip(), (background or "").strip()
    errors = {}
    if not title:
        errors["title"] = _("Give the item a title.")
    elif len(title) > 150:
        errors["title"] = _("Keep the title to 150 characters.")
    if len(background) > MAX_BACKGROUND:
        errors["background"] = _("Keep the background to %(n)d characters.") % {"n": MAX_BACKGROUND}
    try:
        minutes_allotted = int(minutes_allotted)
    except (TypeError, ValueError):
        minutes_allotted = 0
    if not 1 <= minutes_allotted <= MAX_MINUTES_ALLOTTED:
        errors["minutes_allotted"] = _("Give the time needed in minutes (1–%(n)d).") % {
            "n": MAX_MINUTES_ALLOTTED
        }
    if meeting.agenda.count() >= MAX_AGENDA:
        errors["title"] = _("The agenda is full (%(n)d items).") % {"n": MAX_AGENDA}
    if errors:
        raise ValidationError(errors)
    partner = (invitation.partner if invitation else None) or partner_of(by)
    item = AgendaItem.objects.create(
        meeting=meeting,
        title=title,
        background=background,
        minutes_allotted=minutes_allotted,
        attachment=attachment,
        proposer=by,
        proposer_partner=partner,
        position=_next_position(meeting),
        status=AgendaItem.Status.ACCEPTED if runner else AgendaItem.Status.PROPOSED,
    )
    if not runner and meeting.convener.is_active:
        with in_language_of(meeting.convener):
            notify_on_commit(
                meeting.convener,
                subject=_("Agenda proposal: %(title)s") % {"title": title},
                body=_("%(name)s proposes “%(title)s” for the joint meeting “%(meeting)s”.")
                % {"name": person_name(by), "title": title, "meeting": meeting.title},
                url=meeting_path(meeting),
            )
    return item


@transaction.atomic
def agenda_decide(*, item: AgendaItem, by, accept: bool) -> AgendaItem:
    """Put a proposed item on the agenda (at the end) or decline it; the
    proposer is told."""
    meeting = item.meeting
    _require_runner(by, meeting)
    _require_scheduled(meeting)
    status = AgendaItem.Status.ACCEPTED if accept else AgendaItem.Status.DECLINED
    if item.status == status:
        return item
    item.status = status
    fields = ["status"]
    if accept:
        item.position = _next_position(meeting)
        fields.append("position")
    item.save(update_fields=fields)
    if item.proposer_id and item.proposer_id != by.pk and item.proposer.is_active:
        with in_language_of(item.proposer):
            subject = (
                _("Your item is on the agenda: %(title)s")
                if accept
                else _("Your item is not taken: %(title)s")
            )
            notify_on_commit(
                item.proposer,
                subject=subject % {"title": item.title},
                body=_("Joint meeting “%(meeting)s”, %(start)s.")
                % {"meeting": meeting.title, "start": _when(meeting.starts_at)},
                url=meeting_path(meeting),
            )
    return item


@transaction.atomic
def agenda_reorder(*, meeting: JointMeeting, by, order: Sequence[int]) -> None:
    """Set the order of the agenda: ``order`` lists the ids of all accepted items."""
    _require_runner(by, meeting)
    _require_scheduled(meeting)
    items = {
        item.pk: item
        for item in AgendaItem.objects.select_for_update().filter(
            meeting=meeting, status=AgendaItem.Status.ACCEPTED
        )
    }
    order = [int(pk) for pk in order]
    if sorted(order) != sorted(items):
        raise ValidationError(_("The agenda has changed meanwhile. Reload the page and try again."))
    for position, pk in enumerate(order, start=1):
        items[pk].position = position
    AgendaItem.objects.bulk_update(items.values(), ["position"])
    index_later(JointMeeting, [meeting.pk])  # its document lists the agenda in order


def agenda_move(*, item: AgendaItem, by, up: bool) -> None:
    """Move an accepted item one place up or down."""
    order = list(
        AgendaItem.objects.filter(meeting=item.meeting_id, status=AgendaItem.Status.ACCEPTED)
        .order_by("position", "id")
        .values_list("pk", flat=True)
    )
    if item.pk not in order:
        raise ValidationError(_("Only items on the agenda can be moved."))
    i = order.index(item.pk)
    j = i - 1 if up else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
    agenda_reorder(meeting=item.meeting, by=by, order=order)


# --- Answers and sign-in ----------------------------------------------------------------------


@transaction.atomic
def rsvp(*, meeting: JointMeeting, user, response: str, deputy_name: str = "") -> Invitation:
    """An invitee's answer: attend, send a deputy (whose name is required) or
    decline. It can be changed until the meeting ends."""
    invitation = Invitation.objects.select_for_update().filter(meeting=meeting, user=user).first()
    if invitation is None:
        raise PermissionDenied(_("You are not invited to this meeting."))
    _require_scheduled(meeting)
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
            _("Sign-in opens 30 minutes before the meeting, at %(time)s.") % {"time": _when(opens)}
        )
    if now > closes:
        raise ValidationError(
            _("The meeting is over and sign-in has closed. Ask the convener to record you.")
        )


def sign_in(
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
def sign_in_record(*, meeting: JointMeeting, by, invitation: Invitation) -> Invitation:
    """The convener marks an invitee (or their deputy) present, from 30 minutes
    before the start on. Recording twice changes nothing."""
    _require_runner(by, meeting)
    if invitation.meeting_id != meeting.pk:
        raise ValidationError(_("This person is not invited to this meeting."))
    if meeting.status == Status.CANCELLED:
        raise ValidationError(_("This meeting has been cancelled."))
    opens, _closes = sign_in_window(meeting)
    if timezone.now() < opens:
        raise ValidationError(
            _("Sign-in opens 30 minutes before the meeting, at %(time)s.") % {"time": _when(opens)}
        )
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.signed_in_at is None:
        invitation.signed_in_at = timezone.now()
        invitation.save(update_fields=["signed_in_at"])
    return invitation


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
