"""The rotating check-in code an organiser shows on their phone: a signed token
(for the QR code) and a 6-digit code (for people who cannot scan), both tied to
one shift and one action (check in or check out), changing every 30 seconds.
The same codes serve other purposes (``purpose="meeting"``: signing in to a
joint meeting); the purpose is part of the signature, so a code shown for one
thing is never accepted for another with the same id.

A code is accepted during its own 30 seconds and the next 30, so a scan just
before the change still counts. Nothing is stored: the signature is an HMAC
keyed with the project's secret key."""

import hmac
import time
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

PERIOD = 30  # seconds a code is shown
ACTIONS = ("in", "out")


@dataclass(frozen=True)
class Code:
    token: str
    digits: str
    seconds_left: int


def _window(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // PERIOD)


SHIFT = "shift"


def _mac(shift_id: int, action: str, window: int, purpose: str = SHIFT) -> str:
    # Shifts keep the message they had before purposes existed (codes in use stay valid).
    message = f"{shift_id}:{action}:{window}"
    if purpose != SHIFT:
        message = f"{purpose}:{message}"
    return salted_hmac("tongxin.check-in", message).hexdigest()


def _digits(mac: str) -> str:
    return f"{int(mac[:12], 16) % 1_000_000:06d}"


def current(shift_id: int, action: str, now: float | None = None, *, purpose: str = SHIFT) -> Code:
    now = time.time() if now is None else now
    window = _window(now)
    mac = _mac(shift_id, action, window, purpose)
    return Code(
        token=f"{shift_id}.{action}.{window}.{mac[:24]}",
        digits=_digits(mac),
        seconds_left=PERIOD - int(now % PERIOD),
    )


def _accepted_windows(now):
    window = _window(now)
    return (window, window - 1)


def verify_token(
    shift_id: int, token: str, now: float | None = None, *, purpose: str = SHIFT
) -> str:
    """The action (``"in"``/``"out"``) a scanned token stands for, or a
    ValidationError saying why it is refused."""
    try:
        token_shift, action, window, signature = token.split(".")
        token_shift, window = int(token_shift), int(window)
    except (AttributeError, ValueError):
        raise ValidationError(_("This check-in code is not valid.")) from None
    if action not in ACTIONS or not hmac.compare_digest(
        _mac(token_shift, action, window, purpose)[:24], signature
    ):
        raise ValidationError(_("This check-in code is not valid."))
    if token_shift != shift_id:
        if purpose == SHIFT:
            raise ValidationError(_("This code is for another shift."))
        raise ValidationError(_("This code is for another meeting."))
    if window not in _accepted_windows(now):
        raise ValidationError(_("This code has expired. Scan the organiser's current code again."))
    return action


def verify_digits(
    shift_id: int, digits: str, now: float | None = None, *, purpose: str = SHIFT
) -> str:
    """The action the 6-digit code stands for (the check-in and check-out codes
    differ), or a ValidationError."""
    digits = (digits or "").strip()
    if not (len(digits) == 6 and digits.isdigit()):
        raise ValidationError(_("Enter the 6 digits shown on the organiser's phone."))
    for window in _accepted_windows(now):
        for action in ACTIONS:
            if hmac.compare_digest(_digits(_mac(shift_id, action, window, purpose)), digits):
                return action
    raise ValidationError(
        _("The code is wrong or has expired. Enter the code the organiser shows now.")
    )
