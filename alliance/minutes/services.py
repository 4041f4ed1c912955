"""Drafting and approving the minutes of a joint meeting (联席会议纪要), and the
action items they decide.

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

Who may do what is ``alliance.minutes.permissions``. Every save and every
change of state stores a full snapshot as a numbered ``MinutesVersion``
(``alliance.minutes.versions``), so what was circulated, commented on and
approved stays retrievable. Action items exist as rows from the draft on, but
count (are "live": followed up, reminded, updated) only once their minutes are
published; what follows then is in ``alliance.action_items``.
"""

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from alliance.access import can_run
from alliance.action_items.reminders import reminder_time
from alliance.action_items.selectors import action_url, followup_url, unit_people
from alliance.meetings.agenda import agenda_carry_over
from alliance.meetings.rules import attending
from alliance.minutes.permissions import (
    APPROVE,
    CIRCULATE,
    COMMENT,
    PUBLISH,
    REVISE,
    SAVE,
    owner_people,
    owner_units,
    require_may,
)
from alliance.minutes.versions import resolution_lines, version_store
from alliance.models import (
    ActionItem,
    AgendaItem,
    JointMeeting,
    Minutes,
    MinutesComment,
    MinutesEntry,
)
from portal.i18n import in_language_of
from portal.notify import notify_on_commit
from portal.scheduling import run_at

State = Minutes.State
# The longest comment on an agenda item of circulated minutes.
MAX_COMMENT = 2000


# --- Locking and entries --------------------------------------------------------------------


def _lock(minutes: Minutes, action: str, user) -> Minutes:
    """The minutes row, locked for this transaction, after checking ``action``."""
    locked = (
        Minutes.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=minutes.pk)
    )
    require_may(locked, action, user)
    return locked


def _sync(target: Minutes, source: Minutes) -> Minutes:
    """Bring the caller's instance up to date with what was saved."""
    for field in ("state", "summary", "version", "approved_by_id", "approved_at", "published_at"):
        setattr(target, field, getattr(source, field))
    return target


def _ensure_entries(minutes: Minutes) -> None:
    """An entry for every accepted agenda item (items accepted after the
    minutes were started get theirs on the next save)."""
    missing = AgendaItem.objects.filter(
        meeting_id=minutes.meeting_id, status=AgendaItem.Status.ACCEPTED, minutes_entry__isnull=True
    )
    MinutesEntry.objects.bulk_create(
        MinutesEntry(minutes=minutes, agenda_item=item) for item in missing
    )


# --- Starting and saving the draft ----------------------------------------------------------


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
    version_store(minutes=minutes, by=by)
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


def _clean_entries(entries: dict | None, by_item: dict, errors: dict) -> list[tuple]:
    """(entry, discussion, resolutions) per posted agenda item; an unknown item
    is an error under ``entries``."""
    cleaned = []
    for item_id, values in (entries or {}).items():
        entry = by_item.get(_pk(item_id))
        if entry is None:
            errors.setdefault("entries", []).append(_("Choose an agenda item of this meeting."))
            continue
        resolutions = values.get("resolutions", entry.resolutions)
        if isinstance(resolutions, list | tuple):
            resolutions = "\n".join(str(r) for r in resolutions)
        cleaned.append(
            (
                entry,
                (values.get("discussion") or "").strip(),
                "\n".join(resolution_lines(resolutions)),
            )
        )
    return cleaned


def _clean_actions(
    actions: list[dict] | None, *, meeting: JointMeeting, items: set, errors: dict
) -> tuple[list, list]:
    """The action rows to write, as (existing item or None, field values), and
    the items to delete; a wrong row's messages go under its key."""
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
            row, existing=current, units=units, people=people, items=items, today=today
        )
        if row_errors:
            errors[key] = row_errors
        else:
            writes.append((current, values))
    return writes, deletes


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
    cleaned_entries = _clean_entries(entries, by_item, errors)
    writes, deletes = _clean_actions(actions, meeting=meeting, items=set(by_item), errors=errors)
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
    version_store(minutes=locked, by=by)
    return _sync(minutes, locked)


# --- Circulating, commenting, revising, approving -------------------------------------------


def _minutes_url(meeting: JointMeeting) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return reverse("alliance_minutes", args=[meeting.pk])


@transaction.atomic
def minutes_circulate(*, minutes: Minutes, by) -> Minutes:
    """Send the draft to the attendees for comments (a new version)."""
    locked = _lock(minutes, CIRCULATE, by)
    locked.state = State.CIRCULATED
    version_store(minutes=locked, by=by)
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
    version_store(minutes=locked, by=by)
    return _sync(minutes, locked)


@transaction.atomic
def minutes_approve(*, minutes: Minutes, by) -> Minutes:
    """The convener approves the circulated minutes."""
    locked = _lock(minutes, APPROVE, by)
    locked.state = State.APPROVED
    locked.approved_by = by
    locked.approved_at = timezone.now()
    version_store(minutes=locked, by=by)
    return _sync(minutes, locked)


# --- Publishing -----------------------------------------------------------------------------


def _tell_owners(meeting: JointMeeting, actions: list[ActionItem]) -> None:
    """Tell each person who answers for the new action items what they owe and by when."""
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
                url=action_url(items[0]) if len(items) == 1 else followup_url(),
            )


def _tell_invitees_published(meeting: JointMeeting) -> None:
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


@transaction.atomic
def minutes_publish(*, minutes: Minutes, by) -> Minutes:
    """Publish approved minutes: the action items go live, their owners are
    told what they owe and by when, and every invitee is told the minutes are out."""
    locked = _lock(minutes, PUBLISH, by)
    locked.state = State.PUBLISHED
    locked.published_at = timezone.now()
    version_store(minutes=locked, by=by)
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
    _tell_owners(meeting, actions)
    _tell_invitees_published(meeting)
    for due_on in sorted({a.due_on for a in actions}):
        run_at(reminder_time(due_on))
    return _sync(minutes, locked)
