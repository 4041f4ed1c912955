"""Writes of the three lists (三张清单): raising a need (optionally from a
resident's service request), confirming a match of resources to a need (a
project with an owner; the need matched, the resources committed), and running
the project (milestones, status). Who may do what is
``alliance.lists.selectors``; a refusal is a ``ValidationError`` or
``PermissionDenied``."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.lists.selectors import (
    LIVE_PROJECT,
    PROJECT_TRANSITIONS,
    can_manage_project,
    may_confirm,
    may_raise_in,
)
from alliance.models import Kind, Milestone, Need, Project, Resource
from alliance.partners.selectors import STEP
from branches.models import GridBranchPage, GridPage
from portal.i18n import in_language_of
from portal.notify import notify_on_commit

# --- Needs and matches -----------------------------------------------------------------------


@transaction.atomic
def need_raise(
    *,
    by,
    title: str,
    kind: str,
    branch: GridBranchPage,
    description: str = "",
    grid: GridPage | None = None,
    service_request=None,
) -> Need:
    """Raise a need of a branch (optionally in one of its grids, or from a
    resident's service request of that branch)."""
    if not may_raise_in(by, branch):
        raise PermissionDenied(_("You may raise needs only for your own branch."))
    errors = {}
    if grid is not None and not grid.path.startswith(branch.path[:-STEP]):
        errors["grid"] = _("This grid is not served by the chosen branch.")
    if service_request is not None:
        from portal.roles import visible_to

        if not visible_to(by, type(service_request).objects.filter(pk=service_request.pk)).exists():
            raise PermissionDenied(_("You may not see this service request."))
        if service_request.branch_id != branch.pk:
            errors["branch"] = _("The service request belongs to another branch.")
    if not (title or "").strip():
        errors["title"] = _("Say in a few words what is needed.")
    if kind not in Kind.values:
        errors["kind"] = _("Choose a type.")
    if errors:
        raise ValidationError(errors)
    need = Need(
        title=title.strip(),
        description=(description or "").strip(),
        kind=kind,
        branch=branch,
        grid=grid,
        service_request=service_request,
        raised_by=by,
    )
    need.full_clean()
    need.save()
    return need


def _project_url(project) -> str:
    return reverse("alliance_project", args=[project.pk])


@transaction.atomic
def match_confirm(*, need: Need, resources, by, title: str | None = None, owner=None) -> Project:
    """Confirm that ``resources`` meet ``need``: a planned project (owner: ``owner``
    or the confirmer), the need matched and the resources committed. The
    raiser of the need and the resources' contacts are told."""
    need = Need.objects.select_for_update().select_related("branch").get(pk=need.pk)
    ids = sorted({r.pk for r in resources})
    locked = list(Resource.objects.select_for_update().filter(pk__in=ids).select_related("partner"))
    if not locked:
        raise ValidationError(_("Choose at least one resource."))
    if not may_confirm(by, need, locked):
        raise PermissionDenied(_("You may confirm only matches for your branch or your own unit."))
    if need.status != Need.Status.OPEN:
        raise ValidationError(_("This need is no longer open."))
    taken = [r.title for r in locked if r.status != Resource.Status.AVAILABLE]
    if taken:
        raise ValidationError(_("No longer available: %(titles)s.") % {"titles": "、".join(taken)})
    project = Project(
        title=((title or "").strip() or need.title)[:120],
        need=need,
        owner=owner or by,
        status=Project.Status.PLANNED,
    )
    project.full_clean(exclude=["resources"])
    project.resources.set(locked)
    project.save()
    need.status = Need.Status.MATCHED
    need.save(update_fields=["status"])
    for resource in locked:
        resource.status = Resource.Status.COMMITTED
        resource.save(update_fields=["status"])
    _tell_match(project, need, locked, by)
    return project


def _tell_match(project, need, resources, by) -> None:
    url = _project_url(project)
    people = {need.raised_by_id: need.raised_by} if need.raised_by_id else {}
    for resource in resources:
        for contact in resource.partner.contacts.select_related("user"):
            if contact.user_id:
                people[contact.user_id] = contact.user
    for pk, user in people.items():
        if pk != by.pk and user.is_active:
            with in_language_of(user):
                notify_on_commit(
                    user,
                    subject=_("Need matched: %(title)s") % {"title": need.title},
                    body=_("“%(need)s” is matched with %(resources)s. Project: %(project)s.")
                    % {
                        "need": need.title,
                        "resources": "、".join(f"{r.partner.name}·{r.title}" for r in resources),
                        "project": project.title,
                    },
                    url=url,
                )


# --- Projects --------------------------------------------------------------------------------


def _managed(project: Project, by) -> Project:
    project = Project.objects.select_for_update().select_related("need__branch").get(pk=project.pk)
    if not can_manage_project(by, project):
        raise PermissionDenied(_("Only the people running this project may change it."))
    return project


@transaction.atomic
def milestone_add(*, project: Project, by, title: str, due_on: date | None = None) -> Milestone:
    """Add a milestone at the end of the project's plan."""
    project = _managed(project, by)
    if project.status not in LIVE_PROJECT:
        raise ValidationError(_("This project is over."))
    if not (title or "").strip():
        raise ValidationError({"title": _("Give the milestone a title.")})
    last = project.milestones.order_by("-sort_order").values_list("sort_order", flat=True).first()
    milestone = Milestone(
        project=project,
        title=title.strip()[:120],
        due_on=due_on,
        sort_order=0 if last is None else last + 1,
    )
    milestone.save()
    return milestone


@transaction.atomic
def milestone_done(*, milestone: Milestone, by, done_on: date | None = None) -> Milestone:
    """Mark a milestone done (today unless ``done_on`` is given)."""
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    project = _managed(milestone.project, by)
    if project.status not in LIVE_PROJECT:
        raise ValidationError(_("This project is over."))
    done_on = done_on or timezone.localdate()
    if done_on > timezone.localdate():
        raise ValidationError(_("A milestone cannot be done in the future."))
    if milestone.done_on is None:
        milestone.done_on = done_on
        milestone.save(update_fields=["done_on"])
    return milestone


@transaction.atomic
def project_status_set(*, project: Project, by, status: str) -> Project:
    """Move a project on (planned → active → done, or cancelled). A finished or
    cancelled project releases its resources; a cancelled one reopens its need
    (unless another project serves it)."""
    project = _managed(project, by)
    if status == project.status:
        return project
    if status not in PROJECT_TRANSITIONS.get(project.status, set()):
        raise ValidationError(
            _("A project that is “%(now)s” cannot become “%(next)s”.")
            % {
                "now": project.get_status_display(),
                "next": dict(Project.Status.choices).get(status, status),
            }
        )
    project.status = status
    project.save(update_fields=["status"])
    if status in (Project.Status.DONE, Project.Status.CANCELLED):
        others = Project.objects.filter(status__in=LIVE_PROJECT).exclude(pk=project.pk)
        released = Resource.objects.select_for_update().filter(project=project)
        for resource in released.exclude(pk__in=others.values("resources")):
            if resource.status == Resource.Status.COMMITTED:
                resource.status = Resource.Status.AVAILABLE
                resource.save(update_fields=["status"])
        need = Need.objects.select_for_update().get(pk=project.need_id)
        if not others.filter(need=need).exists():
            need.status = Need.Status.CLOSED if status == Project.Status.DONE else Need.Status.OPEN
            need.save(update_fields=["status"])
    return project
