"""Admin forms for private records: private values are write-only (the form
never shows them in clear), and every choice is limited to the user's scope."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from branches.models import (
    Building,
    BuildingGroupPage,
    CentralHousehold,
    GridBranchPage,
    Household,
    Member,
    PartyPost,
)
from portal.crypto import EncryptedTextField, keyed_hashes
from portal.duplicates import ID_NUMBER_HELD_ELSEWHERE, held_elsewhere_audit, held_hashes
from portal.masking import mask_address, mask_id_number, mask_phone
from portal.roles import path_q, user_scope, visible_to

MASKS = {"id_number": mask_id_number, "phone": mask_phone, "address": mask_address}


def pages_in_scope(user, qs):
    scope = user_scope(user)
    if scope.is_district:
        return qs
    q = path_q("path", scope.paths)
    if scope.group_ids:
        if qs.model is GridBranchPage:
            # A leader's own branch is the parent of their group.
            q |= Q(path__in=[p[: -GridBranchPage.steplen] for p in scope.group_paths])
        else:
            q |= Q(pk__in=scope.group_ids)
    return qs.filter(q)


class PrivateRecordForm(WagtailAdminModelForm):
    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, for_user=for_user, **kwargs)
        self._kept_private = {}
        for name, field in self.fields.items():
            model_field = (
                self._meta.model._meta.get_field(name) if name in _model_field_names(self) else None
            )
            if isinstance(model_field, EncryptedTextField):
                current = getattr(self.instance, name, "") if self.instance.pk else ""
                if current:
                    self._kept_private[name] = current
                    self.initial[name] = ""
                    field.required = False
                    field.widget.attrs["placeholder"] = MASKS.get(name, mask_phone)(current)
                    field.help_text = _("Stored encrypted. Leave empty to keep the current value.")
        if for_user is not None:
            self._limit_choices(for_user)

    def _limit_choices(self, user):
        for name, field in self.fields.items():
            qs = getattr(field, "queryset", None)
            if qs is None:
                continue
            if qs.model in (GridBranchPage, BuildingGroupPage):
                field.queryset = pages_in_scope(user, qs)
                if qs.model is GridBranchPage and not self.instance.pk:
                    self._preselect_only_choice(name, field)
            elif qs.model in (Building, Household, Member, CentralHousehold):
                field.queryset = visible_to(user, qs)

    def _preselect_only_choice(self, name, field):
        """A new record of someone with one branch (a secretary) starts with
        that branch chosen, and no empty choice to pick by mistake."""
        if self.initial.get(name) or self.is_bound:
            return
        only = list(field.queryset.values_list("pk", flat=True)[:2])
        if len(only) == 1:
            self.initial[name] = only[0]
            if field.required:
                field.empty_label = None

    def clean(self):
        cleaned = super().clean()
        for name, value in self._kept_private.items():
            if not cleaned.get(name):
                cleaned[name] = value
                self.errors.pop(name, None)
        return cleaned


def _model_field_names(form):
    return {f.name for f in form._meta.model._meta.get_fields()}


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
