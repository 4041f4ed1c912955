"""The forms of an action item's page: posting progress (with evidence), and
turning the item into a dispatch service request."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alliance.action_items.services import MAX_NOTE
from portal import uploads
from portal.forms import LocalDateTimeInput
from portal.uploads import UploadField
from volunteers.models import ServiceRequest


class ProgressForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("What has been done"),
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": gettext_lazy("Say what has been done.")},
    )
    evidence = UploadField(
        kind=uploads.ANY,
        label=gettext_lazy("Evidence (photo or document)"),
        required=False,
        help_text=gettext_lazy(
            "Optional: a photo, PDF, Word, Excel or PowerPoint file, up to 10 MB."
        ),
    )
    done = forms.BooleanField(label=gettext_lazy("This item is done"), required=False)


class ToRequestForm(forms.Form):
    grid = forms.ChoiceField(label=gettext_lazy("Grid"))
    category = forms.ChoiceField(
        label=gettext_lazy("Category"),
        choices=ServiceRequest.Category.choices,
        initial=ServiceRequest.Category.OTHER,
    )
    window_start = forms.DateTimeField(label=gettext_lazy("Starts at"), widget=LocalDateTimeInput())
    window_end = forms.DateTimeField(label=gettext_lazy("Ends at"), widget=LocalDateTimeInput())
    people_needed = forms.IntegerField(
        label=gettext_lazy("People needed"), min_value=1, max_value=20, initial=1
    )

    def __init__(self, *args, grids=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.grids = {str(g.pk): g for g in grids}
        self.fields["grid"].choices = [(str(g.pk), g.title) for g in grids]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", _("The end must be after the start."))
        if cleaned.get("grid"):
            cleaned["grid"] = self.grids[cleaned["grid"]]
        return cleaned
