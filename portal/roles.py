"""Who may see and change what: every rule derives from role assignments in the
organisation tree, and is applied alike in the admin, the front end and any API.

A user's *scope* is the set of tree paths under their coordinator, secretary and
group-leader assignments. Records carry the branch (and group) they belong to,
so a scope check is a path-prefix test, not a permission row per record.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from portal.models import Role, RoleAssignment
from portal.names import member_of


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
    # The assignments themselves (role, and the unit's path and title), by role.
    assignments: tuple[RoleAssignment, ...] = field(default=(), compare=False)

    @property
    def is_staff_role(self) -> bool:
        return self.is_district or bool(self.paths or self.group_ids)

    def covers_path(self, path: str) -> bool:
        return self.is_district or any(path.startswith(p) for p in self.paths + self.group_paths)


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
        .only("role", "page__path", "page__title", "page_id")
        .order_by("role", "pk")
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
        assignments=tuple(assignments),
    )
    user._tongxin_scope = scope
    return scope


def path_q(prefix_field: str, paths) -> Q:
    """Records whose ``prefix_field`` lies under any of ``paths`` (none if empty)."""
    return reduce(or_, (Q(**{f"{prefix_field}__startswith": p}) for p in paths), Q(pk__in=[]))


def scoped(
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


@dataclass(frozen=True)
class RoleUnit:
    model: type
    message: str
    test: Callable = lambda page: True


# The unit each role is assigned at, registered by the app that defines it.
ROLE_UNITS: dict[str, RoleUnit] = {}


def role_unit(role, model, message, test=RoleUnit.test):
    """Assignments of ``role`` must name a ``model`` page passing ``test``; else the
    role form shows ``message``."""
    ROLE_UNITS[role] = RoleUnit(model, message, test)


VISIBILITY: dict[str, Callable[..., QuerySet]] = {}


def visibility(label: str):
    """Register the rule for who sees which records of a model ("app.model"); each
    app writes its rules in its visibility.py, found when the portal starts."""

    def register(rule):
        VISIBILITY[label] = rule
        return rule

    return register


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
