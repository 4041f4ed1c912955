"""The audit log (district administrators read it; nobody edits it) and role
assignments (district administrators grant and revoke them) in the admin."""

from django.db import models
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.forms.models import register_form_field_override
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import AdminPageChooser
from wagtail.models import Page
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from portal.masking import mask_private_numbers
from portal.models import AuditEntry, RoleAssignment
from portal.roles import ROLE_UNITS, user_scope
from portal.services import role_assign, role_revoke


@hooks.register("insert_global_admin_css")
def admin_css():
    """The stylesheet of our own admin pages (reports, compliance), on every admin page."""
    return format_html('<link rel="stylesheet" href="{}">', static("portal/admin.css"))


class ReadOnlyPolicy(ModelPermissionPolicy):
    def user_has_permission(self, user, action):
        if action != "view":
            return False
        return super().user_has_permission(user, action)


register_permission_policy(AuditEntry, ReadOnlyPolicy(AuditEntry))


class AuditIndexView(generic.IndexView):
    """The audit log's listing; its export masks ID and phone numbers in the
    free-text columns (a search query, a username that is a mobile number)."""

    masked_export_fields = ("actor_name", "object_repr", "detail")

    def _get_title_column(self, field_name, column_class=TitleColumn, **kwargs):
        # The time (the first column) stays on one line on a phone: admin.css.
        return super()._get_title_column(field_name, column_class, classname="audit-when", **kwargs)

    def get_base_queryset(self):
        # The operator's member name comes with the row (no query per row).
        return super().get_base_queryset().select_related("actor__member")

    def to_row_dict(self, item):
        row = super().to_row_dict(item)
        for field in self.masked_export_fields:
            row[field] = mask_private_numbers(row[field])
        return row


class AuditViewSet(ModelViewSet):
    model = AuditEntry
    index_view_class = AuditIndexView
    icon = "history"
    menu_label = _("Audit log")
    menu_order = 900
    add_to_admin_menu = True
    list_display = [
        "logged_at",
        Column("operator", label=_("who")),
        "action",
        Column("record_type", label=_("record type")),
        "object_repr",
        Column("field_label", label=_("field")),
        "ip_address",
    ]
    list_filter = ["action"]
    # The export keeps the stored codes (branches.Member, id_number) for machines.
    list_export = [
        "created_at",
        "actor_name",
        "get_action_display",
        "object_type",
        "object_id",
        "object_repr",
        "field_name",
        "detail",
        "ip_address",
    ]
    export_headings = {"get_action_display": _("action")}
    inspect_view_fields = [
        "created_at",
        "operator",
        "action",
        "record_type",
        "object_id",
        "object_repr",
        "field_label",
        "detail",
        "ip_address",
    ]
    export_filename = "audit-log"
    search_fields = ["actor_name", "object_repr"]
    list_per_page = 50
    copy_view_enabled = False
    inspect_view_enabled = True
    form_fields = ["action"]


@hooks.register("register_admin_viewset")
def register_audit():
    return AuditViewSet("audit")


# --- Role assignments: district administrators grant and revoke roles -----------------


class RoleAssignmentForm(WagtailAdminModelForm):
    def clean(self):
        cleaned = super().clean()
        role, page = cleaned.get("role"), cleaned.get("page")
        unit = ROLE_UNITS.get(role)
        if unit is not None:
            if page is None:
                self.add_error("page", _("This role needs a unit of the organisation tree."))
            elif not isinstance(page.specific, unit.model) or not unit.test(page.specific):
                self.add_error("page", unit.message)
        return cleaned


class RoleAssignmentCreateView(generic.CreateView):
    def save_instance(self):
        data = self.form.cleaned_data
        return role_assign(
            user=data["user"], role=data["role"], page=data.get("page"), by=self.request.user
        )


class RoleAssignmentDeleteView(generic.DeleteView):
    def delete_action(self):
        role_revoke(assignment=self.object, by=self.request.user)


class RoleAssignmentPolicy(ModelPermissionPolicy):
    """Only district administrators manage roles (no editing: revoke and grant anew)."""

    def user_has_permission(self, user, action):
        if action == "change":
            return False
        return user.is_active and (user.is_superuser or user_scope(user).is_district)


register_permission_policy(RoleAssignment, RoleAssignmentPolicy(RoleAssignment))


class RoleAssignmentViewSet(ModelViewSet):
    model = RoleAssignment
    icon = "key"
    menu_label = _("Roles")
    menu_order = 890
    add_to_admin_menu = True
    add_view_class = RoleAssignmentCreateView
    delete_view_class = RoleAssignmentDeleteView
    # The user and created_at fields have no verbose names (a label change would
    # be a migration): the columns are named here.
    list_display = [
        Column("user", label=_("account")),
        "role",
        "page",
        Column("created_at", label=_("assigned at")),
    ]
    list_filter = ["role"]
    list_export = ["user", "user.username", "get_role_display", "page", "created_at"]
    export_headings = {
        "user.username": _("username"),
        "get_role_display": _("role"),
        "page": _("unit"),
    }
    export_filename = "roles"
    search_fields = ["user__username"]
    list_per_page = 50
    copy_view_enabled = False
    form_fields = ["user", "role", "page"]

    def get_edit_handler(self):
        return ObjectList(
            [FieldPanel("user"), FieldPanel("role"), FieldPanel("page")],
            base_form_class=RoleAssignmentForm,
        ).bind_to_model(self.model)


@hooks.register("register_admin_viewset")
def register_roles():
    return RoleAssignmentViewSet("roles")


class PageChooser(AdminPageChooser):
    """Wagtail's page chooser with its button text ("Choose a page (网格党支部)")
    in the reader's language: Wagtail joins the two into a plain string when a
    form class is built, which freezes them in the language active at that
    moment, and admin form classes are built once and kept."""

    def __init__(self, target_models=None, **kwargs):
        super().__init__(target_models=target_models, **kwargs)
        model = self.target_models[0]
        if len(self.target_models) == 1 and model is not Page:
            self.choose_one_text = format_lazy(
                "{} ({})", AdminPageChooser.choose_one_text, capfirst(model._meta.verbose_name)
            )


register_form_field_override(
    models.ForeignKey,
    to=Page,
    override=lambda db_field: {"widget": PageChooser(target_models=[db_field.remote_field.model])},
)
