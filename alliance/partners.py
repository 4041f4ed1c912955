"""Partner units and the three lists (三张清单): who may see them, and the writes.

- A partner contact keeps their own unit's profile (introduction, address) and
  its resources (offer, edit, withdraw); no other unit's.
- Branch secretaries, coordinators, the district and grid workers raise needs
  in their own branches, optionally from a resident's service request.
- A need is matched to resources (suggested through the search index): the
  secretary of the need's branch, or the contact of the resources' unit,
  confirms the match, which makes a project with an owner and milestones; the
  need is then matched and the resources committed.

Lifecycle of a project::

    planned → active → done
        ↘        ↘
         cancelled   (done and cancelled release the resources; cancelled
                      reopens the need)
"""

from collections import defaultdict
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.access import partner_of
from alliance.models import Kind, Milestone, Need, Partner, Project, Resource
from branches.models import GridBranchPage, GridPage
from portal.i18n import in_language_of
from portal.notify import notify_on_commit
from portal.roles import path_q, user_scope

STEP = GridBranchPage.steplen
# Words of a need searched for matching resources, and the suggestions shown.
SUGGESTION_TERMS = 5
SUGGESTIONS = 6
# Which project status may follow which.
PROJECT_TRANSITIONS = {
    Project.Status.PLANNED: {Project.Status.ACTIVE, Project.Status.CANCELLED},
    Project.Status.ACTIVE: {Project.Status.DONE, Project.Status.CANCELLED},
    Project.Status.DONE: set(),
    Project.Status.CANCELLED: set(),
}
LIVE_PROJECT = (Project.Status.PLANNED, Project.Status.ACTIVE)


# --- Who may see what ----------------------------------------------------------------------


def _ancestors(path: str) -> list[str]:
    """The tree paths above ``path`` (a grid a unit lies in co-builds with it)."""
    return [path[:n] for n in range(STEP, len(path), STEP)]


def _branches_near(page: str, paths) -> Q:
    """Branches (``page`` is the lookup prefix of a branch, "" for the branch
    itself) at or below ``paths``, and the branch of the grid each path lies in
    (a grid worker of a micro-grid serves the branch of its third-level grid)."""
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{page}path__startswith": path})
        for above in _ancestors(path):
            q |= Q(**{f"{page}path__startswith": above, f"{page}depth": len(above) // STEP + 1})
    return q


def _co_building_q(paths) -> Q:
    """Partners co-building with a branch or grid at or below ``paths``, or with a
    grid above them."""
    q = path_q("branches__path", paths) | path_q("grids__path", paths)
    above = {a for p in paths for a in _ancestors(p)}
    if above:
        q |= Q(grids__path__in=above)
    return q


def partners_visible_to(user, qs: QuerySet | None = None) -> QuerySet:
    """The partner units a user works with: all for the district; those co-building
    with a coordinator's, secretary's or grid worker's units; a member's branch's;
    a contact's own unit and the units of the alliances it belongs to."""
    qs = Partner.objects.all() if qs is None else qs
    scope = user_scope(user)
    if scope.is_district:
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    paths = [*scope.paths, *scope.grid_worker_paths]
    member = getattr(user, "member", None) if hasattr(user, "member") else None
    q = _co_building_q(paths) if paths else Q(pk__in=[])
    if member is not None:
        q |= Q(branches=member.branch_id) | Q(grids__path__in=_ancestors(member.branch.path))
    partner = partner_of(user)
    if partner is not None:
        q |= Q(pk=partner.pk) | Q(alliances__partners=partner)
    return qs.filter(pk__in=Partner.objects.filter(q).values("pk"))


def is_insider(user, partner: Partner) -> bool:
    """Who sees a unit's contacts and signed agreement: the district, its own
    contacts, and the staff of the branches it co-builds with."""
    scope = user_scope(user)
    if scope.is_district or partner_of(user) == partner:
        return True
    if not scope.paths:
        return False
    return Partner.objects.filter(_co_building_q(scope.paths), pk=partner.pk).exists()


def _partner_needs_q(partner: Partner, prefix: str = "") -> Q:
    branch = f"{prefix}branch"
    grid_paths = list(partner.grids.values_list("path", flat=True))
    return (
        Q(**{f"{branch}__in": partner.branches.all()})
        | path_q(f"{branch}__path", grid_paths)
        | Q(**{f"{prefix}projects__resources__partner": partner})
    )


def _needs_q(user, prefix: str = "") -> Q | None:
    """The needs a user sees, as a filter (``None``: all of them)."""
    scope = user_scope(user)
    if scope.is_district:
        return None
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    q = (
        path_q(f"{prefix}branch__path", scope.paths)
        | _branches_near(f"{prefix}branch__", scope.grid_worker_paths)
        | path_q(f"{prefix}grid__path", scope.grid_worker_paths)
        | Q(**{f"{prefix}raised_by": user})
    )
    partner = partner_of(user)
    if partner is not None:
        q |= _partner_needs_q(partner, prefix)
    return q


def needs_visible_to(user, qs: QuerySet | None = None) -> QuerySet:
    """Needs: the district; the staff and grid workers of the need's branch; who
    raised it; the contacts of the units co-building with its branch (and of the
    units whose resources serve it)."""
    qs = Need.objects.all() if qs is None else qs
    q = _needs_q(user)
    return qs if q is None else qs.filter(pk__in=Need.objects.filter(q).values("pk"))


def projects_visible_to(user, qs: QuerySet | None = None) -> QuerySet:
    """Projects: whoever sees the need, the owner, and the contacts of the units
    whose resources it uses."""
    qs = Project.objects.all() if qs is None else qs
    q = _needs_q(user, "need__")
    if q is None:
        return qs
    if getattr(user, "is_authenticated", False):
        q |= Q(owner=user)
        partner = partner_of(user)
        if partner is not None:
            q |= Q(resources__partner=partner)
    return qs.filter(pk__in=Project.objects.filter(q).values("pk"))


def resources_listed_for(user, qs: QuerySet | None = None) -> QuerySet:
    """The resources list: what units offer (not withdrawn) is open to everyone
    signed in; a contact also sees their own unit's withdrawn ones."""
    qs = Resource.objects.all() if qs is None else qs
    if user_scope(user).is_district:
        return qs
    q = ~Q(status=Resource.Status.WITHDRAWN)
    partner = partner_of(user)
    if partner is not None:
        q |= Q(partner=partner)
    return qs.filter(q)


def runs_branch(user, branch) -> bool:
    """The district, coordinators above the branch and its secretary."""
    scope = user_scope(user)
    return scope.is_district or any(branch.path.startswith(p) for p in scope.paths)


def may_raise_in(user, branch) -> bool:
    """Staff of the branch, and grid workers of its grid (or of grids in it)."""
    scope = user_scope(user)
    if scope.is_district or any(branch.path.startswith(p) for p in scope.paths):
        return True
    area = branch.path[:-STEP]  # the grid the branch serves
    return any(gw.startswith(area) or branch.path.startswith(gw) for gw in scope.grid_worker_paths)


def raisable_branches(user) -> QuerySet:
    """The branches a user may raise needs in, in tree order."""
    scope = user_scope(user)
    qs = GridBranchPage.objects.live().order_by("path")
    if scope.is_district:
        return qs
    return qs.filter(path_q("path", scope.paths) | _branches_near("", scope.grid_worker_paths))


def can_manage_project(user, project: Project) -> bool:
    """Milestones and status: the owner, the staff of the need's branch, and the
    contacts of the units whose resources it uses."""
    if not getattr(user, "is_authenticated", False):
        return False
    if project.owner_id == user.pk or runs_branch(user, project.need.branch):
        return True
    partner = partner_of(user)
    return partner is not None and project.resources.filter(partner=partner).exists()


def may_confirm(user, need: Need, resources) -> bool:
    """The staff of the need's branch confirm any match; a partner contact only
    with their own unit's resources, for a need they see."""
    if runs_branch(user, need.branch):
        return True
    partner = partner_of(user)
    return (
        partner is not None
        and bool(resources)
        and all(r.partner_id == partner.pk for r in resources)
        and needs_visible_to(user).filter(pk=need.pk).exists()
    )


def resource_suggestions(*, need: Need, user, limit: int = SUGGESTIONS) -> list[Resource]:
    """Available resources that may meet a need, best first: found through the
    search index by the words of the need's title and description (more words
    matched first, the same kind before others), then other available
    resources of the same kind. With nothing in the index, the kind alone."""
    from search.query import search
    from search.text import query_tokens

    terms = [t for t in query_tokens(f"{need.title} {need.description}") if len(t) > 1]
    matched: dict[int, int] = defaultdict(int)
    score: dict[int, float] = defaultdict(float)
    for term in terms[:SUGGESTION_TERMS]:
        hits = search(
            user=user,
            text=term,
            doc_types=("resource",),
            status=Resource.Status.AVAILABLE,
            per_page=20,
        ).results.hits
        for hit in hits:
            pk = int(hit.object_id)
            matched[pk] += 1
            score[pk] += hit.score
    found = {
        r.pk: r
        for r in Resource.objects.filter(
            pk__in=list(matched), status=Resource.Status.AVAILABLE
        ).select_related("partner")
    }
    ranked = sorted(
        found.values(),
        key=lambda r: (-matched[r.pk], r.kind != need.kind, -score[r.pk], -r.pk),
    )[:limit]
    if len(ranked) < limit:
        ranked += list(
            Resource.objects.filter(kind=need.kind, status=Resource.Status.AVAILABLE)
            .exclude(pk__in=[r.pk for r in ranked])
            .select_related("partner")
            .order_by("-created_at", "-id")[: limit - len(ranked)]
        )
    return ranked


# --- Partner units ---------------------------------------------------------------------------


def _own_partner(by, partner: Partner) -> None:
    if not (user_scope(by).is_district or partner_of(by) == partner):
        raise PermissionDenied(_("You may change only your own unit."))


@transaction.atomic
def partner_profile_update(*, partner: Partner, by, intro: str, address: str) -> Partner:
    """A contact updates their unit's public profile (introduction and address)."""
    _own_partner(by, partner)
    partner.intro = (intro or "").strip()
    partner.address = (address or "").strip()
    partner.full_clean(exclude=["branches", "grids"])
    partner.save(update_fields=["intro", "address"])
    return partner


@transaction.atomic
def resource_save(
    *,
    by,
    partner: Partner,
    title: str,
    kind: str,
    description: str = "",
    quantity: int = 1,
    unit: str = "",
    available_from: date | None = None,
    available_until: date | None = None,
    resource: Resource | None = None,
) -> Resource:
    """Offer a new resource of ``partner``, or change ``resource`` (still available)."""
    _own_partner(by, partner)
    if resource is None:
        resource = Resource(partner=partner)
    else:
        resource = Resource.objects.select_for_update().get(pk=resource.pk)
        if resource.partner_id != partner.pk:
            raise PermissionDenied(_("You may change only your own unit."))
        if resource.status != Resource.Status.AVAILABLE:
            raise ValidationError(_("Only an available resource can be changed."))
    resource.title = (title or "").strip()
    resource.description = (description or "").strip()
    resource.kind = kind
    resource.quantity = quantity
    resource.unit = (unit or "").strip()
    resource.available_from = available_from
    resource.available_until = available_until
    errors = {}
    if not resource.title:
        errors["title"] = _("Say in a few words what you offer.")
    if kind not in Kind.values:
        errors["kind"] = _("Choose a type.")
    if quantity is None or quantity < 1:
        errors["quantity"] = _("Give a quantity of at least 1.")
    if available_from and available_until and available_until < available_from:
        errors["available_until"] = _("The end must not be before the start.")
    if errors:
        raise ValidationError(errors)
    resource.full_clean()
    resource.save()
    return resource


@transaction.atomic
def resource_withdraw(*, resource: Resource, by) -> Resource:
    """Take an available resource off the list (a committed one serves a project)."""
    resource = Resource.objects.select_for_update().select_related("partner").get(pk=resource.pk)
    _own_partner(by, resource.partner)
    if resource.status == Resource.Status.COMMITTED:
        raise ValidationError(
            _("This resource is committed to a project; it can be withdrawn once that is over.")
        )
    if resource.status != Resource.Status.WITHDRAWN:
        resource.status = Resource.Status.WITHDRAWN
        resource.save(update_fields=["status"])
    return resource


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
