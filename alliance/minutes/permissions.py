"""Who may do what with a joint meeting's minutes, in which state, and to whom
their action items may be given.

What each state allows is ``ALLOWED``; who may do it is ``may``: the meeting's
staff (``alliance.access.can_run``) save, circulate, revise and publish; only
the convener approves; the attendees and the staff comment. The staff read
minutes in any state, invitees once they are circulated (``may_read``)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from alliance.access import can_run
from alliance.meetings.rules import is_attendee, is_invited
from alliance.models import JointMeeting, Minutes, Partner, PartnerContact
from branches.models import GridBranchPage

State = Minutes.State

# What each state allows. Who may do it is decided by ``may``.
SAVE, CIRCULATE, COMMENT, REVISE, APPROVE, PUBLISH = (
    "save",
    "circulate",
    "comment",
    "revise",
    "approve",
    "publish",
)
ALLOWED = {
    State.DRAFT: (SAVE, CIRCULATE),
    State.CIRCULATED: (COMMENT, REVISE, APPROVE),
    State.APPROVED: (PUBLISH,),
    State.PUBLISHED: (),
}


def may(user, minutes: Minutes, action: str) -> bool:
    """Whether ``user`` may do ``action`` to ``minutes`` in their current state."""
    if action not in ALLOWED[minutes.state] or not getattr(user, "is_authenticated", False):
        return False
    meeting = minutes.meeting
    if action == APPROVE:
        return meeting.convener_id == user.pk
    if action == COMMENT:
        return can_run(user, meeting) or is_attendee(user, meeting)
    return can_run(user, meeting)


def allowed_actions(user, minutes: Minutes) -> list[str]:
    """The changes of state the state bar offers ``user`` (saving is the
    editor's button, comments are offered per item)."""
    return [a for a in ALLOWED[minutes.state] if a not in (SAVE, COMMENT) and may(user, minutes, a)]


def may_read(user, minutes: Minutes | None, meeting: JointMeeting) -> bool:
    """The staff read minutes in any state; invitees once they are circulated
    (a draft, also one being revised, is the staff's)."""
    if can_run(user, meeting):
        return True
    return minutes is not None and minutes.state != State.DRAFT and is_invited(user, meeting)


def require_may(minutes: Minutes, action: str, user) -> None:
    """Refuse ``action`` unless the state allows it (ValidationError) and the
    user may do it (PermissionDenied), with the message that says why."""
    if action not in ALLOWED[minutes.state]:
        raise ValidationError(
            _("The minutes are “%(state)s”: this cannot be done now.")
            % {"state": minutes.get_state_display()}
        )
    if not may(user, minutes, action):
        if action == APPROVE:
            raise PermissionDenied(_("Only the convener of the meeting may approve the minutes."))
        if action == COMMENT:
            raise PermissionDenied(_("Only the attendees and the staff may comment."))
        raise PermissionDenied(_("Only the staff running this meeting may do this."))


# --- Owners of action items -----------------------------------------------------------------


def owner_units(meeting: JointMeeting) -> tuple[list[Partner], list[GridBranchPage]]:
    """The units an action item of ``meeting`` may be given to: the alliance's
    partners and branches (and the convening unit, when it is a branch)."""
    alliance = meeting.alliance
    partners = list(alliance.partners.order_by("name"))
    branches = list(
        GridBranchPage.objects.filter(
            Q(pk__in=alliance.branches.values("pk")) | Q(pk=alliance.unit_id)
        ).order_by("path")
    )
    return partners, branches


def owner_people(meeting: JointMeeting) -> QuerySet:
    """The people an action item of ``meeting`` may be given to: its invitees,
    its convener and the contacts of the alliance's partners. Their ids first
    (each from its own index), then the users by primary key: one OR across the
    invitation join made PostgreSQL read every user (0.5 s at seed scale)."""
    ids = set(
        PartnerContact.objects.filter(
            partner__in=meeting.alliance.partners.all(), user__isnull=False
        ).values_list("user", flat=True)
    )
    ids.update(meeting.invitations.values_list("user", flat=True))
    if meeting.convener_id:
        ids.add(meeting.convener_id)
    return get_user_model().objects.filter(pk__in=ids).order_by("username")
