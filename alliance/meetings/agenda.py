"""The agenda of a joint meeting (议题): the items the convener puts on it,
partners' and members' proposals before the deadline (which the convener
accepts or declines), the order of the items, and the follow-up of every open
action item of the alliance's earlier meetings (``agenda_carry_over``)."""

from collections.abc import Iterable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.access import can_run, partner_of
from alliance.meetings.rules import (
    MAX_AGENDA,
    MAX_BACKGROUND,
    MAX_MINUTES_ALLOTTED,
    invitation_of,
    meeting_path,
    require_runner,
    require_scheduled,
    when_text,
)
from alliance.models import ActionItem, ActionProgress, AgendaItem, JointMeeting, Minutes
from alliance.names import person_name
from portal.i18n import in_language_of
from portal.notify import notify_on_commit
from search.tasks import index_later

# --- Positions and the items given at convening -----------------------------------------------


def agenda_entries(agenda: Iterable) -> list[dict]:
    """The items given when convening (titles, or dicts with title, background,
    minutes_allotted), cleaned; empty titles are dropped."""
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


def next_position(meeting: JointMeeting) -> int:
    """The position after the last item on the meeting's agenda."""
    top = AgendaItem.objects.filter(meeting=meeting).aggregate(top=Max("position"))["top"]
    return (top or 0) + 1


# --- Follow-ups of open action items ----------------------------------------------------------


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
    start = next_position(meeting)
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


# --- Proposals, decisions and order -----------------------------------------------------------


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
    require_scheduled(meeting)
    if not runner and timezone.now() > meeting.proposals_until:
        raise ValidationError(
            _(
                "Agenda proposals closed at %(when)s. "
                "Ask the convener if the item still needs to be discussed."
            )
            % {"when": when_text(meeting.proposals_until)}
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
        position=next_position(meeting),
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
    require_runner(by, meeting)
    require_scheduled(meeting)
    status = AgendaItem.Status.ACCEPTED if accept else AgendaItem.Status.DECLINED
    if item.status == status:
        return item
    item.status = status
    fields = ["status"]
    if accept:
        item.position = next_position(meeting)
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
                % {"meeting": meeting.title, "start": when_text(meeting.starts_at)},
                url=meeting_path(meeting),
            )
    return item


@transaction.atomic
def agenda_reorder(*, meeting: JointMeeting, by, order: Sequence[int]) -> None:
    """Set the order of the agenda: ``order`` lists the ids of all accepted items."""
    require_runner(by, meeting)
    require_scheduled(meeting)
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
