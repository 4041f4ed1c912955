"""Community registration (双报到) writes: an employed member registers with the
community branch where they live; that branch's secretary (or a coordinator above
it, or the district) approves it or returns it with a reason; the member may
withdraw it.

No audit entry is written for decisions: ``AuditEntry.Action`` has no action for
them, and the registration itself keeps who decided and when."""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import GridBranchPage, Member
from portal.i18n import in_language_of
from portal.notify import notify_on_commit
from volunteers.models import CommunityRegistration
from volunteers.registration.selectors import may_decide, registration_open_for

EMPLOYER_MAX = CommunityRegistration._meta.get_field("employer").max_length
SKILLS_MAX = CommunityRegistration._meta.get_field("skills").max_length
ADDRESS_MAX = 200
REASON_MAX = 500


def _open_error(existing: CommunityRegistration) -> ValidationError:
    return ValidationError(
        _(
            "You already have a registration with %(branch)s (%(status)s). "
            "Withdraw it before registering again."
        )
        % {"branch": existing.branch.title, "status": existing.get_status_display()},
        code="open",
    )


@transaction.atomic
def registration_submit(
    *, member: Member, branch: GridBranchPage, employer: str, address: str, skills: str = ""
) -> CommunityRegistration:
    """Register ``member`` with the community ``branch``. Refused if they already
    have an open registration. Records the employer on the member record too
    (they are an employed member, 在职党员)."""
    # Lock the member row: two submissions at once wait for each other.
    member = Member.objects.select_for_update().get(pk=member.pk)
    existing = registration_open_for(member)
    if existing is not None:
        raise _open_error(existing)

    employer = (employer or "").strip()
    address = (address or "").strip()
    skills = (skills or "").strip()
    errors = {}
    if branch is None or not GridBranchPage.objects.live().filter(pk=branch.pk).exists():
        errors["branch"] = _("Choose a party branch from the list.")
    if not employer:
        errors["employer"] = _(
            "Give your employer unit: members registering with their community are "
            "employed members (在职党员)."
        )
    elif len(employer) > EMPLOYER_MAX:
        errors["employer"] = _("Keep the employer unit to %(n)d characters.") % {"n": EMPLOYER_MAX}
    if not address:
        errors["address"] = _("Give your home address in this community.")
    elif len(address) > ADDRESS_MAX:
        errors["address"] = _("Keep the address to %(n)d characters.") % {"n": ADDRESS_MAX}
    if len(skills) > SKILLS_MAX:
        errors["skills"] = _("Keep what you can offer to %(n)d characters.") % {"n": SKILLS_MAX}
    if errors:
        raise ValidationError(errors)

    try:
        with transaction.atomic():
            registration = CommunityRegistration.objects.create(
                member=member, branch=branch, employer=employer, address=address, skills=skills
            )
    except IntegrityError:
        # Another request opened one between our check and the insert.
        existing = registration_open_for(member)
        if existing is None:
            raise
        raise _open_error(existing) from None
    member.employed_elsewhere = True
    member.employer = employer
    member.save(update_fields=["employed_elsewhere", "employer"])
    return registration


def _lock_for_decision(registration, by) -> CommunityRegistration:
    registration = (
        CommunityRegistration.objects.select_for_update(of=("self",))
        .select_related("branch", "member__user")
        .get(pk=registration.pk)
    )
    if not may_decide(by, registration):
        raise PermissionDenied
    if registration.status != CommunityRegistration.Status.SUBMITTED:
        raise ValidationError(
            _("Only registrations awaiting approval can be decided; this one is %(status)s.")
            % {"status": registration.get_status_display()},
            code="decided",
        )
    return registration


def _tell_member(registration: CommunityRegistration, message: Callable[[], tuple[str, str]]):
    """Tell the member; ``message()`` gives the (subject, body) in their language."""
    user = registration.member.user
    if user is not None:
        with in_language_of(user):
            subject, body = message()
            notify_on_commit(user, subject=subject, body=body, url=reverse("my_registration"))


@transaction.atomic
def registration_approve(*, registration: CommunityRegistration, by, request=None):
    """Approve a submitted registration and tell the member."""
    registration = _lock_for_decision(registration, by)
    registration.status = CommunityRegistration.Status.APPROVED
    registration.reason = ""
    registration.decided_by = by
    registration.decided_at = timezone.now()
    registration.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    _tell_member(
        registration,
        lambda: (
            _("Your community registration is approved"),
            _(
                "%(branch)s has approved your community registration. "
                "You can download your registration slip from your page."
            )
            % {"branch": registration.branch.title},
        ),
    )
    return registration


@transaction.atomic
def registration_return(*, registration: CommunityRegistration, by, reason: str, request=None):
    """Return a submitted registration to the member with a reason (required)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Give the reason for returning, so the member knows what to change.")}
        )
    if len(reason) > REASON_MAX:
        raise ValidationError(
            {"reason": _("Keep the reason to %(n)d characters.") % {"n": REASON_MAX}}
        )
    registration = _lock_for_decision(registration, by)
    registration.status = CommunityRegistration.Status.RETURNED
    registration.reason = reason
    registration.decided_by = by
    registration.decided_at = timezone.now()
    registration.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    _tell_member(
        registration,
        lambda: (
            _("Your community registration was returned"),
            _("%(branch)s returned your community registration. Reason: %(reason)s")
            % {"branch": registration.branch.title, "reason": reason},
        ),
    )
    return registration


@transaction.atomic
def registration_withdraw(*, registration: CommunityRegistration, by) -> CommunityRegistration:
    """The member withdraws their own open registration (awaiting approval or approved)."""
    registration = (
        CommunityRegistration.objects.select_for_update(of=("self",))
        .select_related("member", "branch")
        .get(pk=registration.pk)
    )
    if by is None or registration.member.user_id != by.pk:
        raise PermissionDenied
    if registration.status not in CommunityRegistration.OPEN:
        raise ValidationError(
            _("This registration is %(status)s and cannot be withdrawn.")
            % {"status": registration.get_status_display()},
            code="closed",
        )
    registration.status = CommunityRegistration.Status.WITHDRAWN
    registration.save(update_fields=["status"])
    return registration
