"""Who may see and do what in the alliance, by the same role scopes as the
rest of the portal (``portal.roles``):

- the district sees everything;
- coordinators and secretaries run the alliances convened at or below their
  unit and those their branches belong to;
- a partner contact sees the meetings they were invited to, manages their own
  unit's profile and resources, and updates only their own unit's action items;
- any invitee sees the meeting they were invited to.
"""

from django.db.models import Q, QuerySet

from alliance.models import ActionItem, Alliance, JointMeeting, Partner
from portal.roles import path_q, user_scope


def partner_of(user) -> Partner | None:
    """The partner unit whose contact this account is, if any."""
    contact = getattr(user, "partner_contact", None) if hasattr(user, "partner_contact") else None
    return contact.partner if contact is not None else None


def alliances_run_by(user) -> QuerySet:
    scope = user_scope(user)
    if scope.is_district:
        return Alliance.objects.all()
    if not scope.paths:
        return Alliance.objects.none()
    return Alliance.objects.filter(
        path_q("unit__path", scope.paths) | path_q("branches__path", scope.paths)
    ).distinct()


def joint_meetings_visible_to(user, qs: QuerySet | None = None) -> QuerySet:
    qs = JointMeeting.objects.all() if qs is None else qs
    if user_scope(user).is_district:
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(
        Q(alliance__in=alliances_run_by(user)) | Q(invitations__user=user) | Q(convener=user)
    ).distinct()


def can_run(user, meeting: JointMeeting) -> bool:
    """Convening, agenda, attendance and minutes: the convener, the district
    and the staff of the alliance."""
    return (
        meeting.convener_id == user.pk
        or alliances_run_by(user).filter(pk=meeting.alliance_id).exists()
    )


def actions_updatable_by(user, qs: QuerySet | None = None) -> QuerySet:
    """Action items the user may post progress on: their own, their partner
    unit's, and those of the branches (or alliances) they run."""
    qs = ActionItem.objects.all() if qs is None else qs
    scope = user_scope(user)
    if scope.is_district:
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    q = Q(owner=user) | Q(meeting__alliance__in=alliances_run_by(user))
    partner = partner_of(user)
    if partner is not None:
        q |= Q(owner_partner=partner)
    if scope.paths:
        q |= path_q("owner_branch__path", scope.paths)
    return qs.filter(q).distinct()
