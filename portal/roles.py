"""Who may see and change what: every rule derives from role assignments in the
organisation tree, and is applied alike in the admin, the front end and any API.

A user's *scope* is the set of tree paths under their coordinator, secretary and
group-leader assignments. Records carry the branch (and group) they belong to,
so a scope check is a path-prefix test, not a permission row per record.
"""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from portal.models import Role, RoleAssignment


@dataclass(frozen=True)
class Scope:
    is_district: bool = False
    roles: frozenset = frozenset()
    # Tree paths of the grids and branches the user coordinates or leads as secretary.
    paths: tuple[str, ...] = ()
    # Building groups the user leads, by page id and by path.
    group_ids: tuple[int, ...] = ()
    group_paths: tuple[str, ...] = ()
    member_id: int | None = None
    # Grids the user works in as a grid worker (网格员): service requests only.
    grid_worker_paths: tuple[str, ...] = ()
    central_household_ids: tuple[int, ...] = field(default=())

    @property
    def is_staff_role(self) -> bool:
        return self.is_district or bool(self.paths or self.group_ids)

    def covers_path(self, path: str) -> bool:
        return self.is_district or any(path.startswith(p) for p in self.paths + self.group_paths)


def member_of(user):
    """The member record linked to this account, if any."""
    return getattr(user, "member", None) if hasattr(user, "member") else None


def user_scope(user) -> Scope:
    """The user's scope, computed once per request (cached on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return Scope()
    cached = getattr(user, "_tongxin_scope", None)
    if cached is not None:
        return cached
    assignments = list(
        RoleAssignment.objects.filter(user=user)
        .select_related("page")
        .only("role", "page__path", "page_id")
    )
    roles = frozenset(a.role for a in assignments)
    member = member_of(user)
    ch_ids = ()
    if member is not None and Role.CENTRAL_HOUSEHOLD_HEAD in roles:
        ch = (
            getattr(member, "central_household", None)
            if hasattr(member, "central_household")
            else None
        )
        ch_ids = (ch.pk,) if ch else ()
    scope = Scope(
        is_district=user.is_superuser or Role.DISTRICT_ADMIN in roles,
        roles=roles,
        paths=tuple(
            a.page.path
            for a in assignments
            if a.role in (Role.GRID_COORDINATOR, Role.BRANCH_SECRETARY)
        ),
        group_ids=tuple(a.page_id for a in assignments if a.role == Role.GROUP_LEADER),
        group_paths=tuple(a.page.path for a in assignments if a.role == Role.GROUP_LEADER),
        member_id=member.pk if member is not None else None,
        grid_worker_paths=tuple(a.page.path for a in assignments if a.role == Role.GRID_WORKER),
        central_household_ids=ch_ids,
    )
    user._tongxin_scope = scope
    return scope


def path_q(prefix_field: str, paths) -> Q:
    """Records whose ``prefix_field`` lies under any of ``paths`` (none if empty)."""
    return reduce(or_, (Q(**{f"{prefix_field}__startswith": p}) for p in paths), Q(pk__in=[]))


def _scoped(
    qs: QuerySet, scope: Scope, *, branch_path: str, group_field: str, extra: Q | None = None
):
    if scope.is_district:
        return qs
    q = Q(pk__in=[])
    if scope.paths:
        q |= path_q(branch_path, scope.paths)
    if scope.group_ids:
        q |= Q(**{f"{group_field}__in": scope.group_ids})
    if extra is not None:
        q |= extra
    return qs.filter(q)


def members_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    own = Q(pk=scope.member_id) if scope.member_id else None
    return _scoped(
        qs, scope, branch_path="branch__path", group_field="building_group_id", extra=own
    )


def households_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    extra = None
    if scope.central_household_ids:
        extra = Q(central_households__in=scope.central_household_ids)
    qs = _scoped(
        qs,
        scope,
        branch_path="building__branch__path",
        group_field="building__building_group_id",
        extra=extra,
    )
    return qs.distinct() if extra is not None else qs


def buildings_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    return _scoped(qs, scope, branch_path="branch__path", group_field="building_group_id")


def residents_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    return _scoped(
        qs,
        scope,
        branch_path="household__building__branch__path",
        group_field="household__building__building_group_id",
    )


def central_households_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    extra = Q(pk__in=scope.central_household_ids) if scope.central_household_ids else None
    return _scoped(
        qs,
        scope,
        branch_path="member__branch__path",
        group_field="member__building_group_id",
        extra=extra,
    )


def visits_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    extra = (
        Q(central_household_id__in=scope.central_household_ids)
        if scope.central_household_ids
        else None
    )
    return _scoped(
        qs,
        scope,
        branch_path="central_household__member__branch__path",
        group_field="central_household__member__building_group_id",
        extra=extra,
    )


def meetings_visible_to(user, qs: QuerySet) -> QuerySet:
    """Branch meetings: the branch's secretary and coordinators, the district, and
    a group leader for their group's meetings."""
    return _scoped(qs, user_scope(user), branch_path="branch__path", group_field="group_id")


def attendance_visible_to(user, qs: QuerySet) -> QuerySet:
    return _scoped(
        qs, user_scope(user), branch_path="meeting__branch__path", group_field="meeting__group_id"
    )


def duties_visible_to(user, qs: QuerySet) -> QuerySet:
    return _scoped(qs, user_scope(user), branch_path="branch__path", group_field="group_id")


def signups_visible_to(user, qs: QuerySet) -> QuerySet:
    return _scoped(
        qs,
        user_scope(user),
        branch_path="shift__duty__branch__path",
        group_field="shift__duty__group_id",
    )


def registrations_visible_to(user, qs: QuerySet) -> QuerySet:
    """Community registrations (双报到): the district, the secretary and coordinators
    above the branch registered with, and the member their own (not group leaders)."""
    scope = user_scope(user)
    if scope.is_district:
        return qs
    q = path_q("branch__path", scope.paths)
    if scope.member_id:
        q |= Q(member_id=scope.member_id)
    return qs.filter(q)


def requests_visible_to(user, qs: QuerySet) -> QuerySet:
    """Service requests: the district; coordinators and the secretary by the
    request's branch; a grid worker the requests of their grids; whoever
    recorded one; a volunteer the requests they were offered or took."""
    scope = user_scope(user)
    if scope.is_district:
        return qs
    q = path_q("branch__path", scope.paths) | path_q("grid__path", scope.grid_worker_paths)
    if getattr(user, "is_authenticated", False):
        from volunteers.models import Offer  # volunteers' models import portal's

        q |= Q(created_by=user) | Q(pk__in=Offer.objects.filter(user=user).values("request_id"))
    return qs.filter(q)


VISIBILITY = {
    "branches.member": members_visible_to,
    "branches.household": households_visible_to,
    "branches.building": buildings_visible_to,
    "branches.resident": residents_visible_to,
    "branches.centralhousehold": central_households_visible_to,
    "branches.householdvisit": visits_visible_to,
    "branches.meeting": meetings_visible_to,
    "branches.attendance": attendance_visible_to,
    "volunteers.duty": duties_visible_to,
    "volunteers.signup": signups_visible_to,
    "volunteers.servicerequest": requests_visible_to,
    "volunteers.communityregistration": registrations_visible_to,
}


def visible_to(user, qs: QuerySet) -> QuerySet:
    return VISIBILITY[qs.model._meta.label_lower](user, qs)


def can_access(user, obj) -> bool:
    return visible_to(user, type(obj)._default_manager.filter(pk=obj.pk)).exists()


def can_reveal(user, obj) -> bool:
    """Full private values are for district administrators and the secretary or
    coordinator whose unit the record belongs to; not for group leaders or members."""
    scope = user_scope(user)
    if scope.is_district:
        return True
    if not (scope.roles & {Role.GRID_COORDINATOR, Role.BRANCH_SECRETARY}):
        return False
    return can_access(user, obj)
