"""The organisation tree's part of the role rules (portal/roles.py): at which unit
each role is assigned, and who sees which members, households, buildings,
residents, central households and their visits, branch meetings and attendance,
and which branches and building groups an admin form offers."""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from branches.models import BuildingGroupPage, GridBranchPage, GridPage
from portal.admin_forms import preselect_only_choice
from portal.models import Role
from portal.roles import path_q, role_unit, scoped, user_scope, visibility

LEVELS = (GridPage.Level.FIRST, GridPage.Level.SECOND, GridPage.Level.THIRD)
role_unit(
    Role.GRID_COORDINATOR,
    GridPage,
    _("A coordinator's unit is a grid of level 1, 2 or 3."),
    lambda page: page.level in LEVELS,
)
role_unit(Role.BRANCH_SECRETARY, GridBranchPage, _("A secretary's unit is a grid party branch."))
role_unit(
    Role.GROUP_LEADER, BuildingGroupPage, _("A group leader's unit is a building party group.")
)
role_unit(Role.GRID_WORKER, GridPage, _("A grid worker's unit is a grid."))


@visibility("branches.gridbranchpage")
@visibility("branches.buildinggrouppage")
def pages_in_scope(user, qs):
    """Branches and groups under the user's units; a group leader also gets the
    branch their group belongs to."""
    scope = user_scope(user)
    if scope.is_district:
        return qs
    q = path_q("path", scope.paths)
    if scope.group_ids:
        if qs.model is GridBranchPage:
            # A leader's own branch is the parent of their group.
            q |= Q(path__in=[p[: -GridBranchPage.steplen] for p in scope.group_paths])
        else:
            q |= Q(pk__in=scope.group_ids)
    return qs.filter(q)


# A secretary's new record starts in their one branch.
preselect_only_choice("branches.gridbranchpage")


@visibility("branches.member")
def members_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    own = Q(pk=scope.member_id) if scope.member_id else None
    return scoped(qs, scope, branch_path="branch__path", group_field="building_group_id", extra=own)


@visibility("branches.household")
def households_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    extra = None
    if scope.central_household_ids:
        extra = Q(central_households__in=scope.central_household_ids)
    qs = scoped(
        qs,
        scope,
        branch_path="building__branch__path",
        group_field="building__building_group_id",
        extra=extra,
    )
    return qs.distinct() if extra is not None else qs


@visibility("branches.building")
def buildings_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    return scoped(qs, scope, branch_path="branch__path", group_field="building_group_id")


@visibility("branches.resident")
def residents_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    return scoped(
        qs,
        scope,
        branch_path="household__building__branch__path",
        group_field="household__building__building_group_id",
    )


@visibility("branches.centralhousehold")
def central_households_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    extra = Q(pk__in=scope.central_household_ids) if scope.central_household_ids else None
    return scoped(
        qs,
        scope,
        branch_path="member__branch__path",
        group_field="member__building_group_id",
        extra=extra,
    )


@visibility("branches.householdvisit")
def visits_visible_to(user, qs: QuerySet) -> QuerySet:
    scope = user_scope(user)
    extra = (
        Q(central_household_id__in=scope.central_household_ids)
        if scope.central_household_ids
        else None
    )
    return scoped(
        qs,
        scope,
        branch_path="central_household__member__branch__path",
        group_field="central_household__member__building_group_id",
        extra=extra,
    )


@visibility("branches.meeting")
def meetings_visible_to(user, qs: QuerySet) -> QuerySet:
    """Branch meetings: the branch's secretary and coordinators, the district, and
    a group leader for their group's meetings."""
    return scoped(qs, user_scope(user), branch_path="branch__path", group_field="group_id")


@visibility("branches.attendance")
def attendance_visible_to(user, qs: QuerySet) -> QuerySet:
    return scoped(
        qs, user_scope(user), branch_path="meeting__branch__path", group_field="meeting__group_id"
    )
