"""The three lists (三张清单), read-only: who sees which needs, resources and
projects, who may raise a need in a branch, confirm a match or manage a
project, and the resources suggested for a need (through the search index).

Lifecycle of a project::

    planned → active → done
        ↘        ↘
         cancelled   (done and cancelled release the resources; cancelled
                      reopens the need)
"""

from collections import defaultdict

from django.db.models import Q, QuerySet

from alliance.access import partner_of
from alliance.models import Need, Partner, Project, Resource
from alliance.partners.selectors import STEP, branches_near
from branches.models import GridBranchPage
from portal.roles import path_q, user_scope

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
        | branches_near(f"{prefix}branch__", scope.grid_worker_paths)
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
    return qs.filter(path_q("path", scope.paths) | branches_near("", scope.grid_worker_paths))


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
