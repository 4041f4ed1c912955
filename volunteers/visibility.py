"""Who sees which volunteering records: duties and sign-ups, service requests and
community registrations (the rules themselves: portal/roles.py)."""

from django.db.models import Q, QuerySet

from portal.roles import path_q, scoped, user_scope, visibility
from volunteers.models import Offer


@visibility("volunteers.duty")
def duties_visible_to(user, qs: QuerySet) -> QuerySet:
    return scoped(qs, user_scope(user), branch_path="branch__path", group_field="group_id")


@visibility("volunteers.signup")
def signups_visible_to(user, qs: QuerySet) -> QuerySet:
    return scoped(
        qs,
        user_scope(user),
        branch_path="shift__duty__branch__path",
        group_field="shift__duty__group_id",
    )


@visibility("volunteers.servicerequest")
def requests_visible_to(user, qs: QuerySet) -> QuerySet:
    """Service requests: the district; coordinators and the secretary by the
    request's branch; a grid worker the requests of their grids; whoever
    recorded one; a volunteer the requests they were offered or took."""
    scope = user_scope(user)
    if scope.is_district:
        return qs
    q = path_q("branch__path", scope.paths) | path_q("grid__path", scope.grid_worker_paths)
    if getattr(user, "is_authenticated", False):
        q |= Q(created_by=user) | Q(pk__in=Offer.objects.filter(user=user).values("request_id"))
    return qs.filter(q)


@visibility("volunteers.communityregistration")
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
