"""Reads for community registration (双报到): a member's open registration,
who may decide on one, and the branches a member may register with."""

from branches.models import GridBranchPage, Member
from portal.models import Role
from portal.roles import can_access, user_scope
from volunteers.models import CommunityRegistration

MAX_BRANCHES = 20


def registration_open_for(member: Member) -> CommunityRegistration | None:
    """The member's open (submitted or approved) registration, if any."""
    return (
        CommunityRegistration.objects.filter(member=member, status__in=CommunityRegistration.OPEN)
        .select_related("branch")
        .first()
    )


def may_decide(user, registration: CommunityRegistration) -> bool:
    """Whether ``user`` may approve or return ``registration``: the district, or a
    secretary or coordinator whose unit covers the registration's branch."""
    scope = user_scope(user)
    if scope.is_district:
        staff = True
    else:
        staff = bool(scope.roles & {Role.BRANCH_SECRETARY, Role.GRID_COORDINATOR}) and any(
            registration.branch.path.startswith(p) for p in scope.paths
        )
    return staff and can_access(user, registration)


def live_branches_named(query: str):
    """At most ``MAX_BRANCHES`` live branches whose name contains ``query``."""
    query = (query or "").strip()
    if not query:
        return []
    return list(
        GridBranchPage.objects.live()
        .filter(title__icontains=query)
        .order_by("title", "pk")
        .only("pk", "title", "area")[:MAX_BRANCHES]
    )
