"""Writing the audit log. Every read of an unmasked private value goes through here."""

import ipaddress

from django.conf import settings

from portal.models import AuditEntry


def client_ip(request) -> str | None:
    """The client's address, the one rule for rate limits and the audit log.

    Behind ``ALLAUTH_TRUSTED_PROXY_COUNT`` proxies (``TRUSTED_PROXY_COUNT``) it is
    that many hops from the right of X-Forwarded-For, which the proxies appended
    and the client cannot forge; with no proxy the header is ignored."""
    if request is None:
        return None
    count = getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0)
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
    candidate = hops[-count] if count and len(hops) >= count else ""
    for address in (candidate, request.META.get("REMOTE_ADDR", "")):
        try:
            return str(ipaddress.ip_address(address.strip("[]")))
        except ValueError:
            continue
    return None


def audit_record(*, actor, action, obj=None, field="", detail="", request=None) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "system",
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        field_name=field,
        detail=detail[:500],
        ip_address=client_ip(request),
    )
