from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.admin_url_finder import AdminURLFinder

from branches.models import Household, Member, Resident
from portal.audit import audit_record
from portal.masking import MASKS
from portal.models import AuditEntry
from portal.roles import can_access, can_reveal

PRIVATE_FIELDS = {
    "member": (Member, {"id_number": _("ID number"), "phone": _("Mobile number")}),
    "household": (Household, {"address": _("address"), "phone": _("phone")}),
    "resident": (Resident, {"id_number": _("ID number"), "phone": _("phone")}),
}


def private_values(request, model_name, pk):
    """One record's private values, masked; a POST naming a field reveals it in
    full to a role allowed to see it, and writes the reveal to the audit log."""
    if model_name not in PRIVATE_FIELDS:
        raise Http404
    model, fields = PRIVATE_FIELDS[model_name]
    obj = get_object_or_404(model, pk=pk)
    if not can_access(request.user, obj):
        raise PermissionDenied
    allowed = can_reveal(request.user, obj)
    revealed = {}
    if request.method == "POST":
        field = request.POST.get("field")
        if field not in fields or not allowed:
            raise PermissionDenied
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.REVEAL,
            obj=obj,
            field=field,
            request=request,
        )
        revealed[field] = getattr(obj, field)
    rows = [
        {
            "name": name,
            "label": label,
            "masked": MASKS[name](getattr(obj, name)),
            "value": revealed.get(name),
            "empty": not getattr(obj, name),
        }
        for name, label in fields.items()
    ]
    return TemplateResponse(
        request,
        "branches/admin/private_values.html",
        {
            "object": obj,
            "rows": rows,
            "can_reveal": allowed,
            "model_name": model_name,
            # Back to the record this page belongs to (its edit page, or its list).
            "record_url": AdminURLFinder(request.user).get_edit_url(obj),
        },
    )
