"""Community registration (双报到) in the admin: the secretary approves or returns.

A read-only, scoped list (社区报到审核) whose rows open a review page with the
registration (address masked), an approve button and a return-with-reason form;
the slip PDF of an approved registration. Decisions go through
``volunteers.registration.services``; there is no generic add, edit or delete.
Its hooks run when volunteers/wagtail_hooks.py imports this module."""

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.admin_url_finder import ModelAdminURLFinder
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic

from branches.admin_base import TreeFilterSet
from portal.admin_views import ScopedViewSet
from portal.masking import mask_address
from portal.names import person_name
from portal.roles import can_access
from volunteers.models import CommunityRegistration
from volunteers.registration import services
from volunteers.registration.selectors import may_decide
from volunteers.registration.views import slip_response

STATUS_LABEL = gettext_lazy("Registration status")


class RegistrationFilterSet(TreeFilterSet):
    status = django_filters.ChoiceFilter(
        label=STATUS_LABEL, choices=CommunityRegistration.Status.choices
    )

    class Meta:
        model = CommunityRegistration
        fields = []


class MaskedAddressColumn(Column):
    def get_value(self, instance):
        return mask_address(instance.address)


def _local(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


class RegistrationInspectView(generic.InspectView):
    """One registration, with the decision forms while it awaits approval."""

    template_name = "volunteers/admin/registration_inspect.html"
    page_title = gettext_lazy("Review registration")

    def get_object(self, queryset=None):
        registration = get_object_or_404(
            CommunityRegistration.objects.select_related("member", "branch", "decided_by"),
            pk=self.pk,
        )
        if not can_access(self.request.user, registration):
            raise PermissionDenied
        return registration

    def get_field_label(self, field_name, field):
        if field_name == "status":
            return STATUS_LABEL
        return super().get_field_label(field_name, field)

    def get_address_display_value(self):
        return mask_address(self.object.address) or "—"

    def get_skills_display_value(self):
        return self.object.skills or "—"

    def get_reason_display_value(self):
        return self.object.reason or "—"

    def get_created_at_display_value(self):
        return _local(self.object.created_at)

    def get_decided_at_display_value(self):
        return _local(self.object.decided_at)

    def get_decided_by_display_value(self):
        user = self.object.decided_by
        return person_name(user) if user else "—"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        registration = self.object
        submitted = registration.status == CommunityRegistration.Status.SUBMITTED
        context.update(
            can_decide=submitted and may_decide(self.request.user, registration),
            reason=kwargs.get("reason", ""),
            reason_errors=kwargs.get("reason_errors", []),
            slip_url=(
                reverse("registrations:slip", args=[registration.pk])
                if registration.status == CommunityRegistration.Status.APPROVED
                else ""
            ),
        )
        return context

    def post(self, request, *args, **kwargs):
        if not self.user_has_permission("change"):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "approve":
                services.registration_approve(
                    registration=self.object, by=request.user, request=request
                )
                messages.success(request, _("Approved. The member has been told."))
            elif action == "return":
                services.registration_return(
                    registration=self.object,
                    by=request.user,
                    reason=request.POST.get("reason", ""),
                    request=request,
                )
                messages.success(request, _("Returned to the member with your reason."))
            else:
                return redirect("registrations:inspect", self.object.pk)
        except ValidationError as error:
            if hasattr(error, "error_dict") and "reason" in error.error_dict:
                return self.render_to_response(
                    self.get_context_data(
                        reason=request.POST.get("reason", ""),
                        reason_errors=error.message_dict["reason"],
                    )
                )
            messages.error(request, " ".join(error.messages))
            return redirect("registrations:inspect", self.object.pk)
        return redirect("registrations:index")


def registration_slip_admin(request, pk):
    """The slip of an approved registration, for whoever may see the registration."""
    registration = get_object_or_404(
        CommunityRegistration.objects.select_related("member", "branch", "decided_by"), pk=pk
    )
    if not can_access(request.user, registration):
        raise PermissionDenied
    if registration.status != CommunityRegistration.Status.APPROVED:
        raise PermissionDenied
    return slip_response(registration)


class RegistrationViewSet(ScopedViewSet):
    model = CommunityRegistration
    icon = "clipboard-list"
    menu_label = gettext_lazy("Community registrations to review")
    menu_order = 161
    add_to_admin_menu = True
    inspect_view_enabled = True
    inspect_view_class = RegistrationInspectView
    inspect_view_fields = [
        "member",
        "branch",
        "employer",
        "address",
        "skills",
        "status",
        "reason",
        "created_at",
        "decided_by",
        "decided_at",
    ]
    list_display = [
        "member",
        "branch",
        "employer",
        Column("status", label=STATUS_LABEL, accessor="get_status_display", sort_key="status"),
        DateColumn("created_at", label=gettext_lazy("Submitted at"), sort_key="created_at"),
        MaskedAddressColumn("address", label=gettext_lazy("Home address")),
    ]
    list_select_related = ("member", "branch")
    filterset_class = RegistrationFilterSet
    list_export = ["member", "branch", "employer", "get_status_display", "created_at"]
    export_headings = {
        "get_status_display": STATUS_LABEL,
        "created_at": gettext_lazy("Submitted at"),
    }
    export_filename = "community-registrations"

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(page_title=self.menu_label, **kwargs)

    def get_common_view_kwargs(self, **kwargs):
        # Only the list, the review page and the slip exist: no generic add, edit
        # or delete, so a decision always goes through the services.
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        view_kwargs.update(
            add_url_name=None,
            edit_url_name=None,
            delete_url_name=None,
            history_url_name=None,
            usage_url_name=None,
        )
        return view_kwargs

    @cached_property
    def url_finder_class(self):
        return type(
            "RegistrationURLFinder",
            (ModelAdminURLFinder,),
            {"edit_url_name": self.get_url_name("inspect")},
        )

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
            path("slip/<int:pk>/", registration_slip_admin, name="slip"),
        ]


@hooks.register("register_admin_viewset")
def register_registrations():
    return RegistrationViewSet("registrations")
