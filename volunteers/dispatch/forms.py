"""The forms of dispatch on a phone: recording a resident's request (with up to
three checked photos) and completing a task (a note and a photo)."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from portal import uploads
from portal.forms import LocalDateTimeInput, ModelMultipleChoiceField
from portal.uploads import UploadField
from portal.validators import validate_phone
from volunteers.models import ServiceRequest, Skill

MAX_PHOTOS = 3
# A request's time window lies within this of now (no window ending in 9999).
MAX_WINDOW_AHEAD = dt.timedelta(days=366)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(UploadField):
    """Up to ``MAX_PHOTOS`` photos, each checked and re-encoded by the upload
    rules (``portal.uploads``); the errors name the file."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/*", "multiple": True})
        )
        super().__init__(*args, kind=uploads.IMAGE, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_PHOTOS:
            raise ValidationError(
                ngettext("Add at most %(n)d photo.", "Add at most %(n)d photos.", MAX_PHOTOS)
                % {"n": MAX_PHOTOS}
            )
        cleaned, errors = [], []
        for upload in files:
            try:
                cleaned.append(super().clean(upload, initial))
            except ValidationError as error:
                errors.extend(f"{upload.name}: {message}" for message in error.messages)
        if errors:
            raise ValidationError(errors)
        return cleaned


class RequestForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("What is needed"),
        max_length=120,
        help_text=gettext_lazy("In a few words, e.g. “Buy medicine for an elderly resident”."),
        error_messages={"required": gettext_lazy("Say in a few words what is needed.")},
    )
    category = forms.ChoiceField(
        label=gettext_lazy("Category"),
        choices=[("", "—"), *ServiceRequest.Category.choices],
        error_messages={"required": gettext_lazy("Choose a category.")},
    )
    micro_wish = forms.BooleanField(
        label=gettext_lazy("This is a micro-wish (微心愿)"),
        required=False,
        help_text=gettext_lazy("A small wish of a resident that a party member takes on."),
    )
    grid = forms.ChoiceField(
        label=gettext_lazy("Grid"),
        error_messages={
            "required": gettext_lazy("Choose the grid."),
            "invalid_choice": gettext_lazy("Choose one of the grids in the list."),
        },
    )
    address = forms.CharField(
        label=gettext_lazy("Address"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Stored encrypted; volunteers see it masked."),
    )
    requester_name = forms.CharField(label=gettext_lazy("Resident"), max_length=50, required=False)
    requester_phone = forms.CharField(
        label=gettext_lazy("Resident's phone"),
        max_length=20,
        required=False,
        validators=[validate_phone],
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label=gettext_lazy("Details"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    window_start = forms.DateTimeField(
        label=gettext_lazy("Starts at"),
        widget=LocalDateTimeInput(),
        error_messages={
            "required": gettext_lazy("Give the start of the time window."),
            "invalid": gettext_lazy("Give a date and time, e.g. 2026-05-01 09:00."),
        },
    )
    window_end = forms.DateTimeField(
        label=gettext_lazy("Ends at"),
        widget=LocalDateTimeInput(),
        error_messages={
            "required": gettext_lazy("Give the end of the time window."),
            "invalid": gettext_lazy("Give a date and time, e.g. 2026-05-01 11:00."),
        },
    )
    urgency = forms.ChoiceField(
        label=gettext_lazy("Urgency"),
        choices=ServiceRequest.Urgency.choices,
        initial=ServiceRequest.Urgency.NORMAL,
        widget=forms.RadioSelect,
    )
    people_needed = forms.IntegerField(
        label=gettext_lazy("People needed"),
        min_value=1,
        max_value=20,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": gettext_lazy("Give how many people are needed (1–20)."),
            "invalid": gettext_lazy("Give how many people are needed (1–20)."),
            "min_value": gettext_lazy("Give how many people are needed (1–20)."),
            "max_value": gettext_lazy("Give how many people are needed (1–20)."),
        },
    )
    skills = ModelMultipleChoiceField(
        label=gettext_lazy("Skills needed"),
        queryset=Skill.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    photos = PhotosField(
        label=gettext_lazy("Photos"),
        required=False,
        help_text=gettext_lazy("JPG, PNG or WebP, up to 10 MB each."),
    )

    field_order = [
        "title",
        "category",
        "micro_wish",
        "grid",
        "address",
        "requester_name",
        "requester_phone",
        "description",
        "window_start",
        "window_end",
        "urgency",
        "people_needed",
        "skills",
        "photos",
    ]

    def __init__(self, *args, grids=(), wishes_only=False, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.grids = {str(g.pk): g for g in grids}
        top = min((g.depth for g in grids), default=0)
        choices = [(str(g.pk), "　" * (g.depth - top) + g.title) for g in grids]
        self.fields["grid"].choices = choices if len(choices) == 1 else [("", "—"), *choices]
        if len(choices) == 1:
            self.fields["grid"].initial = choices[0][0]
        self.wishes_only = wishes_only
        if wishes_only:
            self.fields["micro_wish"].initial = True
            self.fields["micro_wish"].disabled = True
        self.fields["photos"].help_text = ngettext(
            "Up to %(n)d photo. %(rules)s", "Up to %(n)d photos. %(rules)s", MAX_PHOTOS
        ) % {"n": MAX_PHOTOS, "rules": self.fields["photos"].help_text}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if start and end:
            now = timezone.now()
            if end <= start:
                self.add_error("window_end", _("The end must be after the start."))
            elif end <= now:
                self.add_error("window_end", _("This time window is already over."))
            elif end > now + MAX_WINDOW_AHEAD or start < now - MAX_WINDOW_AHEAD:
                self.add_error("window_end", _("The time window must lie within a year from now."))
        if cleaned.get("grid"):
            cleaned["grid"] = self.grids[cleaned["grid"]]
        if self.wishes_only:
            cleaned["micro_wish"] = True
        return cleaned

    def request_fields(self) -> dict:
        """The cleaned data as the arguments of ``services.request_create``."""
        data = self.cleaned_data
        source = ServiceRequest.Source
        return {
            "grid": data["grid"],
            "title": data["title"],
            "category": data["category"],
            "source": source.MICRO_WISH if data["micro_wish"] else source.GRID_WORKER,
            "description": data["description"],
            "address": data["address"],
            "requester_name": data["requester_name"],
            "requester_phone": data["requester_phone"],
            "window_start": data["window_start"],
            "window_end": data["window_end"],
            "urgency": data["urgency"],
            "people_needed": data["people_needed"],
            "skills": data["skills"],
            "photos": data["photos"],
        }


class CompleteForm(forms.Form):
    note = forms.CharField(max_length=1000, required=False)
    photo = UploadField(kind=uploads.IMAGE, required=False)


def initial_window() -> dict:
    """The time window a new request's form starts with: two hours from the start
    of the hour after next."""
    start = timezone.localtime().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2)
    return {"window_start": start, "window_end": start + dt.timedelta(hours=2)}
