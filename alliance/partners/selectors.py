"""Who sees which partner units (共建单位): the district all of them; the staff
and grid workers of the branches and grids a unit co-builds with (or of grids
below one it co-builds with); a member's branch's units; a contact's own unit
and the units of the alliances it belongs to. Also who counts as a unit's
insider (sees its contacts and signed agreements), and the tree-path helpers
the three lists' rules share (``alliance.lists.selectors``)."""

from django.db.models import Q, QuerySet

from alliance.access import partner_of
from alliance.models import Partner
from branches.models import GridBranchPage
from portal.roles import path_q, user_scope

STEP = GridBranchPage.steplen


def ancestor_paths(path: str) -> list[str]:
    """The tree paths above ``path`` (a grid a unit lies in co-builds with it)."""
    return [path[:n] for n in range(STEP, len(path), STEP)]


def branches_near(page: str, paths) -> Q:
    """Branches (``page`` is the lookup prefix of a branch, "" for the branch
    itself) at or below ``paths``, and the branch of the grid each path lies in
    (a grid worker of a micro-grid serves the branch of its third-level grid)."""
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{page}path__startswith": path})
        for above in ancestor_paths(path):
            q |= Q(**{f"{page}path__startswith": above, f"{page}depth": len(above) // STEP + 1})
    return q


def _co_building_q(paths) -> Q:
    """Partners co-building with a branch or grid at or below ``paths``, or with a
    grid above them."""
    q = path_q("branches__path", paths) | path_q("grids__path", paths)
    above = {a for p in paths for a in ancestor_paths(p)}
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
        q |= Q(branches=member.branch_id) | Q(grids__path__in=ancestor_paths(member.branch.path))
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
