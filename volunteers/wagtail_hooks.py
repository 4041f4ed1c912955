"""Duties and their shifts in the admin, scoped like every branch record; the
sign-up sheet of a shift shows who is confirmed, waiting or cancelled late."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, ObjectList
from wagtail.admin.ui.tables import Column

from branches.wagtail_hooks import ScopedIndexView, ScopedViewSet
from portal.roles import can_access
from volunteers.models import Duty, Shift, SignUp


class ShiftsColumn(Column):
    """Each shift's start, linking to its sign-up sheet."""

    def get_value(self, instance):
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            (
                (
                    reverse("volunteer_signup_sheet", args=[shift.pk]),
                    timezone.localtime(shift.starts_at).strftime("%m-%d %H:%M"),
                )
                for shift in instance.shifts.all()
            ),
        )


class DutyIndexView(ScopedIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().prefetch_related("shifts")


class DutyViewSet(ScopedViewSet):
    index_view_class = DutyIndexView
    model = Duty
    icon = "group"
    menu_label = _("Duties")
    menu_order = 160
    add_to_admin_menu = True
    list_display = [
        "title",
        "kind",
        "branch",
        "place",
        ShiftsColumn("shifts", label=_("Shifts (sign-up sheets)")),
    ]
    list_select_related = ("branch",)
    list_filter = ["kind", "published"]
    search_fields = ["title", "place"]
    list_export = ["title", "kind", "branch", "place", "eligibility", "published"]
    export_filename = "duties"

    def get_edit_handler(self):
        panels = [
            FieldRowPanel(
                [
                    FieldPanel("branch", widget=forms.Select),
                    FieldPanel("group", widget=forms.Select),
                ]
            ),
            FieldRowPanel([FieldPanel("kind"), FieldPanel("published")]),
            FieldPanel("title"),
            FieldPanel("description"),
            FieldPanel("place"),
            FieldRowPanel(
                [FieldPanel("latitude"), FieldPanel("longitude"), FieldPanel("radius_m")]
            ),
            FieldRowPanel([FieldPanel("eligibility"), FieldPanel("required_skill")]),
            FieldPanel("holder"),
            InlinePanel(
                "shifts",
                label=_("Shifts"),
                panels=[
                    FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at")]),
                    FieldRowPanel([FieldPanel("capacity"), FieldPanel("minimum")]),
                    FieldRowPanel([FieldPanel("signup_deadline"), FieldPanel("cancel_deadline")]),
                    FieldPanel("cancelled"),
                ],
            ),
        ]
        return ObjectList(panels, base_form_class=self.form_class).bind_to_model(Duty)


def signup_sheet(request, pk):
    shift = get_object_or_404(Shift.objects.select_related("duty__branch"), pk=pk)
    if not can_access(request.user, shift.duty):
        raise PermissionDenied
    signups = shift.signups.select_related("user").order_by("created_at", "id")
    return TemplateResponse(
        request,
        "volunteers/admin/signup_sheet.html",
        {"shift": shift, "signups": signups, "statuses": SignUp.Status},
    )


@hooks.register("register_admin_viewset")
def register_duties():
    return DutyViewSet("duties")


@hooks.register("register_admin_urls")
def register_signup_sheet():
    return [path("duties/shift/<int:pk>/signups/", signup_sheet, name="volunteer_signup_sheet")]
