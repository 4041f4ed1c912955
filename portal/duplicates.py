"""Uniqueness checks on private values (ID numbers) without a membership oracle.

A form or an import that refuses an ID number because another record holds it
would tell anyone who may add records whether that person is, say, a party
member in another branch. The one rule: a duplicate the user may see is named as
usual; a duplicate outside the user's scope is refused with a neutral message
that says nothing about the other record, and the hit is audited.
"""

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from portal.audit import audit_record
from portal.models import AuditEntry
from portal.roles import visible_to

ID_NUMBER_HELD_ELSEWHERE = _(
    "This ID number cannot be used here. Contact the district organisation department."
)
ID_NUMBER_HELD_ELSEWHERE_IMPORT = _(
    "This ID number cannot be imported. Contact the district organisation department."
)

# Hash lookups with IN (...) are chunked below SQLite's variable limit.
_CHUNK = 500


def held_hashes(
    *, user, qs: QuerySet, hash_field: str, hashes: Iterable[str]
) -> tuple[set[str], set[str]]:
    """Which of ``hashes`` (keyed hashes of a private value) records of ``qs`` hold:
    ``(seen, hidden)``, the ones held by a record ``user`` may see, and the ones held
    only by records outside the user's scope. Two queries per 500 hashes."""
    wanted = sorted(set(hashes) - {""})
    seen: set[str] = set()
    held: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = qs.filter(**{f"{hash_field}__in": wanted[start : start + _CHUNK]})
        held.update(chunk.values_list(hash_field, flat=True))
        seen.update(visible_to(user, chunk).values_list(hash_field, flat=True))
    return seen, held - seen


def held_elsewhere_audit(
    *, user, qs: QuerySet, field: str, masked: list[str], where: str, request=None
) -> None:
    """Audit that ``user`` typed private values (shown here ``masked``) that records of
    ``qs``'s model outside their scope hold: repeated hits are a probe for
    membership, which the district organisation department should see."""
    if not masked:
        return
    shown = ", ".join(masked[:20]) + (f" (+{len(masked) - 20})" if len(masked) > 20 else "")
    audit_record(
        actor=user,
        action=AuditEntry.Action.PRIVATE_DUPLICATE,
        field=field,
        detail=f"{where} {qs.model._meta.label}: {shown}",
        request=request,
    )
