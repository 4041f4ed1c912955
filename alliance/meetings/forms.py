"""The forms of the joint meeting pages: convening (time, place, quorum, the
partner units and members to invite, the first agenda items), moving a
meeting, and proposing an agenda item."""

from django import forms
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alliance.meetings.rules import (
    MAX_BACKGROUND,
    MAX_INVITEES,
    MAX_MINUTES_ALLOTTED,
    member_choices,
)
from portal import uploads
from portal.forms import LocalDateTimeInput, ModelMultipleChoiceField
from portal.uploads import UploadField

# Members listed on the convene form at once (a search narrows the list).
MAX_MEMBER_CHOICES = 200


def _datetime_field(label, required_message):
    return forms.DateTimeField(
        label=label,
        widget=LocalDateTimeInput(),
        error_messages={
            "required": required_message,
            "invalid": gettext_lazy("Give a date and time, e.g. 2026-05-01 09:00."),
        },
    )


class PartnerChoices(ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        if obj.accounts:
            return _("%(name)s (%(n)d contact accounts)") % {"name": obj.name, "n": obj.accounts}
        return _("%(name)s (no contact account: nobody is invited)") % {"name": obj.name}


class MemberChoices(ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.member.name} · {obj.member.branch.title}"


class RescheduleForm(forms.Form):
    """When and where a meeting takes place, and until when items may be proposed."""

    starts_at = _datetime_field(
        gettext_lazy("Starts at"), gettext_lazy("Give the start of the meeting.")
    )
    ends_at = _datetime_field(gettext_lazy("Ends at"), gettext_lazy("Give the end of the meeting."))
    place = forms.CharField(
        label=gettext_lazy("Place"),
        max_length=200,
        error_messages={"required": gettext_lazy("Give the place of the meeting.")},
    )
    proposals_until = _datetime_field(
        gettext_lazy("Agenda proposals until"),
        gettext_lazy("Give the deadline for agenda proposals."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ConveneForm(RescheduleForm):
    """A new meeting: its title, the time and place, the quorum, whom to invite
    and the first agenda items (one per line)."""

    field_order = ["title", "starts_at", "ends_at", "place", "proposals_until"]

    title = forms.CharField(
        label=gettext_lazy("Meeting title"),
        max_length=150,
        error_messages={"required": gettext_lazy("Give the meeting a title.")},
    )
    quorum = forms.IntegerField(
        label=gettext_lazy("Quorum"),
        min_value=0,
        max_value=MAX_INVITEES,
        initial=0,
        required=False,
        help_text=gettext_lazy("People who must be signed in for decisions (0: none)."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    partners = PartnerChoices(
        label=gettext_lazy("Partner units"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Every contact of a ticked unit who has an account is invited."),
    )
    find = forms.CharField(
        label=gettext_lazy("Find members by name"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Find members by name")}),
    )
    members = MemberChoices(
        label=gettext_lazy("Members to invite"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    agenda = forms.CharField(
        label=gettext_lazy("Agenda"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "One item per line. Open action items of earlier meetings are added as follow-ups."
        ),
    )

    def __init__(self, *args, alliance, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.alliance = alliance
        self.fields["partners"].queryset = alliance.partners.annotate(
            accounts=Count("contacts", filter=Q(contacts__user__isnull=False))
        ).order_by("name")
        everyone = member_choices(alliance)
        self.fields["members"].queryset = everyone
        # Render a bounded list: the search hits (or the first members) plus
        # whoever is ticked already; validation still accepts any member.
        query = (self.data.get("find") or "").strip() if self.is_bound else ""
        shown = everyone.filter(member__name__icontains=query) if query else everyone
        shown = list(shown[: MAX_MEMBER_CHOICES + 1])
        self.more_members = len(shown) > MAX_MEMBER_CHOICES
        shown = shown[:MAX_MEMBER_CHOICES]
        ticked = [v for v in (self.data.getlist("members") if self.is_bound else []) if v.isdigit()]
        known = {u.pk for u in shown}
        extra = [u for u in everyone.filter(pk__in=ticked) if u.pk not in known]
        field = self.fields["members"]
        field.widget.choices = [(u.pk, field.label_from_instance(u)) for u in extra + shown]
        self.member_count = len(shown) + len(extra)

    def clean(self):
        cleaned = super().clean()
        cleaned["quorum"] = cleaned.get("quorum") or 0
        return cleaned


class ProposalForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("Item"),
        max_length=150,
        error_messages={"required": gettext_lazy("Give the item a title.")},
    )
    background = forms.CharField(
        label=gettext_lazy("Background"),
        max_length=MAX_BACKGROUND,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    minutes_allotted = forms.IntegerField(
        label=gettext_lazy("Minutes needed"),
        min_value=1,
        max_value=MAX_MINUTES_ALLOTTED,
        initial=15,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": gettext_lazy("Give the time needed in minutes (1–240)."),
            "invalid": gettext_lazy("Give the time needed in minutes (1–240)."),
            "min_value": gettext_lazy("Give the time needed in minutes (1–240)."),
            "max_value": gettext_lazy("Give the time needed in minutes (1–240)."),
        },
    )
    attachment = UploadField(
        kind=uploads.ANY,
        label=gettext_lazy("Attachment"),
        required=False,
        help_text=gettext_lazy("Optional: PDF, Word, Excel, PowerPoint or a picture, up to 10 MB."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
