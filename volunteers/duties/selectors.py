"""Reads for duties and shifts: the shifts open for sign-up, who may take a
duty, what else a person does at the same time, who runs a shift, and a
person's coming shifts and the check-ins still waiting for credit."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Role, RoleAssignment
from portal.roles import can_access, member_of, user_scope
from volunteers.models import CheckIn, CreditEvent, Duty, Offer, Shift, SignUp


def open_shifts() -> QuerySet:
    """Shifts still to come of published duties, not called off, soonest first,
    each annotated with ``taken`` (confirmed places)."""
    return (
        Shift.objects.filter(cancelled=False, duty__published=True, starts_at__gt=timezone.now())
        .select_related("duty", "duty__branch")
        .annotate(taken=Count("signups", filter=Q(signups__status=SignUp.Status.CONFIRMED)))
        .order_by("starts_at", "id")
    )


def eligibility_error(duty: Duty, user) -> str | None:
    """Why ``user`` may not take ``duty`` (its eligibility rule), or None."""
    member = member_of(user)
    rule = duty.eligibility
    if rule == Duty.Eligibility.MEMBERS and member is None:
        return _("This duty is for party members.")
    if rule == Duty.Eligibility.BRANCH and (member is None or member.branch_id != duty.branch_id):
        return _("This duty is for members of %(branch)s.") % {"branch": duty.branch.title}
    if rule == Duty.Eligibility.SKILL:
        profile = getattr(user, "volunteer_profile", None) if hasattr(
            user, "volunteer_profile"
        ) else None  # fmt: skip
        if profile is None or not profile.skills.filter(pk=duty.required_skill_id).exists():
            return _("This duty needs: %(skill)s.") % {"skill": duty.required_skill}
    return None


def overlapping_work(
    user, start, end, *, signups=SignUp.ACTIVE, except_shift=None, except_offer=None
) -> tuple[str, object] | None:
    """What the user already does between ``start`` and ``end`` — a shift they
    signed up for or a dispatched task they took — as (title, start), if anything."""
    signup = (
        SignUp.objects.filter(user=user, status__in=signups)
        .exclude(shift=except_shift)
        .filter(shift__starts_at__lt=end, shift__ends_at__gt=start)
        .select_related("shift__duty")
        .first()
    )
    if signup is not None:
        return signup.shift.duty.title, signup.shift.starts_at
    task = (
        Offer.objects.filter(user=user, status__in=(Offer.Status.ACCEPTED, Offer.Status.IN_SERVICE))
        .exclude(pk=getattr(except_offer, "pk", None))
        .filter(request__window_start__lt=end, request__window_end__gt=start)
        .select_related("request")
        .first()
    )
    if task is not None:
        return task.request.title, task.request.window_start
    return None


def can_organise(user, shift: Shift) -> bool:
    """The people who run a shift: the district, the coordinators and secretary
    of its branch, and the leader of its building group."""
    return user_scope(user).is_staff_role and can_access(user, shift.duty)


def shift_organisers(shift: Shift) -> list:
    """Who is told about a shift's check-in: the duty's author, the secretaries
    of its branch and the leaders of its building group."""
    units = Q(role=Role.BRANCH_SECRETARY, page_id=shift.duty.branch_id)
    if shift.duty.group_id:
        units |= Q(role=Role.GROUP_LEADER, page_id=shift.duty.group_id)
    users = [a.user for a in RoleAssignment.objects.filter(units).select_related("user")]
    return [shift.duty.created_by, *users]


def upcoming_signups(*, user, now, limit: int) -> QuerySet:
    """The user's sign-ups for shifts not yet over (and not checked out of),
    soonest first, at most ``limit``."""
    return (
        SignUp.objects.filter(user=user, status__in=SignUp.ACTIVE, shift__ends_at__gt=now)
        .exclude(
            Exists(
                CheckIn.objects.filter(
                    shift=OuterRef("shift"), user=user, checked_out_at__isnull=False
                )
            )
        )
        .select_related("shift__duty")
        .order_by("shift__starts_at")[:limit]
    )


def uncredited_check_ins(*, user, now, limit: int) -> QuerySet:
    """Ended shifts the user was at whose time is not credited yet (not in their
    record, nor its totals, until the organiser verifies them), latest first."""
    return (
        CheckIn.objects.filter(user=user, shift__ends_at__lte=now)
        .exclude(Exists(CreditEvent.objects.filter(check_in=OuterRef("pk"))))
        .select_related("shift__duty")
        .order_by("-shift__starts_at", "-id")[:limit]
    )
