"""三会一课 in the admin: schedule one-off or recurring meetings for a branch,
edit or cancel one occurrence, record attendance, minutes and photos. Every
list, form and view is limited to the user's scope."""

import datetime as dt

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
)
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.widgets.button import Button

from branches.admin_base import branch_choices
from branches.models import Attendance, Meeting, MeetingKind, MeetingPhoto
from branches.schedule import attendance_record, meeting_cancel, meeting_schedule, occurrences
from portal.admin_forms import PrivateRecordForm
from portal.admin_views import ScopedEditView, ScopedIndexView, ScopedViewSet
from portal.roles import can_access
from portal.uploads import private_file_response


class Repeat:
    NONE = ""
    WEEKLY = "FREQ=WEEKLY"
    MONTHLY = "FREQ=MONTHLY"
    MONTHLY_LAST = "FREQ=MONTHLY;BYMONTHDAY=-1"
    QUARTERLY = "FREQ=MONTHLY;INTERVAL=3"
    CUSTOM = "custom"
    CHOICES = [
        (NONE, _("Does not repeat")),
        (WEEKLY, _("Every week")),
        (MONTHLY, _("Every month on the same day")),
        (MONTHLY_LAST, _("Every month on the last day")),
        (QUARTERLY, _("Every three months")),
        (CUSTOM, _("Custom rule (RRULE)")),
    ]


class RepeatFields(forms.Form):
    """A repeat rule for a new record: none, a common rule or any RRULE, and
    how many times. ``clean_repeat`` leaves the rule with its count in
    ``self.rrule`` ("" when it does not repeat); editing shows no repeat fields."""

    repeat = forms.ChoiceField(label=_("Repeat"), choices=Repeat.CHOICES, required=False)
    repeat_count = forms.IntegerField(
        label=_("Number of times"),
        min_value=2,
        max_value=24,
        required=False,
        help_text=_("For repeating: how many to schedule (at most 24)."),
    )
    custom_rrule = forms.CharField(
        label=_("Custom rule"),
        required=False,
        max_length=200,
        help_text=_("e.g. FREQ=MONTHLY;BYDAY=1FR (the first Friday of every month)"),
    )
    rrule = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("repeat", "repeat_count", "custom_rrule"):
                self.fields.pop(name, None)

    def clean_repeat_rule(self, first_start):
        cleaned = self.cleaned_data
        repeat = cleaned.get("repeat") or ""
        if repeat == Repeat.CUSTOM:
            rule = (cleaned.get("custom_rrule") or "").strip().upper()
            if not rule:
                self.add_error("custom_rrule", _("Write the repeat rule."))
        else:
            rule = repeat
        if rule and "COUNT=" not in rule and "UNTIL=" not in rule:
            count = cleaned.get("repeat_count")
            if not count:
                self.add_error("repeat_count", _("How many times should it be scheduled?"))
            rule = f"{rule};COUNT={count or 2}"
        self.rrule = rule
        if rule and first_start and not self.errors:
            try:  # an unreadable rule is a form error, not a failed save
                occurrences(rule, first_start)
            except ValidationError as error:
                field = "custom_rrule" if repeat == Repeat.CUSTOM else "repeat"
                self.add_error(field, error)


class MeetingForm(RepeatFields, PrivateRecordForm):
    """Creating: the repeat fields turn one form into a series of meetings.
    Editing changes this one occurrence only."""

    def clean(self):
        cleaned = super().clean()
        self.clean_repeat_rule(cleaned.get("starts_at"))
        return cleaned

    def save(self, commit=True):
        if self.instance.pk:
            return super().save(commit)
        data = self.cleaned_data
        meetings = meeting_schedule(
            branch=data["branch"],
            group=data.get("group"),
            kind=data["kind"],
            title=data["title"],
            starts_at=data["starts_at"],
            duration=data["ends_at"] - data["starts_at"],
            place=data["place"],
            agenda=data.get("agenda", ""),
            public=data.get("public", False),
            rrule=self.rrule,
            by=self.for_user,
        )
        self.instance = meetings[0]
        self.scheduled = meetings
        return self.instance


class MeetingFilterSet(WagtailFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=MeetingKind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Meeting.Status.choices)
    branch = django_filters.ModelChoiceFilter(
        label=_("Branch"),
        queryset=branch_choices,
    )
    starts_after = django_filters.DateFilter(
        label=_("From"), field_name="starts_at", lookup_expr="date__gte"
    )

    class Meta:
        model = Meeting
        fields = ["kind", "status", "branch", "starts_after"]


class AttendanceLinkColumn(Column):
    def get_value(self, instance):
        return format_html(
            '<a href="{}">{}</a>', reverse("meeting_attendance", args=[instance.pk]), _("Sign-in")
        )


def _when(meeting):
    return date_format(timezone.localtime(meeting.starts_at), "Y-m-d H:i")


class MeetingCreateView(generic.CreateView):
    def get_success_message(self, instance):
        """A series names every date it scheduled, so a wrong rule shows at once."""
        scheduled = getattr(self.form, "scheduled", None) or [instance]
        if len(scheduled) == 1:
            return super().get_success_message(instance)
        return ngettext(
            "%(n)s meeting “%(title)s” scheduled: %(dates)s.",
            "%(n)s meetings “%(title)s” scheduled: %(dates)s.",
            len(scheduled),
        ) % {
            "n": len(scheduled),
            "title": instance.title,
            "dates": "、".join(_when(m) for m in scheduled),
        }


class MeetingIndexView(ScopedIndexView):
    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if not instance.is_cancelled and self.request.user.has_perm("branches.change_meeting"):
            buttons.append(
                MenuItem(
                    _("Cancel the meeting"),
                    url=reverse("branch_meeting_cancel", args=[instance.pk]),
                    icon_name="cross",
                    priority=40,
                )
            )
        return buttons


class MeetingEditView(ScopedEditView):
    @cached_property
    def header_more_buttons(self):
        buttons = list(super().header_more_buttons)
        if not self.object.is_cancelled:
            buttons.append(
                Button(
                    _("Cancel the meeting"),
                    url=reverse("branch_meeting_cancel", args=[self.object.pk]),
                    icon_name="cross",
                    priority=15,
                )
            )
        return buttons


class MeetingViewSet(ScopedViewSet):
    model = Meeting
    icon = "date"
    add_view_class = MeetingCreateView
    index_view_class = MeetingIndexView
    edit_view_class = MeetingEditView
    menu_label = _("Branch meetings")
    list_display = [
        "title",
        "kind",
        "starts_at",
        "branch",
        "status",
        AttendanceLinkColumn("attendance", label=_("Attendance")),
    ]
    list_select_related = ("branch",)
    filterset_class = MeetingFilterSet
    search_fields = ["title", "place"]
    list_export = ["title", "kind", "starts_at", "ends_at", "place", "branch", "status"]
    export_filename = "branch-meetings"

    def get_edit_handler(self):
        panels = [
            # Plain selects of the units in the user's scope (a secretary has one).
            FieldRowPanel(
                [
                    FieldPanel("branch", widget=forms.Select),
                    FieldPanel("group", widget=forms.Select),
                ]
            ),
            FieldRowPanel([FieldPanel("kind"), FieldPanel("public")]),
            FieldPanel("title"),
            FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at")]),
            FieldPanel("place"),
            FieldPanel("agenda"),
            MultiFieldPanel(
                [FieldPanel("repeat"), FieldPanel("repeat_count"), FieldPanel("custom_rrule")],
                heading=_("Repeat"),
            ),
            # Cancelling is its own action, confirmed first ("Cancel the meeting").
            FieldPanel("minutes"),
            InlinePanel(
                "photos",
                label=_("Photos"),
                panels=[FieldPanel("image"), FieldPanel("caption")],
            ),
        ]
        return ObjectList(panels, base_form_class=MeetingForm).bind_to_model(Meeting)


def _attendance_rows(meeting):
    return list(meeting.attendances.select_related("member").order_by("member__name", "member_id"))


def attendance_view(request, pk):
    """Sign-in sheet of one meeting: present, on leave (with reason) or absent."""
    meeting = get_object_or_404(Meeting.objects.select_related("branch", "group"), pk=pk)
    if not can_access(request.user, meeting) or not request.user.has_perm(
        "branches.change_attendance"
    ):
        raise PermissionDenied
    rows = _attendance_rows(meeting)
    errors = {}
    if request.method == "POST":
        data = {
            a.member_id: (
                request.POST.get(f"status-{a.member_id}", a.status),
                request.POST.get(f"reason-{a.member_id}", ""),
            )
            for a in rows
        }
        try:
            changed = attendance_record(meeting=meeting, rows=data, by=request.user)
        except ValidationError as error:
            errors = error.message_dict
            for a in rows:  # show what was entered, not what is stored
                a.status, a.reason = data[a.member_id]
            messages.error(request, _("Nothing was saved: please correct the rows marked below."))
        else:
            messages.success(request, _("Attendance saved (%(n)s changed).") % {"n": changed})
            return redirect("meeting_attendance", pk=meeting.pk)
    counts = [
        (label, sum(1 for a in rows if a.status == value))
        for value, label in Attendance.Status.choices
    ]
    return TemplateResponse(
        request,
        "branches/admin/meeting_attendance.html",
        {
            "meeting": meeting,
            "rows": [(a, errors.get(str(a.member_id)) or errors.get(a.member_id)) for a in rows],
            "photos": meeting.photos.order_by("sort_order", "pk")[:50],
            "statuses": Attendance.Status.choices,
            "counts": counts,
            "started": meeting.starts_at <= timezone.now() + dt.timedelta(hours=1),
            "header_title": _("Attendance"),
        },
    )


def cancel_view(request, pk):
    """Cancel one meeting, after a confirmation page (Wagtail's pattern for an
    action that cannot be undone): invitees' calendars show it as cancelled."""
    meeting = get_object_or_404(Meeting.objects.select_related("branch"), pk=pk)
    if not can_access(request.user, meeting) or not request.user.has_perm(
        "branches.change_meeting"
    ):
        raise PermissionDenied
    index_url = reverse("meetings:index")
    if meeting.is_cancelled:
        messages.info(request, _("This meeting is already cancelled."))
        return redirect(index_url)
    if request.method == "POST":
        meeting_cancel(meeting=meeting, by=request.user)
        messages.success(
            request,
            _("“%(title)s” on %(when)s is cancelled.")
            % {"title": meeting.title, "when": _when(meeting)},
        )
        return redirect(index_url)
    return TemplateResponse(
        request,
        "branches/admin/meeting_cancel.html",
        {
            "meeting": meeting,
            "when": _when(meeting),
            "index_url": index_url,
            "header_title": _("Cancel the meeting"),
        },
    )


def photo_view(request, pk, photo_pk):
    """A meeting photo, for those who may see the meeting (a 404 otherwise):
    photos are private files, never a public ``/media/`` URL."""
    photo = get_object_or_404(
        MeetingPhoto.objects.select_related("meeting").exclude(image=""), meeting_id=pk, pk=photo_pk
    )
    if not can_access(request.user, photo.meeting):
        raise Http404
    return private_file_response(photo.image, download_name=f"meeting-{pk}-photo-{photo.pk}")


admin_urls = [
    path("meetings/<int:pk>/attendance/", attendance_view, name="meeting_attendance"),
    path("meetings/<int:pk>/cancel/", cancel_view, name="branch_meeting_cancel"),
    path("meetings/<int:pk>/photos/<int:photo_pk>/", photo_view, name="meeting_photo"),
]
