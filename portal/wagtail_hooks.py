"""The audit log in the admin: district administrators read it; nobody edits it."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from portal.models import AuditEntry


class ReadOnlyPolicy(ModelPermissionPolicy):
    def user_has_permission(self, user, action):
        if action != "view":
            return False
        return super().user_has_permission(user, action)


register_permission_policy(AuditEntry, ReadOnlyPolicy(AuditEntry))


class AuditViewSet(ModelViewSet):
    model = AuditEntry
    icon = "history"
    menu_label = _("Audit log")
    menu_order = 900
    add_to_admin_menu = True
    list_display = [
        "created_at",
        "actor_name",
        "action",
        "object_type",
        "object_repr",
        "field",
        "ip_address",
    ]
    list_filter = ["action"]
    search_fields = ["actor_name", "object_repr"]
    list_per_page = 50
    copy_view_enabled = False
    inspect_view_enabled = True
    form_fields = ["action"]


@hooks.register("register_admin_viewset")
def register_audit():
    return AuditViewSet("audit")
