"""Writing the audit log. Every read of an unmasked private value goes through here."""

from portal.models import AuditEntry


def _client_ip(request):
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(*, actor, action, obj=None, field="", detail="", request=None) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "system",
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        field=field,
        detail=detail[:500],
        ip_address=_client_ip(request),
    )
