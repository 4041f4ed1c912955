"""Shared form pieces: the sign-up form and form fields every feature uses."""

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils.text import Truncator


class SignupForm(AllauthSignupForm):
    """Sign-up needs a mobile number: it is how an account finds its member record.
    (It is optional in ACCOUNT_SIGNUP_FIELDS so that accounts made by an
    administrator without a number can still sign in.)"""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].required = True


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's, with each submitted id checked against the database's integer
    range before the query: ``skills=99999…`` (or 5,000 digits) is an invalid
    choice on the form, not an OverflowError (SQLite) or a DataError
    (PostgreSQL) from ``pk__in``. Use it for every multiple choice over
    user-supplied ids. (``ModelChoiceField`` needs no help: Django answers an
    out-of-range exact lookup with no rows.)"""

    def _check_values(self, value):
        key = self.to_field_name or "pk"
        meta = self.queryset.model._meta
        field = meta.pk if key == "pk" else meta.get_field(key)
        if isinstance(field, models.IntegerField):
            low, high = connections[self.queryset.db].ops.integer_field_range(
                field.get_internal_type()
            )
            for pk in value:
                try:
                    number = int(str(pk))
                except ValueError:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": Truncator(str(pk)).chars(20)},
                    ) from None
                if (low is not None and number < low) or (high is not None and number > high):
                    raise ValidationError(
                        self.error_messages["invalid_choice"],
                        code="invalid_choice",
                        params={"value": Truncator(str(pk)).chars(20)},
                    )
        return super()._check_values(value)


# What a datetime-local input sends (and older browsers' typed form).
LOCAL_MINUTE = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


class LocalDateTimeInput(forms.DateTimeInput):
    """The phone's date-and-time picker (``<input type="datetime-local">``), to
    the minute."""

    input_type = "datetime-local"

    def __init__(self, attrs=None, format=LOCAL_MINUTE[0]):
        super().__init__(attrs=attrs, format=format)


class LocalDateInput(forms.DateInput):
    """The phone's date picker (``<input type="date">``): shows and reads ``2026-06-30``."""

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):
        super().__init__(attrs=attrs, format=format)


def errors_onto(form, error: ValidationError) -> None:
    """A service's refusal onto the form: on its field where the form has one,
    else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)
