"""Action items (督办事项) after their minutes are published: progress posted
by those who answer for them (``action_progress``, which may close an item),
and the staff turning an item into a dispatch service request
(``action_to_request``) or into a need with a project of the three lists
(``action_to_project``).

Writes are keyword-only services in one transaction each; a refusal is a
``ValidationError`` or ``PermissionDenied``."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.access import actions_updatable_by, can_run
from alliance.action_items.selectors import action_url, is_live
from alliance.models import ActionItem, ActionProgress, Kind, Need, Project
from alliance.names import person_name
from portal.i18n import in_language_of
from portal.notify import notify_on_commit

# The longest progress note.
MAX_NOTE = 2000


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
    if len(note) > MAX_NOTE:
        raise ValidationError(_("Keep the note to %(n)d characters.") % {"n": MAX_NOTE})
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


def _record_turned_into(action: ActionItem, locked: ActionItem, by, note: str) -> None:
    """Note on the item's timeline what it became, and update the caller's instance."""
    ActionProgress.objects.create(action=locked, author=by, note=note)
    _sync_action(action, locked)


def _require_staff(action: ActionItem, by) -> None:
    if not can_run(by, action.meeting):
        raise PermissionDenied(_("Only the staff running this meeting may do this."))


@transaction.atomic
def action_to_request(*, action: ActionItem, by, **fields):
    """Turn an action item into a dispatch service request (source "action
    item") and link it. ``fields`` go to ``volunteers.dispatch.services.request_create``
    (``grid``, ``category``, ``window_start``, ``window_end``, …); the title and
    description default to the action's."""
    from volunteers.dispatch import services as dispatch
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
    _record_turned_into(
        action,
        locked,
        by,
        _("Turned into the service request “%(title)s”.") % {"title": request.title},
    )
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
    _record_turned_into(
        action, locked, by, _("Turned into the project “%(title)s”.") % {"title": project.title}
    )
    return project
