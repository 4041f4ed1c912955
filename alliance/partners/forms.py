"""The forms a partner contact fills in for their own unit: its public profile
and the resources it offers."""

from django import forms
from django.utils.translation import gettext_lazy

from alliance.models import Kind
from portal.forms import LocalDateInput


class ProfileForm(forms.Form):
    intro = forms.CharField(
        label=gettext_lazy("Introduction"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("What your unit does and how it co-builds with the community."),
    )
    address = forms.CharField(label=gettext_lazy("Address"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ResourceForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("What you offer"),
        max_length=120,
        help_text=gettext_lazy("In a few words, e.g. “Meeting room for 40 people”."),
        error_messages={"required": gettext_lazy("Say in a few words what you offer.")},
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Type"),
        choices=[("", "—"), *Kind.choices],
        error_messages={"required": gettext_lazy("Choose a type.")},
    )
    description = forms.CharField(
        label=gettext_lazy("Details"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity"),
        min_value=1,
        max_value=1_000_000,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": gettext_lazy("Give a quantity of at least 1."),
            "invalid": gettext_lazy("Give a quantity of at least 1."),
            "min_value": gettext_lazy("Give a quantity of at least 1."),
        },
    )
    unit = forms.CharField(
        label=gettext_lazy("Unit"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("e.g. people, hours, rooms, yuan"),
    )
    available_from = forms.DateField(
        label=gettext_lazy("Available from"), required=False, widget=LocalDateInput()
    )
    available_until = forms.DateField(
        label=gettext_lazy("Available until"), required=False, widget=LocalDateInput()
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
