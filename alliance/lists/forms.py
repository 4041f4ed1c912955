"""The forms of the three lists' pages: raising a need, and a project's milestones."""

from django import forms
from django.utils.translation import gettext_lazy

from alliance.models import Kind
from portal.forms import LocalDateInput

MILESTONE_ROWS = 3


class NeedForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("What is needed"),
        max_length=120,
        error_messages={"required": gettext_lazy("Say in a few words what is needed.")},
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Type"),
        choices=[("", "—"), *Kind.choices],
        error_messages={"required": gettext_lazy("Choose a type.")},
    )
    branch = forms.ChoiceField(
        label=gettext_lazy("Branch"),
        error_messages={
            "required": gettext_lazy("Choose the branch."),
            "invalid_choice": gettext_lazy("Choose one of the branches in the list."),
        },
    )
    grid = forms.ChoiceField(
        label=gettext_lazy("Grid"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Choose one of the grids in the list.")},
    )
    description = forms.CharField(
        label=gettext_lazy("Details"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, branches=(), grids=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.branches = {str(b.pk): b for b in branches}
        self.grids = {str(g.pk): g for g in grids}
        choices = [(str(b.pk), b.title) for b in branches]
        self.fields["branch"].choices = choices if len(choices) == 1 else [("", "—"), *choices]
        top = min((g.depth for g in grids), default=0)
        self.fields["grid"].choices = [
            ("", "—"),
            *((str(g.pk), "　" * (g.depth - top) + g.title) for g in grids),
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("branch"):
            cleaned["branch"] = self.branches[cleaned["branch"]]
        cleaned["grid"] = self.grids.get(cleaned.get("grid") or "")
        return cleaned


class MilestoneForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Milestone"), max_length=120)
    due_on = forms.DateField(label=gettext_lazy("Due on"), required=False, widget=LocalDateInput())

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


MilestoneRows = forms.formset_factory(MilestoneForm, extra=MILESTONE_ROWS, max_num=MILESTONE_ROWS)
