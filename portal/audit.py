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


def _entry(*, actor, action, obj, field, detail, ip, model=None, summary="") -> AuditEntry:
    model = model or (type(obj) if obj is not None else None)
    return AuditEntry(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "system",
        action=action,
        object_type=model._meta.label if model is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=(summary or (str(obj) if obj is not None else ""))[:200],
        field_name=field,
        detail=detail[:500],
        ip_address=ip,
    )


def audit_record(
    *, actor, action, obj=None, model=None, summary="", field="", detail="", request=None
) -> AuditEntry:
    """One entry about ``obj`` — or, for many records at once (an import), about
    ``model`` with a ``summary`` that names them (how many, from which file)."""
    entry = _entry(
        actor=actor,
        action=action,
        obj=obj,
        model=model,
        summary=summary,
        field=field,
        detail=detail,
        ip=client_ip(request),
    )
    entry.save()
    return entry


def audit_records(*, actor, action, objs, field="", detail="", request=None) -> None:
    """One entry per object, written in one query (a page that shows several
    records' private values, e.g. a volunteer's task list)."""
    if not objs:
        return
    ip = client_ip(request)
    AuditEntry.objects.bulk_create(
        [
            _entry(actor=actor, action=action, obj=obj, field=field, detail=detail, ip=ip)
            for obj in objs
        ]
    )
