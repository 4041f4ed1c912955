"""Duties and their shifts in the admin (its hooks run when
volunteers/wagtail_hooks.py imports this module), scoped like every branch
record, and the district's points rules. The sign-up sheet of a shift shows
who is confirmed, waiting or cancelled late, and who checked in, where the
organisers record walk-ins, correct times and verify check-ins that closed
automatically."""

from allauth.account.adapter import get_adapter
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from wagtail import hooks
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
)
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import CreateView
from wagtail.admin.viewsets.model import ModelViewSet

from branches.meeting_admin import RepeatFields
from portal.admin_forms import PrivateRecordForm
from portal.admin_views import ScopedIndexView, ScopedViewSet
from portal.forms import LOCAL_MINUTE, LocalDateTimeInput
from volunteers.duties import services
from volunteers.duties.selectors import can_organise
from volunteers.models import CheckIn, CreditEvent, Duty, PointRule, Shift, SignUp


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


class DutyForm(RepeatFields, PrivateRecordForm):
    """Creating: a repeat rule (checked here against the one shift given) turns
    that shift into a series when the duty is saved (``DutyCreateView``).
    Editing shows shifts only."""

    def is_valid(self):
        valid = super().is_valid()
        if valid and not self.instance.pk and self.cleaned_data.get("repeat"):
            starts = [
                form.cleaned_data["starts_at"]
                for form in self.formsets["shifts"].forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")
            ]
            if len(starts) != 1:
                self.add_error("repeat", _("Give exactly one shift to repeat."))
            else:
                self.clean_repeat_rule(starts[0])
            valid = not self.errors
        return valid


class DutyCreateView(CreateView):
    def save_instance(self):
        duty = super().save_instance()
        if self.form.rrule:
            services.duty_series_expand(duty=duty, rrule=self.form.rrule)
        return duty


class DutyViewSet(ScopedViewSet):
    form_class = DutyForm
    add_view_class = DutyCreateView
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
            FieldPanel("require_location"),
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
            MultiFieldPanel(
                [FieldPanel("repeat"), FieldPanel("repeat_count"), FieldPanel("custom_rrule")],
                heading=_("Repeat the shift"),
            ),
        ]
        return ObjectList(panels, base_form_class=self.form_class).bind_to_model(Duty)


class TimesForm(forms.Form):
    checked_in_at = forms.DateTimeField(
        label=_("Checked in at"),
        input_formats=LOCAL_MINUTE,
        widget=LocalDateTimeInput(),
    )
    checked_out_at = forms.DateTimeField(
        label=_("Checked out at"),
        input_formats=LOCAL_MINUTE,
        widget=LocalDateTimeInput(),
    )


class WalkInForm(TimesForm):
    person = forms.CharField(
        label=_("Username or mobile number"),
        max_length=150,
        help_text=_("The person needs an account, so that the hours are theirs."),
    )

    def clean_person(self):
        value = self.cleaned_data["person"].strip()
        user = get_user_model().objects.filter(username=value).first()
        if user is None and value.isdigit():
            user = get_adapter().get_user_by_phone(value)
        if user is None:
            raise forms.ValidationError(_("No account has this username or mobile number."))
        return user


class CorrectionForm(TimesForm):
    reason = forms.CharField(label=_("Reason"), max_length=200)


def _organised_shift(request, pk) -> Shift:
    shift = get_object_or_404(Shift.objects.select_related("duty__branch"), pk=pk)
    if not can_organise(request.user, shift):
        raise PermissionDenied
    return shift


def signup_sheet(request, pk, walk_in_form=None):
    shift = _organised_shift(request, pk)
    signups = shift.signups.select_related("user__member").order_by("created_at", "id")
    credited = dict(
        CreditEvent.objects.filter(check_in__shift=shift)
        .values("check_in")
        .annotate(m=Sum("minutes"))
        .values_list("check_in", "m")
    )
    check_ins = list(
        shift.check_ins.select_related("user__member", "verified_by").prefetch_related(
            "corrections__author"
        )
    )
    for record in check_ins:
        record.credited_hours = round((credited.get(record.pk) or 0) / 60, 1)
        record.form = CorrectionForm(
            initial={
                "checked_in_at": timezone.localtime(record.checked_in_at),
                "checked_out_at": timezone.localtime(record.checked_out_at or shift.ends_at),
            },
            prefix=f"c{record.pk}",
        )
    return TemplateResponse(
        request,
        "volunteers/admin/signup_sheet.html",
        {
            "shift": shift,
            "signups": signups,
            "statuses": SignUp.Status,
            "check_ins": check_ins,
            "walk_in_form": walk_in_form
            or WalkInForm(
                initial={
                    "checked_in_at": timezone.localtime(shift.starts_at),
                    "checked_out_at": timezone.localtime(shift.ends_at),
                }
            ),
        },
    )


def _run(request, action, success):
    try:
        action()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return False
    messages.success(request, success)
    return True


@require_POST
def walk_in(request, pk):
    shift = _organised_shift(request, pk)
    form = WalkInForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The walk-in was not recorded: see the form."))
        return signup_sheet(request, pk, walk_in_form=form)
    data = form.cleaned_data
    _run(
        request,
        lambda: services.walk_in_record(
            shift=shift,
            user=data["person"],
            by=request.user,
            checked_in_at=data["checked_in_at"],
            checked_out_at=data["checked_out_at"],
        ),
        _("Walk-in recorded and credited."),
    )
    return redirect("volunteer_signup_sheet", pk=shift.pk)


@require_POST
def correct(request, pk):
    record = get_object_or_404(CheckIn, pk=pk)
    _organised_shift(request, record.shift_id)
    form = CorrectionForm(request.POST, prefix=f"c{record.pk}")
    if not form.is_valid():
        messages.error(
            request,
            _("Nothing was changed: %(errors)s")
            % {"errors": " ".join(e for errs in form.errors.values() for e in errs)},
        )
    else:
        _run(
            request,
            lambda: services.check_in_correct(
                check_in=record, by=request.user, **form.cleaned_data
            ),
            _("Times corrected; the credit was reversed and posted again."),
        )
    return redirect("volunteer_signup_sheet", pk=record.shift_id)


@require_POST
def verify(request, pk):
    record = get_object_or_404(CheckIn, pk=pk)
    _organised_shift(request, record.shift_id)
    _run(
        request,
        lambda: services.check_in_verify(check_in=record, by=request.user),
        _("Verified and credited."),
    )
    return redirect("volunteer_signup_sheet", pk=record.shift_id)


class PointRuleViewSet(ModelViewSet):
    """The district's points for each duty kind (district administrators only)."""

    model = PointRule
    icon = "pick"
    menu_label = _("Points rules")
    menu_order = 162
    add_to_admin_menu = True
    list_display = ["kind", "per_shift", "per_hour"]
    form_fields = ["per_shift", "per_hour"]
    inspect_view_enabled = False


@hooks.register("register_admin_viewset")
def register_duties():
    return DutyViewSet("duties")


@hooks.register("register_admin_viewset")
def register_point_rules():
    return PointRuleViewSet("point_rules")


@hooks.register("register_admin_urls")
def register_signup_sheet():
    return [
        path("duties/shift/<int:pk>/signups/", signup_sheet, name="volunteer_signup_sheet"),
        path("duties/shift/<int:pk>/walk-in/", walk_in, name="volunteer_walk_in"),
        path("duties/check-in/<int:pk>/correct/", correct, name="volunteer_check_in_correct"),
        path("duties/check-in/<int:pk>/verify/", verify, name="volunteer_check_in_verify"),
    ]
