"""The tree's admin forms for private records (members, central households, their
visits), on the kernel's ``PrivateRecordForm``: an ID number held by another
record is refused without naming a record the user may not see."""

from django import forms
from django.utils.translation import gettext_lazy as _

from branches.models import PartyPost
from portal.admin_forms import PrivateRecordForm
from portal.crypto import keyed_hashes
from portal.duplicates import ID_NUMBER_HELD_ELSEWHERE, held_elsewhere_audit, held_hashes
from portal.masking import mask_id_number


def _duplicate_id_error(form, model):
    """A duplicate ID number is named only when the user may see the record that
    holds it; otherwise the refusal is neutral and audited (portal.duplicates)."""
    id_number = form.cleaned_data.get("id_number")
    if not id_number:
        return
    others = model.objects.all()
    if form.instance.pk:
        others = others.exclude(pk=form.instance.pk)
    user = getattr(form, "for_user", None)
    seen, hidden = held_hashes(
        user=user, qs=others, hash_field="id_number_hash", hashes=keyed_hashes(id_number)
    )
    if seen:
        form.add_error("id_number", _("A record with this ID number already exists."))
    elif hidden:
        form.add_error("id_number", ID_NUMBER_HELD_ELSEWHERE)
        held_elsewhere_audit(
            user=user,
            qs=others,
            field="id_number",
            masked=[mask_id_number(id_number)],
            where="form",
        )


class UniqueIdNumberMixin:
    def clean(self):
        cleaned = super().clean()
        _duplicate_id_error(self, self._meta.model)
        return cleaned


class MemberForm(UniqueIdNumberMixin, PrivateRecordForm):
    party_posts = forms.MultipleChoiceField(
        label=_("party posts"),
        choices=PartyPost.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self):
        cleaned = super().clean()
        group = cleaned.get("building_group")
        branch = cleaned.get("branch")
        if group and branch and not group.path.startswith(branch.path):
            self.add_error("building_group", _("This building group belongs to another branch."))
        return cleaned


class CentralHouseholdForm(PrivateRecordForm):
    """Contact households are chosen among the head's own branch, once the central
    household exists (a district has ~200,000 households: no select can list them)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("contact_households")
        if field is None:
            return
        if self.instance.pk:
            field.queryset = field.queryset.filter(
                building__branch_id=self.instance.member.branch_id
            ).select_related("building")
            field.widget = forms.CheckboxSelectMultiple(choices=field.widget.choices)
            field.widget.choices = field.choices
        else:
            field.queryset = field.queryset.none()
            field.help_text = _(
                "Save first; then choose the contact households of the head's branch."
            )

    def clean(self):
        cleaned = super().clean()
        contacts = cleaned.get("contact_households")
        if contacts is not None and len(contacts) > 30:
            self.add_error(
                "contact_households",
                _("A central household keeps in touch with at most 30 households."),
            )
        return cleaned


class HouseholdVisitForm(PrivateRecordForm):
    def clean(self):
        cleaned = super().clean()
        central, household = cleaned.get("central_household"), cleaned.get("household")
        if (
            central
            and household
            and not (
                central.household_id == household.pk
                or central.contact_households.filter(pk=household.pk).exists()
            )
        ):
            self.add_error(
                "household", _("This household is not one of the central household's contacts.")
            )
        return cleaned
