"""Writes for the organisation's private records."""

from django.db import transaction

from branches.models import Member
from portal.audit import audit_record
from portal.crypto import keyed_hashes
from portal.models import AuditEntry, Role
from portal.validators import normalise_mobile


@transaction.atomic
def member_link_by_phone(*, user, phone: str) -> Member | None:
    """Link ``user`` to the one unlinked member record with this verified mobile
    number. Called only after the number's verification code was entered."""
    from portal.services import role_assign

    if hasattr(user, "member"):
        return user.member
    candidates = list(
        Member.objects.select_for_update().filter(
            phone_hash__in=keyed_hashes(normalise_mobile(phone)), user__isnull=True
        )[:2]
    )
    if len(candidates) != 1:
        return None
    member = candidates[0]
    member.user = user
    member.save(update_fields=["user"])
    role_assign(user=user, role=Role.MEMBER, page=member.branch)
    audit_record(actor=user, action=AuditEntry.Action.MEMBER_LINK, obj=member)
    return member
