"""The admin form for private records (every app's admin uses it): private
values are write-only, so the form never shows them in clear, and every choice
is limited to the user's scope (portal/roles.py)."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from portal.crypto import EncryptedTextField
from portal.masking import MASKS, mask_phone
from portal.roles import VISIBILITY, visible_to

# Models ("app.model") whose choice starts chosen on a new record when the user
# has only one: an app names them with ``preselect_only_choice``.
PRESELECT_ONLY_CHOICE: set[str] = set()


def preselect_only_choice(label: str) -> None:
    PRESELECT_ONLY_CHOICE.add(label)


class PrivateRecordForm(WagtailAdminModelForm):
    """The admin form of a record with private values: an encrypted field is
    write-only (shown masked, left empty to keep it) and every choice is limited
    to the user's scope."""

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
        """Every choice of a record the role rules know (``portal.roles.visibility``)
        is limited to what ``user`` may see."""
        for name, field in self.fields.items():
            qs = getattr(field, "queryset", None)
            if qs is None or qs.model._meta.label_lower not in VISIBILITY:
                continue
            field.queryset = visible_to(user, qs)
            if qs.model._meta.label_lower in PRESELECT_ONLY_CHOICE and not self.instance.pk:
                self._preselect_only_choice(name, field)

    def _preselect_only_choice(self, name, field):
        """A new record of someone with one choice (a secretary's one branch)
        starts with it chosen, and no empty choice to pick by mistake."""
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
