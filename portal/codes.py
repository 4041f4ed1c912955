"""The rotating check-in code an organiser shows on their phone: a signed token
(for the QR code) and a 6-digit code (for people who cannot scan), both tied to
one shift and one action (check in or check out), changing every 30 seconds.
The same codes serve other purposes (``purpose="meeting"``: signing in to a
joint meeting); the purpose is part of the signature, so a code shown for one
thing is never accepted for another with the same id.

A code is accepted during its own 30 seconds and the next 30, so a scan just
before the change still counts. Nothing is stored: the signature is an HMAC
keyed with the project's secret key.

Six digits can be guessed, so :func:`verify` (what check-in and sign-in use)
throttles wrong codes through ``portal.throttle``: per person (any shift or
meeting) and per shift or meeting (everyone's guesses together). A locked person
is refused even the right code; a locked shift or meeting refuses typed digits
only (the scanned code is a 96-bit signature, not guessable, so scanning still
works), and its organisers are told once."""

import hmac
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import segno
from django.core.exceptions import ValidationError
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from portal import throttle
from portal.i18n import in_language_of
from portal.links import absolute_url
from portal.notify import notify_on_commit

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
# The error codes of a failed guess (a forged token, wrong digits): these count
# towards the throttle; a malformed entry or an expired token does not.
INVALID, WRONG = "invalid", "wrong"


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
        raise ValidationError(_("This check-in code is not valid."), code=INVALID) from None
    if action not in ACTIONS or not hmac.compare_digest(
        _mac(token_shift, action, window, purpose)[:24], signature
    ):
        raise ValidationError(_("This check-in code is not valid."), code=INVALID)
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
        _("The code is wrong or has expired. Enter the code the organiser shows now."), code=WRONG
    )


# Wrong codes one person may enter (for any shift or meeting) before a cool-down.
PERSON_LIMIT = throttle.Limit("check-in-code:person", failures=5, window=10 * 60, cooldown=15 * 60)
# Wrong codes for one shift or meeting, from everyone, before its typed code is paused.
TARGET_LIMIT = throttle.Limit("check-in-code:target", failures=30, window=10 * 60, cooldown=15 * 60)


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def _person_locked(seconds: int) -> ValidationError:
    return ValidationError(
        _(
            "Too many wrong codes. Try again in %(minutes)d minutes, "
            "or ask the organiser to record you."
        )
        % {"minutes": _minutes(seconds)},
        code="throttled",
    )


def _target_locked(seconds: int, purpose: str) -> ValidationError:
    if purpose == SHIFT:
        text = _(
            "Too many wrong codes have been typed for this shift. Scan the organiser's "
            "QR code, or type the code again in %(minutes)d minutes."
        )
    else:
        text = _(
            "Too many wrong codes have been typed for this meeting. Scan the convener's "
            "QR code, or type the code again in %(minutes)d minutes."
        )
    return ValidationError(text % {"minutes": _minutes(seconds)}, code="throttled")


def verify(
    shift_id: int,
    *,
    user,
    token: str = "",
    digits: str = "",
    now: float | None = None,
    purpose: str = SHIFT,
    on_lockout: Callable[[], None] | None = None,
) -> str:
    """The action the scanned ``token`` (or else the typed ``digits``) stands
    for, throttled (see the module docstring). Raises a ValidationError when
    refused; ``on_lockout`` is called once when the wrong codes for this shift
    or meeting trip its limit (to tell the organisers)."""
    waiting = throttle.locked_for(PERSON_LIMIT, user.pk)
    if waiting:
        raise _person_locked(waiting)
    target = f"{purpose}:{shift_id}"
    if not token:
        waiting = throttle.locked_for(TARGET_LIMIT, target)
        if waiting:
            raise _target_locked(waiting, purpose)
    try:
        if token:
            return verify_token(shift_id, token, now, purpose=purpose)
        return verify_digits(shift_id, digits, now, purpose=purpose)
    except ValidationError as error:
        if error.code not in (INVALID, WRONG):
            raise
        person_tripped = throttle.fail(PERSON_LIMIT, user.pk)
        if throttle.fail(TARGET_LIMIT, target) and on_lockout is not None:
            on_lockout()
        if person_tripped:
            raise _person_locked(PERSON_LIMIT.cooldown) from None
        raise


def alert_organisers(users: Iterable, *, what: str, url: str = "") -> None:
    """Tell the organisers of ``what`` (a shift or meeting) that its typed code
    is paused because of many wrong codes: someone may be guessing."""
    minutes = _minutes(TARGET_LIMIT.cooldown)
    for user in {u.pk: u for u in users if u is not None}.values():
        with in_language_of(user):
            notify_on_commit(
                user,
                subject=_("Many wrong check-in codes: %(what)s") % {"what": what},
                body=_(
                    "Many wrong check-in codes were typed for %(what)s, so typing the code is "
                    "paused for %(minutes)d minutes; scanning your QR code still works. If this "
                    "was not people mistyping, someone may be guessing the code."
                )
                % {"what": what, "minutes": minutes},
                url=url,
            )


def screen(target_id: int, action: str, scan_path: str, *, purpose: str = SHIFT) -> dict:
    """What an organiser's code screen shows: the current code (``code``: its
    digits and token) and the QR code (``qr``, inline SVG) of ``scan_path`` on the
    public address, carrying the token."""
    code = current(target_id, action, purpose=purpose)
    qr = segno.make(f"{absolute_url(scan_path)}?t={code.token}", error="m")
    return {"code": code, "qr": qr.svg_inline(scale=6, border=2)}
