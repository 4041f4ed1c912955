"""The member's community registration form: the branch, found by a part of
its name, the employer unit, the home address and what they can offer."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.models import GridBranchPage
from volunteers.registration import services
from volunteers.registration.selectors import live_branches_named


class RegistrationForm(forms.Form):
    branch_name = forms.CharField(
        label=gettext_lazy("Community party branch"),
        max_length=255,
        help_text=gettext_lazy(
            "Type part of the name of the branch where you live, then choose it from the list."
        ),
        error_messages={"required": gettext_lazy("Type the name of the branch where you live.")},
    )
    # Set when the member picks one of the branches listed below the name field.
    branch = forms.IntegerField(required=False, widget=forms.HiddenInput)
    employer = forms.CharField(
        label=gettext_lazy("Employer unit"),
        max_length=services.EMPLOYER_MAX,
        error_messages={"required": gettext_lazy("Give your employer unit.")},
    )
    address = forms.CharField(
        label=gettext_lazy("Home address"),
        max_length=services.ADDRESS_MAX,
        help_text=gettext_lazy(
            "Stored encrypted; only your branch's secretary sees it, and it is shown masked."
        ),
        error_messages={"required": gettext_lazy("Give your home address in this community.")},
    )
    skills = forms.CharField(
        label=gettext_lazy("What I can offer"),
        max_length=services.SKILLS_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For example: tutoring, legal advice, first aid, weekends free."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.candidates = []
        self.chosen = None

    def clean(self):
        cleaned = super().clean()
        name = (cleaned.get("branch_name") or "").strip()
        picked = cleaned.get("branch")
        if picked:
            # The picked branch counts unless the name was changed to another one since.
            branch = GridBranchPage.objects.live().filter(pk=picked).first()
            if branch is not None and (not name or name in branch.title):
                self.chosen = branch
        if self.chosen is None and name:
            exact = list(GridBranchPage.objects.live().filter(title=name)[:2])
            if len(exact) == 1:
                self.chosen = exact[0]
        if self.chosen is not None:
            cleaned["branch_name"] = self.chosen.title
            return cleaned
        if name:
            self.candidates = live_branches_named(name)
            if self.candidates:
                self.add_error("branch_name", _("Choose your branch from the list below the name."))
            else:
                self.add_error(
                    "branch_name",
                    _("No party branch has “%(name)s” in its name. Try fewer characters.")
                    % {"name": name},
                )
        return cleaned
