"""Validators for Chinese ID numbers and mobile numbers, with bilingual messages."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# A fixed line with its area code: 0 + 2–3 digits, then a 7–8 digit number not
# starting with 0 or 1 (010-6512 3456, 0571-8765 4321).
_LANDLINE_RE = re.compile(r"^0[1-9]\d{1,2}[2-9]\d{6,7}$")


def id_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_id_number(value: str) -> None:
    """Resident ID (GB 11643-1999): 18 characters, a valid birth date and check digit."""
    value = (value or "").strip().upper()
    if not _ID_RE.match(value):
        raise ValidationError(
            _("The ID number must be 17 digits followed by a digit or X."), code="id_format"
        )
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date inside the ID number is not a real date."), code="id_birth_date"
        ) from None
    if birth > date.today() or birth.year < 1900:
        raise ValidationError(
            _("The birth date inside the ID number is not a real date."), code="id_birth_date"
        )
    if id_check_digit(value[:17]) != value[17]:
        raise ValidationError(_("The ID number's check digit is wrong."), code="id_check_digit")


def is_mobile(value: str) -> bool:
    """Whether ``value`` is a mainland mobile number as stored: 11 digits from 13…
    to 19… (normalise what people typed with ``normalise_mobile`` first)."""
    return bool(_PHONE_RE.match(value or ""))


def validate_mobile(value: str) -> None:
    if not is_mobile((value or "").strip()):
        raise ValidationError(
            _("The mobile number must be 11 digits starting with 13–19."), code="mobile_format"
        )


def normalise_mobile(value: str) -> str:
    value = re.sub(r"[\s-]", "", value or "")
    if value.startswith("+86"):
        value = value[3:]
    return value


def validate_phone(value: str) -> str:
    """A resident's contact number: a mobile (13812345678, +86 allowed) or a
    fixed line with its area code (010-6512 3456). Single spaces or dashes may
    group the digits; anything else (a date such as 2026-02-30, 20 digits) is
    refused. Returns the number as typed, trimmed."""
    value = (value or "").strip()
    digits = normalise_mobile(value)
    if re.fullmatch(r"(\+86[ -]?)?\d+([ -]\d+)*", value) and (
        is_mobile(digits) or _LANDLINE_RE.match(digits)
    ):
        return value
    raise ValidationError(
        _("Give a phone number in digits, e.g. 13812345678 or 010-6512 3456."),
        code="phone_format",
    )
