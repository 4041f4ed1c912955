"""The minutes of a joint meeting (联席会议纪要) and the action items they decide.

The workflow, on ``Minutes.state``::

    draft ──circulate──▶ circulated ──approve (convener)──▶ approved ──publish──▶ published
      ▲                      │
      └──────revise──────────┘

- draft: the meeting's staff (``alliance.access.can_run``) save the summary,
  per agenda item the discussion and resolutions, and the action items;
- circulated: the attendees and the staff comment per agenda item; the staff
  take the minutes back to draft to revise them; the convener approves them;
- approved: the staff publish them; the action items go live and their owners
  are told.

Every save and every change of state stores a full snapshot as a numbered
``MinutesVersion``, so what was circulated, commented on and approved stays
retrievable. Action items exist as rows from the draft on, but count (are
"live": followed up, reminded, updated) only once their minutes are published.
"""

import datetime as dt
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from alliance.access import actions_updatable_by, can_run
from alliance.meetings import agenda_carry_over, person_name
from alliance.models import (
    ActionItem,
    ActionProgress,
    AgendaItem,
    Invitation,
    JointMeeting,
    Kind,
    Minutes,
    MinutesComment,
    MinutesEntry,
    MinutesVersion,
    Need,
    Partner,
    PartnerContact,
    Project,
)
from branches.models import GridBranchPage
from portal.i18n import in_language_of
from portal.links import absolute_url
from portal.models import Role, RoleAssignment
from portal.notify import notify_on_commit
from portal.scheduling import run_at

State = Minutes.State

# What each state allows. Who may do it is decided by ``may``.
SAVE, CIRCULATE, COMMENT, REVISE, APPROVE, PUBLISH = (
    "save",
    "circulate",
    "comment",
    "revise",
    "approve",
    "publish",
)
ALLOWED = {
    State.DRAFT: (SAVE, CIRCULATE),
    State.CIRCULATED: (COMMENT, REVISE, APPROVE),
    State.APPROVED: (PUBLISH,),
    State.PUBLISHED: (),
}
MAX_COMMENT = 2000
# Overdue reminders go out at this local hour on the day after the due date.
REMINDER_HOUR = 9
VERIFY_SALT = "alliance.minutes.verify"


# --- People ---------------------------------------------------------------------------------


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


def is_invited(user, meeting: JointMeeting) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return Invitation.objects.filter(meeting=meeting, user=user).exists()


def owner_units(meeting: JointMeeting) -> tuple[list[Partner], list[GridBranchPage]]:
    """The units an action item of ``meeting`` may be given to: the alliance's
    partners and branches (and the convening unit, when it is a branch)."""
    alliance = meeting.alliance
    partners = list(alliance.partners.order_by("name"))
    branches = list(
        GridBranchPage.objects.filter(
            Q(pk__in=alliance.branches.values("pk")) | Q(pk=alliance.unit_id)
        ).order_by("path")
    )
    return partners, branches


def owner_people(meeting: JointMeeting) -> QuerySet:
    """The people an action item of ``meeting`` may be given to: its invitees,
    its convener and the contacts of the alliance's partners."""
    contacts = PartnerContact.objects.filter(
        partner__in=meeting.alliance.partners.all(), user__isnull=False
    ).values("user")
    return (
        get_user_model()
        .objects.filter(
            Q(meeting_invitations__meeting=meeting) | Q(pk=meeting.convener_id) | Q(pk__in=contacts)
        )
        .distinct()
        .order_by("username")
    )


# --- Who may do what ------------------------------------------------------------------------


def may(user, minutes: Minutes, action: str) -> bool:
    """Whether ``user`` may do ``action`` to ``minutes`` in their current state."""
    if action not in ALLOWED[minutes.state] or not getattr(user, "is_authenticated", False):
        return False
    meeting = minutes.meeting
    if action == APPROVE:
        return meeting.convener_id == user.pk
    if action == COMMENT:
        return can_run(user, meeting) or is_attendee(user, meeting)
    return can_run(user, meeting)


def allowed_actions(user, minutes: Minutes) -> list[str]:
    """The changes of state the state bar offers ``user`` (saving is the
    editor's button, comments are offered per item)."""
    return [a for a in ALLOWED[minutes.state] if a not in (SAVE, COMMENT) and may(user, minutes, a)]


def may_read(user, minutes: Minutes | None, meeting: JointMeeting) -> bool:
    """The staff read minutes in any state; invitees once they are circulated
    (a draft, also one being revised, is the staff's)."""
    if can_run(user, meeting):
        return True
    return minutes is not None and minutes.state != State.DRAFT and is_invited(user, meeting)


def _refuse(minutes: Minutes, action: str, user) -> None:
    if action not in ALLOWED[minutes.state]:
        raise ValidationError(
            _("The minutes are “%(state)s”: this cannot be done now.")
            % {"state": minutes.get_state_display()}
        )
    if not may(user, minutes, action):
        if action == APPROVE:
            raise PermissionDenied(_("Only the convener of the meeting may approve the minutes."))
        if action == COMMENT:
            raise PermissionDenied(_("Only the attendees and the staff may comment."))
        raise PermissionDenied(_("Only the staff running this meeting may do this."))


def _lock(minutes: Minutes, action: str, user) -> Minutes:
    """The minutes row, locked for this transaction, after checking ``action``."""
    locked = (
        Minutes.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=minutes.pk)
    )
    _refuse(locked, action, user)
    return locked


def _sync(target: Minutes, source: Minutes) -> Minutes:
    """Bring the caller's instance up to date with what was saved."""
    for field in ("state", "summary", "version", "approved_by_id", "approved_at", "published_at"):
        setattr(target, field, getattr(source, field))
    return target


# --- Versions -------------------------------------------------------------------------------


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def minutes_content(minutes: Minutes) -> dict[str, Any]:
    """The full content of the minutes as it is now, as stored in a version:
    the meeting, the summary and, per agenda item, its discussion, resolutions
    and action items."""
    meeting = minutes.meeting
    entries = list(minutes.entries.select_related("agenda_item__proposer_partner"))
    actions = defaultdict(list)
    for action in (
        ActionItem.objects.filter(meeting=meeting)
        .select_related("owner_partner", "owner_branch", "owner__partner_contact", "owner__member")
        .order_by("due_on", "id")
    ):
        actions[action.agenda_item_id].append(
            {
                "id": action.pk,
                "title": action.title,
                "owner_unit": str(action.owner_partner or action.owner_branch or ""),
                "owner_partner": action.owner_partner_id,
                "owner_branch": action.owner_branch_id,
                "owner": action.owner_id,
                "owner_name": person_name(action.owner),
                "due_on": _iso(action.due_on),
                "expected_result": action.expected_result,
                "status": action.status,
            }
        )
    return {
        "meeting": {
            "title": meeting.title,
            "starts_at": _iso(meeting.starts_at),
            "ends_at": _iso(meeting.ends_at),
            "place": meeting.place,
        },
        "summary": minutes.summary,
        "items": [
            {
                "agenda_item": entry.agenda_item_id,
                "title": entry.agenda_item.title,
                "proposer": str(entry.agenda_item.proposer_partner or ""),
                "discussion": entry.discussion,
                "resolutions": resolution_lines(entry.resolutions),
                "actions": actions.get(entry.agenda_item_id, []),
            }
            for entry in entries
        ],
    }


def _store_version(minutes: Minutes, by) -> MinutesVersion:
    minutes.version += 1
    minutes.save()
    return MinutesVersion.objects.create(
        minutes=minutes,
        number=minutes.version,
        state=minutes.state,
        content=minutes_content(minutes),
        author=by,
    )


def resolution_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _ensure_entries(minutes: Minutes) -> None:
    """An entry for every accepted agenda item (items accepted after the
    minutes were started get theirs on the next save)."""
    missing = AgendaItem.objects.filter(
        meeting_id=minutes.meeting_id, status=AgendaItem.Status.ACCEPTED, minutes_entry__isnull=True
    )
    MinutesEntry.objects.bulk_create(
        MinutesEntry(minutes=minutes, agenda_item=item) for item in missing
    )


# --- The workflow ---------------------------------------------------------------------------


@transaction.atomic
def minutes_start(*, meeting: JointMeeting, by) -> Minutes:
    """Open the draft minutes of ``meeting`` with an empty entry per accepted
    agenda item (version 1). Starting them again returns the existing minutes."""
    if not can_run(by, meeting):
        raise PermissionDenied(_("Only the staff running this meeting may do this."))
    meeting = JointMeeting.objects.select_for_update().get(pk=meeting.pk)
    existing = Minutes.objects.filter(meeting=meeting).first()
    if existing is not None:
        return existing
    if meeting.status == JointMeeting.Status.CANCELLED:
        raise ValidationError(_("The meeting was cancelled: it has no minutes."))
    minutes = Minutes.objects.create(meeting=meeting)
    _ensure_entries(minutes)
    _store_version(minutes, by)
    return minutes


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localdate(value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return parse_date(value.strip())
        except ValueError:
            return None
    return None


def _pk(value) -> int | None:
    if value in (None, ""):
        return None
    if hasattr(value, "pk"):
        return value.pk
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # never a valid choice


def _clean_action(data: dict, *, existing: ActionItem | None, units, people, items, today):
    """The field values of one action row, or a list of error messages."""
    errors = []
    partners, branches = units
    title = (data.get("title") or "").strip()
    if not title:
        errors.append(_("Say what is to be done."))
    elif len(title) > 200:
        errors.append(_("Keep the action to 200 characters."))
    item = existing.agenda_item_id if existing else _pk(data.get("agenda_item"))
    if item not in items:
        errors.append(_("Choose an agenda item of this meeting."))
    owner_partner, owner_branch = _pk(data.get("owner_partner")), _pk(data.get("owner_branch"))
    if owner_partner is None and owner_branch is None:
        errors.append(_("Choose the unit responsible."))
    if owner_partner is not None and owner_partner not in partners:
        errors.append(_("The unit responsible must be a partner or branch of this alliance."))
    if owner_branch is not None and owner_branch not in branches:
        errors.append(_("The unit responsible must be a partner or branch of this alliance."))
    owner = _pk(data.get("owner"))
    if owner is not None and owner not in people:
        errors.append(_("The person responsible must be an invitee or a partner contact."))
    due_on = _as_date(data.get("due_on"))
    if due_on is None:
        errors.append(_("Give the due date, e.g. 2026-06-30."))
    elif due_on < today and (existing is None or existing.due_on != due_on):
        errors.append(_("The due date cannot be in the past."))
    if errors:
        return None, list(dict.fromkeys(errors))
    return {
        "agenda_item_id": item,
        "title": title,
        "owner_partner_id": owner_partner,
        "owner_branch_id": owner_branch,
        "owner_id": owner,
        "due_on": due_on,
        "expected_result": (data.get("expected_result") or "").strip(),
    }, []


@transaction.atomic
def minutes_save(
    *,
    minutes: Minutes,
    by,
    summary: str | None = None,
    entries: dict | None = None,
    actions: list[dict] | None = None,
) -> Minutes:
    """Save the draft: the summary, ``entries`` as ``{agenda_item_id:
    {"discussion": …, "resolutions": text or list}}`` and ``actions``, a list of
    rows ``{"id" (to update), "agenda_item" (to create), "title",
    "owner_partner" / "owner_branch" (one required), "owner", "due_on",
    "expected_result", "delete": bool, "key": label for errors}``. Refused as a
    whole, with the errors keyed by row, when any row is wrong. Stores a version."""
    locked = _lock(minutes, SAVE, by)
    meeting = locked.meeting
    _ensure_entries(locked)
    by_item = {e.agenda_item_id: e for e in locked.entries.all()}
    errors: dict[str, list[str]] = {}

    cleaned_entries = []
    for item_id, values in (entries or {}).items():
        entry = by_item.get(_pk(item_id))
        if entry is None:
            errors.setdefault("entries", []).append(_("Choose an agenda item of this meeting."))
            continue
        resolutions = values.get("resolutions", entry.resolutions)
        if isinstance(resolutions, list | tuple):
            resolutions = "\n".join(str(r) for r in resolutions)
        cleaned_entries.append(
            (
                entry,
                (values.get("discussion") or "").strip(),
                "\n".join(resolution_lines(resolutions)),
            )
        )

    existing = {a.pk: a for a in ActionItem.objects.filter(meeting=meeting)}
    partners, branches = owner_units(meeting)
    units = ({p.pk for p in partners}, {b.pk for b in branches})
    people = set(owner_people(meeting).values_list("pk", flat=True))
    today = timezone.localdate()
    writes, deletes = [], []
    for index, row in enumerate(actions or []):
        key = str(row.get("key") or index)
        current = None
        if row.get("id") not in (None, ""):
            current = existing.get(_pk(row["id"]))
            if current is None:
                errors[key] = [_("This action item is not part of these minutes.")]
                continue
        if row.get("delete"):
            if current is not None:
                deletes.append(current)
            continue
        values, row_errors = _clean_action(
            row, existing=current, units=units, people=people, items=set(by_item), today=today
        )
        if row_errors:
            errors[key] = row_errors
        else:
            writes.append((current, values))
    if errors:
        raise ValidationError(errors)

    if summary is not None:
        locked.summary = summary.strip()
    for entry, discussion, resolutions in cleaned_entries:
        entry.discussion, entry.resolutions = discussion, resolutions
        entry.save(update_fields=["discussion", "resolutions"])
    for action in deletes:
        action.delete()
    for current, values in writes:
        if current is None:
            ActionItem.objects.create(meeting=meeting, **values)
        else:
            for field, value in values.items():
                setattr(current, field, value)
            current.save()
    _store_version(locked, by)
    return _sync(minutes, locked)


def _minutes_url(meeting: JointMeeting) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return reverse("alliance_minutes", args=[meeting.pk])


@transaction.atomic
def minutes_circulate(*, minutes: Minutes, by) -> Minutes:
    """Send the draft to the attendees for comments (a new version)."""
    locked = _lock(minutes, CIRCULATE, by)
    locked.state = State.CIRCULATED
    _store_version(locked, by)
    meeting = locked.meeting
    url = _minutes_url(meeting)
    for invitation in attending(meeting.invitations.select_related("user")):
        if invitation.user_id == by.pk:
            continue
        with in_language_of(invitation.user):
            notify_on_commit(
                invitation.user,
                subject=_("Minutes for comments: %(title)s") % {"title": meeting.title},
                body=_(
                    "The draft minutes of %(title)s (version %(version)s) are out for comments. "
                    "Please read them and comment on the agenda items."
                )
                % {"title": meeting.title, "version": locked.version},
                url=url,
            )
    return _sync(minutes, locked)


@transaction.atomic
def minutes_comment(*, minutes: Minutes, by, agenda_item: AgendaItem, body: str) -> MinutesComment:
    """An attendee's (or the staff's) comment on one agenda item of circulated
    minutes, kept with the version it was made on."""
    locked = _lock(minutes, COMMENT, by)
    if not locked.entries.filter(agenda_item=agenda_item).exists():
        raise ValidationError(_("Choose an agenda item of this meeting."))
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("Write your comment."))
    if len(body) > MAX_COMMENT:
        raise ValidationError(_("Keep the comment to %(n)d characters.") % {"n": MAX_COMMENT})
    return MinutesComment.objects.create(
        minutes=locked, agenda_item=agenda_item, version=locked.version, author=by, body=body
    )


@transaction.atomic
def minutes_revise(*, minutes: Minutes, by) -> Minutes:
    """Take circulated minutes back to draft to revise them; the circulated
    version and its comments stay."""
    locked = _lock(minutes, REVISE, by)
    locked.state = State.DRAFT
    _store_version(locked, by)
    return _sync(minutes, locked)


@transaction.atomic
def minutes_approve(*, minutes: Minutes, by) -> Minutes:
    """The convener approves the circulated minutes."""
    locked = _lock(minutes, APPROVE, by)
    locked.state = State.APPROVED
    locked.approved_by = by
    locked.approved_at = timezone.now()
    _store_version(locked, by)
    return _sync(minutes, locked)


def _reminder_time(due_on: dt.date) -> dt.datetime:
    day = due_on + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(REMINDER_HOUR)))


def action_url(action: ActionItem) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return reverse("alliance_action", args=[action.pk])


def unit_people(action: ActionItem) -> list:
    """Who answers for ``action``: its owner person, the owner partner's
    contacts with an account and the owner branch's secretaries (active
    accounts, each once)."""
    people = {}
    if action.owner_id is not None:
        people[action.owner_id] = action.owner
    if action.owner_partner_id is not None:
        for contact in action.owner_partner.contacts.all():
            if contact.user_id is not None:
                people.setdefault(contact.user_id, contact.user)
    if action.owner_branch_id is not None:
        for assignment in RoleAssignment.objects.filter(
            role=Role.BRANCH_SECRETARY, page_id=action.owner_branch_id
        ).select_related("user"):
            people.setdefault(assignment.user_id, assignment.user)
    return [p for p in people.values() if p.is_active]


@transaction.atomic
def minutes_publish(*, minutes: Minutes, by) -> Minutes:
    """Publish approved minutes: the action items go live, their owners are
    told what they owe and by when, and every invitee is told the minutes are out."""
    locked = _lock(minutes, PUBLISH, by)
    locked.state = State.PUBLISHED
    locked.published_at = timezone.now()
    _store_version(locked, by)
    meeting = locked.meeting
    # Meetings of the alliance already convened take the new items on too.
    for later in JointMeeting.objects.filter(
        alliance_id=meeting.alliance_id,
        starts_at__gt=meeting.starts_at,
        status=JointMeeting.Status.SCHEDULED,
    ):
        agenda_carry_over(meeting=later)
    actions = list(
        ActionItem.objects.filter(meeting=meeting, status=ActionItem.Status.OPEN)
        .select_related("owner", "owner_partner", "owner_branch")
        .prefetch_related("owner_partner__contacts__user")
    )
    owed = defaultdict(list)
    people = {}
    for action in actions:
        for person in unit_people(action):
            owed[person.pk].append(action)
            people[person.pk] = person
    for pk, items in owed.items():
        with in_language_of(people[pk]):
            lines = "\n".join(
                _("· %(title)s (due %(due)s)")
                % {"title": a.title, "due": formats.date_format(a.due_on, "DATE_FORMAT")}
                for a in items
            )
            notify_on_commit(
                people[pk],
                subject=_("Action items for you: %(title)s") % {"title": meeting.title},
                body=_("The minutes of %(title)s are published. Your action items:\n%(lines)s")
                % {"title": meeting.title, "lines": lines},
                url=action_url(items[0]) if len(items) == 1 else _followup_url(),
            )
    url = _minutes_url(meeting)
    for invitation in meeting.invitations.select_related("user"):
        with in_language_of(invitation.user):
            notify_on_commit(
                invitation.user,
                subject=_("Minutes published: %(title)s") % {"title": meeting.title},
                body=_("The minutes of %(title)s are approved and published.")
                % {"title": meeting.title},
                url=url,
            )
    for due_on in sorted({a.due_on for a in actions}):
        run_at(_reminder_time(due_on))
    return _sync(minutes, locked)


def _followup_url() -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return reverse("alliance_followup")


# --- Verification of printed minutes --------------------------------------------------------


def verify_token(minutes: Minutes, number: int) -> str:
    """A signed token naming the minutes and one of their versions."""
    return signing.dumps([minutes.pk, number], salt=VERIFY_SALT)


def verify_token_version(minutes_id: int, token: str) -> int | None:
    """The version number ``token`` vouches for, if it is genuine and for these minutes."""
    try:
        pk, number = signing.loads(token, salt=VERIFY_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    return number if pk == minutes_id else None


def minutes_verify_url(minutes: Minutes, number: int | None = None) -> str:
    """The absolute address the printed minutes' QR code points to."""
    number = minutes.version if number is None else number
    with translation.override(settings.LANGUAGE_CODE):
        path = reverse("alliance_minutes_verify", args=[minutes.pk, verify_token(minutes, number)])
    return absolute_url(path)


# --- Action items ---------------------------------------------------------------------------


def live_actions(qs: QuerySet | None = None) -> QuerySet:
    """Action items whose minutes are published (drafted ones do not count yet)."""
    qs = ActionItem.objects.all() if qs is None else qs
    return qs.filter(meeting__minutes__state=State.PUBLISHED)


def is_live(action: ActionItem) -> bool:
    return live_actions(ActionItem.objects.filter(pk=action.pk)).exists()


def _lock_action(action: ActionItem) -> ActionItem:
    locked = ActionItem.objects.select_for_update().get(pk=action.pk)
    if not is_live(locked):
        raise ValidationError(_("This action item is not live yet: its minutes are not published."))
    if locked.status != ActionItem.Status.OPEN:
        raise ValidationError(_("This action item is closed."))
    return locked


def _sync_action(target: ActionItem, source: ActionItem) -> ActionItem:
    for field in ("status", "done_at", "service_request_id", "project_id"):
        setattr(target, field, getattr(source, field))
    return target


@transaction.atomic
def action_progress(
    *, action: ActionItem, by, note: str, evidence=None, done: bool = False
) -> ActionProgress:
    """Post progress on a live, open action item; ``done`` closes it. Only
    those who may update it (``actions_updatable_by``): a partner contact only
    their own unit's items."""
    if not actions_updatable_by(by, ActionItem.objects.filter(pk=action.pk)).exists():
        raise PermissionDenied(_("You may update only your own unit's action items."))
    locked = _lock_action(action)
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Say what has been done."))
    if len(note) > MAX_COMMENT:
        raise ValidationError(_("Keep the note to %(n)d characters.") % {"n": MAX_COMMENT})
    progress = ActionProgress.objects.create(action=locked, author=by, note=note, evidence=evidence)
    if done:
        locked.status = ActionItem.Status.DONE
        locked.done_at = timezone.now()
        locked.save(update_fields=["status", "done_at"])
        convener = locked.meeting.convener
        if convener.pk != by.pk:
            with in_language_of(convener):
                notify_on_commit(
                    convener,
                    subject=_("Action item done: %(title)s") % {"title": locked.title},
                    body=_("%(who)s closed the action item “%(title)s”: %(note)s")
                    % {"who": person_name(by), "title": locked.title, "note": note},
                    url=action_url(locked),
                )
    _sync_action(action, locked)
    return progress


def _require_staff(action: ActionItem, by) -> None:
    if not can_run(by, action.meeting):
        raise PermissionDenied(_("Only the staff running this meeting may do this."))


@transaction.atomic
def action_to_request(*, action: ActionItem, by, **fields):
    """Turn an action item into a dispatch service request (source "action
    item") and link it. ``fields`` go to ``volunteers.dispatch.request_create``
    (``grid``, ``category``, ``window_start``, ``window_end``, …); the title and
    description default to the action's."""
    from volunteers import dispatch
    from volunteers.models import ServiceRequest

    _require_staff(action, by)
    locked = _lock_action(action)
    if locked.service_request_id is not None:
        raise ValidationError(_("This action item already has a service request."))
    fields.setdefault("title", locked.title)
    fields.setdefault("description", locked.expected_result)
    fields.setdefault("category", ServiceRequest.Category.OTHER)
    if fields.get("grid") is None and locked.owner_branch_id is not None:
        fields["grid"] = locked.owner_branch.get_parent().specific
    if fields.get("grid") is None:
        raise ValidationError({"grid": _("Choose the grid the request is for.")})
    fields["source"] = ServiceRequest.Source.ACTION_ITEM
    request = dispatch.request_create(by=by, **fields)
    locked.service_request = request
    locked.save(update_fields=["service_request"])
    ActionProgress.objects.create(
        action=locked,
        author=by,
        note=_("Turned into the service request “%(title)s”.") % {"title": request.title},
    )
    _sync_action(action, locked)
    return request


@transaction.atomic
def action_to_project(*, action: ActionItem, by, need_title: str = "") -> Project:
    """Turn an action item into a need (kind "other", for the owner branch or
    the alliance's first branch) with a project on it, and link the project."""
    _require_staff(action, by)
    locked = _lock_action(action)
    if locked.project_id is not None:
        raise ValidationError(_("This action item already has a project."))
    title = (need_title or "").strip() or locked.title
    if len(title) > 120:
        raise ValidationError({"need_title": _("Keep the title to 120 characters.")})
    branch = locked.owner_branch
    if branch is None:
        branch = locked.meeting.alliance.branches.order_by("path").first()
    if branch is None:
        raise ValidationError(
            _("The alliance has no branch to raise the need for: give the item an owner branch.")
        )
    need = Need.objects.create(
        title=title,
        description=locked.expected_result,
        kind=Kind.OTHER,
        branch=branch,
        status=Need.Status.MATCHED,
        raised_by=by,
    )
    project = Project.objects.create(title=title, need=need, owner=locked.owner)
    locked.project = project
    locked.save(update_fields=["project"])
    ActionProgress.objects.create(
        action=locked,
        author=by,
        note=_("Turned into the project “%(title)s”.") % {"title": project.title},
    )
    _sync_action(action, locked)
    return project
