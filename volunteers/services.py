"""Writes for duties: signing up, cancelling, and promotion from the waitlist.
Capacity holds under concurrency: a sign-up locks its shift's row (PostgreSQL
SELECT … FOR UPDATE; SQLite runs writers one at a time), so places are counted
and taken by one sign-up at a time."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.notify import notify_on_commit
from volunteers.models import Duty, Shift, SignUp


def eligibility_error(duty: Duty, user) -> str | None:
    member = getattr(user, "member", None) if hasattr(user, "member") else None
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


def _overlapping(user, shift):
    return (
        SignUp.objects.filter(user=user, status__in=SignUp.ACTIVE)
        .exclude(shift=shift)
        .filter(shift__starts_at__lt=shift.ends_at, shift__ends_at__gt=shift.starts_at)
        .select_related("shift__duty")
        .first()
    )


def sign_up(*, shift: Shift, user) -> SignUp:
    """Confirm a place, or join the waitlist when the shift is full. Signing up
    again returns the existing sign-up. Refused, with a message, when the
    deadline has passed, the user may not take the duty, or they already hold a
    shift at an overlapping time."""
    try:
        with transaction.atomic():
            # Lock the person first, then the shift: two sign-ups of one person
            # (overlap) and two sign-ups for one shift (capacity) both serialise.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            shift = (
                Shift.objects.select_for_update().select_related("duty__branch").get(pk=shift.pk)
            )
            existing = SignUp.objects.filter(
                shift=shift, user=user, status__in=SignUp.ACTIVE
            ).first()
            if existing is not None:
                return existing
            now = timezone.now()
            if shift.cancelled or not shift.duty.published:
                raise ValidationError(_("This shift is not open for sign-up."))
            if now >= shift.sign_up_until:
                raise ValidationError(_("Sign-up for this shift has closed."))
            problem = eligibility_error(shift.duty, user)
            if problem:
                raise ValidationError(problem)
            clash = _overlapping(user, shift)
            if clash is not None:
                raise ValidationError(
                    _("You already have %(duty)s at %(time)s, which overlaps this shift.")
                    % {
                        "duty": clash.shift.duty.title,
                        "time": timezone.localtime(clash.shift.starts_at).strftime("%m-%d %H:%M"),
                    }
                )
            taken = SignUp.objects.filter(shift=shift, status=SignUp.Status.CONFIRMED).count()
            status = SignUp.Status.CONFIRMED if taken < shift.capacity else SignUp.Status.WAITLISTED
            return SignUp.objects.create(shift=shift, user=user, status=status)
    except IntegrityError:
        # A concurrent duplicate of the same person's sign-up: the first one stands.
        return SignUp.objects.get(shift=shift, user=user, status__in=SignUp.ACTIVE)


def cancel(*, signup: SignUp, by=None) -> SignUp:
    """Cancel a sign-up; after the cancel deadline it is recorded as late (the
    secretary sees it). A freed place goes to the first on the waitlist, who is told."""
    with transaction.atomic():
        shift = Shift.objects.select_for_update().select_related("duty").get(pk=signup.shift_id)
        signup = SignUp.objects.select_for_update().get(pk=signup.pk)
        if signup.status not in SignUp.ACTIVE:
            return signup
        if shift.starts_at <= timezone.now():
            raise ValidationError(_("The shift has started; ask the organiser instead."))
        freed = signup.status == SignUp.Status.CONFIRMED
        late = timezone.now() >= shift.cancel_until
        signup.status = SignUp.Status.LATE_CANCELLED if late else SignUp.Status.CANCELLED
        signup.save(update_fields=["status", "changed_at"])
        if freed:
            promote(shift)
        return signup


def promote(shift: Shift) -> list[SignUp]:
    """Fill free places from the waitlist, first come first served. Call with
    the shift locked."""
    taken = SignUp.objects.filter(shift=shift, status=SignUp.Status.CONFIRMED).count()
    free = max(0, shift.capacity - taken)
    promoted = list(
        SignUp.objects.filter(shift=shift, status=SignUp.Status.WAITLISTED)
        .select_related("user")
        .order_by("created_at", "id")[:free]
    )
    for signup in promoted:
        signup.status = SignUp.Status.CONFIRMED
        signup.save(update_fields=["status", "changed_at"])
        start = timezone.localtime(shift.starts_at).strftime("%Y-%m-%d %H:%M")
        notify_on_commit(
            signup.user,
            subject=_("You have a place: %(duty)s") % {"duty": shift.duty.title},
            body=_("A place came free and is yours: %(duty)s, %(time)s, %(place)s.")
            % {"duty": shift.duty.title, "time": start, "place": shift.duty.place},
            url=f"/volunteer/shifts/{shift.pk}/",
        )
    return promoted
