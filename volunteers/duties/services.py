"""Writes for duties and shifts: repeating a new duty's shift as a series,
signing up, cancelling and promotion from the waitlist; checking in and out
with the organiser's code, walk-ins, corrections and verification; and posting
a completed check-in to the ledgers (volunteers/ledgers.py).

Capacity holds under concurrency: a sign-up locks its shift's row (PostgreSQL
SELECT … FOR UPDATE; SQLite runs writers one at a time), so places are counted
and taken by one sign-up at a time."""

import datetime as dt
import math

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.schedule import occurrences
from portal import codes, scheduling
from portal.i18n import in_language_of
from portal.names import person_name
from portal.notify import notify_on_commit
from volunteers.duties.selectors import (
    can_organise,
    eligibility_error,
    overlapping_work,
    shift_organisers,
)
from volunteers.ledgers import approved_registration, ledger_minutes, ledger_post, points_for
from volunteers.models import CheckIn, CheckInCorrection, CreditEvent, Duty, Shift, SignUp

# --- Series, sign-up and the waitlist ----------------------------------------


@transaction.atomic
def duty_series_expand(*, duty: Duty, rrule: str) -> list[Shift]:
    """Repeat a new duty's one shift by ``rrule`` (expanded in Asia/Shanghai
    wall-clock time, branches/schedule.py): a shift at every further
    occurrence, with the same hours, places and deadlines as the first."""
    first = duty.shifts.order_by("starts_at").first()
    made = []
    for start in occurrences(rrule, first.starts_at)[1:]:
        delta = start - first.starts_at
        made.append(
            Shift.objects.create(
                duty=duty,
                starts_at=start,
                ends_at=first.ends_at + delta,
                capacity=first.capacity,
                minimum=first.minimum,
                signup_deadline=first.signup_deadline and first.signup_deadline + delta,
                cancel_deadline=first.cancel_deadline and first.cancel_deadline + delta,
            )
        )
    return made


def shift_sign_up(*, shift: Shift, user) -> SignUp:
    """Confirm a place, or join the waitlist when the shift is full. Signing up
    again returns the existing sign-up. Refused, with a message, when the
    deadline has passed, the user may not take the duty, or they already hold a
    shift at an overlapping time."""
    try:
        with transaction.atomic():
            # Lock the person first, then the shift: two sign-ups of one person
            # (overlap) and two sign-ups for one shift (capacity) both serialise.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            shift = (
                Shift.objects.select_for_update().select_related("duty__branch").get(pk=shift.pk)
            )
            existing = SignUp.objects.filter(
                shift=shift, user=user, status__in=SignUp.ACTIVE
            ).first()
            if existing is not None:
                return existing
            now = timezone.now()
            if shift.cancelled or not shift.duty.published:
                raise ValidationError(_("This shift is not open for sign-up."))
            if now >= shift.sign_up_until:
                raise ValidationError(_("Sign-up for this shift has closed."))
            problem = eligibility_error(shift.duty, user)
            if problem:
                raise ValidationError(problem)
            clash = overlapping_work(user, shift.starts_at, shift.ends_at, except_shift=shift)
            if clash is not None:
                raise ValidationError(
                    _("You already have %(duty)s at %(time)s, which overlaps this shift.")
                    % {
                        "duty": clash[0],
                        "time": timezone.localtime(clash[1]).strftime("%m-%d %H:%M"),
                    }
                )
            taken = SignUp.objects.filter(shift=shift, status=SignUp.Status.CONFIRMED).count()
            status = SignUp.Status.CONFIRMED if taken < shift.capacity else SignUp.Status.WAITLISTED
            return SignUp.objects.create(shift=shift, user=user, status=status)
    except IntegrityError:
        # A concurrent duplicate of the same person's sign-up: the first one stands.
        return SignUp.objects.get(shift=shift, user=user, status__in=SignUp.ACTIVE)


def signup_cancel(*, signup: SignUp, by=None) -> SignUp:
    """Cancel a sign-up; after the cancel deadline it is recorded as late (the
    secretary sees it). A freed place goes to the first on the waitlist, who is told."""
    with transaction.atomic():
        shift = Shift.objects.select_for_update().select_related("duty").get(pk=signup.shift_id)
        signup = SignUp.objects.select_for_update().get(pk=signup.pk)
        if signup.status not in SignUp.ACTIVE:
            return signup
        if shift.starts_at <= timezone.now():
            raise ValidationError(_("The shift has started; ask the organiser instead."))
        freed = signup.status == SignUp.Status.CONFIRMED
        late = timezone.now() >= shift.cancel_until
        signup.status = SignUp.Status.LATE_CANCELLED if late else SignUp.Status.CANCELLED
        signup.save(update_fields=["status", "changed_at"])
        if freed:
            waitlist_promote(shift=shift)
        return signup


def waitlist_promote(*, shift: Shift) -> list[SignUp]:
    """Fill free places from the waitlist, first come first served. Call with
    the shift locked."""
    taken = SignUp.objects.filter(shift=shift, status=SignUp.Status.CONFIRMED).count()
    free = max(0, shift.capacity - taken)
    promoted = list(
        SignUp.objects.filter(shift=shift, status=SignUp.Status.WAITLISTED)
        .select_related("user")
        .order_by("created_at", "id")[:free]
    )
    for signup in promoted:
        signup.status = SignUp.Status.CONFIRMED
        signup.save(update_fields=["status", "changed_at"])
        start = timezone.localtime(shift.starts_at).strftime("%Y-%m-%d %H:%M")
        with in_language_of(signup.user):
            notify_on_commit(
                signup.user,
                subject=_("You have a place: %(duty)s") % {"duty": shift.duty.title},
                body=_("A place came free and is yours: %(duty)s, %(time)s, %(place)s.")
                % {"duty": shift.duty.title, "time": start, "place": shift.duty.place},
                url=f"/volunteer/shifts/{shift.pk}/",
            )
    return promoted


# --- Check-in and check-out -------------------------------------------------

EARLY_CHECK_IN = dt.timedelta(minutes=30)  # before the start
LATE_CHECK_OUT = dt.timedelta(hours=2)  # after the end; later it happens automatically


def _distance_m(lat1, lon1, lat2, lon2) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, map(float, (lat1, lon1, lat2, lon2)))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _position(latitude, longitude) -> tuple[float, float]:
    """The phone's position as numbers, refused unless finite and on the globe
    (``nan`` compares false with everything, so it would pass any radius)."""
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(_("Your location could not be read.")) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError(
            _(
                "Your location could not be read: latitude must be between -90 and 90, "
                "longitude between -180 and 180."
            )
        )
    return lat, lon


def _check_place(duty: Duty, latitude, longitude) -> None:
    if not duty.require_location:
        return
    if latitude in (None, "") or longitude in (None, ""):
        raise ValidationError(
            _("This duty checks people in on the spot: allow the browser to use your location.")
        )
    distance = _distance_m(duty.latitude, duty.longitude, *_position(latitude, longitude))
    if distance > duty.radius_m:
        raise ValidationError(
            _("You are about %(distance)d m from %(place)s; check-in works within %(radius)d m.")
            % {"distance": distance, "place": duty.place, "radius": duty.radius_m}
        )


def _check_time(shift: Shift, action: str, now) -> None:
    if action == "in":
        opens, closes = shift.starts_at - EARLY_CHECK_IN, shift.ends_at
        label = _("Check-in")
    else:
        opens, closes = shift.starts_at, shift.ends_at + LATE_CHECK_OUT
        label = _("Check-out")
    if not opens <= now <= closes:
        raise ValidationError(
            _("%(what)s for this shift is open from %(opens)s to %(closes)s.")
            % {
                "what": label,
                "opens": timezone.localtime(opens).strftime("%m-%d %H:%M"),
                "closes": timezone.localtime(closes).strftime("%m-%d %H:%M"),
            }
        )


def shift_check(
    *, shift: Shift, user, token: str = "", digits: str = "", latitude=None, longitude=None
) -> tuple[CheckIn, str, bool]:
    """Check in or out with the organiser's current code (scanned token or the
    6 digits). Returns the record, the action ("in"/"out") and whether it had
    already been done (a replay changes nothing). Refusals are ValidationErrors
    and record nothing."""
    shift = Shift.objects.select_related("duty").get(pk=shift.pk)
    action = codes.verify(
        shift.pk, user=user, token=token, digits=digits, on_lockout=lambda: _alert(shift)
    )
    now = timezone.now()
    if shift.cancelled:
        raise ValidationError(_("This shift has been called off."))
    _check_time(shift, action, now)
    _check_place(shift.duty, latitude, longitude)
    signup = SignUp.objects.filter(shift=shift, user=user, status=SignUp.Status.CONFIRMED).first()
    if action == "in":
        if signup is None:
            raise ValidationError(
                _(
                    "You do not have a confirmed place on this shift. Ask the organiser to record you as a walk-in."
                )
            )
        return _check_in(shift, user, signup, now)
    return _check_out(shift, user, now)


def _alert(shift: Shift) -> None:
    codes.alert_organisers(
        shift_organisers(shift), what=str(shift), url=reverse("volunteer_shift", args=[shift.pk])
    )


def _check_in(shift, user, signup, now):
    method = CheckIn.Method.QR
    try:
        with transaction.atomic():
            record, created = CheckIn.objects.get_or_create(
                shift=shift,
                user=user,
                defaults={"signup": signup, "checked_in_at": now, "in_method": method},
            )
    except IntegrityError:  # a concurrent replay won the insert
        record, created = CheckIn.objects.get(shift=shift, user=user), False
    if created and not CheckIn.objects.filter(shift=shift).exclude(pk=record.pk).exists():
        # The shift's first check-in has the worker close forgotten check-outs.
        scheduling.run_at(shift.ends_at + LATE_CHECK_OUT)
    return record, "in", not created


@transaction.atomic
def _check_out(shift, user, now):
    record = CheckIn.objects.select_for_update().filter(shift=shift, user=user).first()
    if record is None:
        raise ValidationError(_("You have not checked in to this shift."))
    if record.checked_out_at is not None:
        return record, "out", True
    record.checked_out_at = now
    record.out_method = CheckIn.Method.QR
    record.verified_at = now  # the organiser's code vouches for the person's presence
    record.save(update_fields=["checked_out_at", "out_method", "verified_at"])
    credit_post(check_in=record)
    return record, "out", False


def check_ins_auto_close(*, now=None) -> int:
    """Close the check-ins of shifts that ended more than LATE_CHECK_OUT ago:
    out at the shift's end, flagged for the organiser to review (no credit
    until they verify)."""
    now = now or timezone.now()
    with transaction.atomic():
        open_ones = CheckIn.objects.select_for_update().filter(
            checked_out_at__isnull=True, shift__ends_at__lte=now - LATE_CHECK_OUT
        )
        count = 0
        for record in open_ones.select_related("shift"):
            record.checked_out_at = record.shift.ends_at
            record.out_method = CheckIn.Method.AUTO
            record.needs_review = True
            record.save(update_fields=["checked_out_at", "out_method", "needs_review"])
            count += 1
    return count


def _require_organiser(user, shift):
    if not can_organise(user, shift):
        raise PermissionDenied(_("Only the organisers of this shift may do this."))


def _check_times(shift, checked_in_at, checked_out_at):
    if checked_in_at is None or checked_out_at is None:
        raise ValidationError(_("Give both the check-in and the check-out time."))
    if checked_out_at <= checked_in_at:
        raise ValidationError(_("The check-out must be after the check-in."))
    window = dt.timedelta(hours=12)
    if checked_in_at < shift.starts_at - window or checked_out_at > shift.ends_at + window:
        raise ValidationError(_("The times must be on the day of the shift."))
    if checked_out_at > timezone.now():
        raise ValidationError(_("The check-out cannot be in the future."))


@transaction.atomic
def walk_in_record(*, shift: Shift, user, by, checked_in_at, checked_out_at) -> CheckIn:
    """An organiser records someone who came without a place (or could not
    check in): the record is verified by the organiser and credited."""
    _require_organiser(by, shift)
    _check_times(shift, checked_in_at, checked_out_at)
    if CheckIn.objects.filter(shift=shift, user=user).exists():
        raise ValidationError(
            _("%(person)s is already checked in to this shift; correct the times instead.")
            % {"person": person_name(user)}
        )
    now = timezone.now()
    record = CheckIn.objects.create(
        shift=shift,
        user=user,
        signup=SignUp.objects.filter(shift=shift, user=user, status__in=SignUp.ACTIVE).first(),
        walk_in=True,
        checked_in_at=checked_in_at,
        checked_out_at=checked_out_at,
        in_method=CheckIn.Method.ORGANISER,
        out_method=CheckIn.Method.ORGANISER,
        verified_by=by,
        verified_at=now,
    )
    credit_post(check_in=record, by=by)
    return record


@transaction.atomic
def check_in_correct(
    *, check_in: CheckIn, by, checked_in_at, checked_out_at, reason: str
) -> CheckIn:
    """Change recorded times: the correction is kept with its author, what was
    credited is reversed and the corrected time credited anew."""
    record = CheckIn.objects.select_for_update().select_related("shift").get(pk=check_in.pk)
    _require_organiser(by, record.shift)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the times are corrected."))
    _check_times(record.shift, checked_in_at, checked_out_at)
    CheckInCorrection.objects.create(
        check_in=record,
        author=by,
        old_in=record.checked_in_at,
        old_out=record.checked_out_at,
        new_in=checked_in_at,
        new_out=checked_out_at,
        reason=reason,
    )
    _reverse(record, by)
    record.revision += 1
    record.checked_in_at, record.checked_out_at = checked_in_at, checked_out_at
    if not record.out_method or record.out_method == CheckIn.Method.AUTO:
        record.out_method = CheckIn.Method.ORGANISER
    record.needs_review = False
    record.verified_by, record.verified_at = by, timezone.now()
    record.save()
    credit_post(check_in=record, by=by)
    return record


@transaction.atomic
def check_in_verify(*, check_in: CheckIn, by) -> CheckIn:
    """An organiser confirms a check-in that needs review (closed
    automatically at the shift's end): it is credited as recorded."""
    record = CheckIn.objects.select_for_update().select_related("shift").get(pk=check_in.pk)
    _require_organiser(by, record.shift)
    if record.checked_out_at is None:
        raise ValidationError(_("The person has not checked out yet."))
    if record.verified_at is None or record.needs_review:
        record.needs_review = False
        record.verified_by, record.verified_at = by, timezone.now()
        record.save(update_fields=["needs_review", "verified_by", "verified_at"])
    credit_post(check_in=record, by=by)
    return record


# --- Crediting the ledgers ---------------------------------------------------


def credited_minutes(record: CheckIn) -> int:
    """Time served within the shift: from the later of check-in and start to the
    earlier of check-out and end, to the nearest tenth of an hour."""
    start = max(record.checked_in_at, record.shift.starts_at)
    end = min(record.checked_out_at, record.shift.ends_at)
    return ledger_minutes(max(0, int((end - start).total_seconds() // 60)))


@transaction.atomic
def credit_post(*, check_in: CheckIn, by=None) -> CreditEvent | None:
    """Post a completed, verified check-in to the ledgers once: service hours,
    party points (by the district's rule for the duty kind) and, when the person
    serves in the community they registered with (双报到), that registration's
    record. Posting the same revision again does nothing."""
    record = CheckIn.objects.select_for_update().select_related("shift__duty").get(pk=check_in.pk)
    if record.checked_out_at is None or record.verified_at is None or record.needs_review:
        return None
    if CreditEvent.objects.filter(check_in=record, revision=record.revision).exists():
        return None
    minutes = credited_minutes(record)
    duty = record.shift.duty
    registration = (
        approved_registration(user_id=record.user_id, branch_id=duty.branch_id) if minutes else None
    )
    event = CreditEvent.objects.create(
        user_id=record.user_id,
        check_in=record,
        revision=record.revision,
        kind=CreditEvent.Kind.CREDIT,
        year=timezone.localtime(record.shift.starts_at).year,
        minutes=minutes,
        points=points_for(duty.kind, minutes),
        registration=registration,
        services=1 if registration else 0,
        created_by=by,
    )
    ledger_post(event=event)
    return event


def _reverse(record: CheckIn, by) -> CreditEvent | None:
    credit = CreditEvent.objects.filter(
        check_in=record, revision=record.revision, kind=CreditEvent.Kind.CREDIT
    ).first()
    if credit is None:
        return None
    event = CreditEvent.objects.create(
        user_id=credit.user_id,
        check_in=record,
        revision=credit.revision,
        kind=CreditEvent.Kind.REVERSAL,
        year=credit.year,
        minutes=-credit.minutes,
        points=-credit.points,
        registration=credit.registration,
        services=-credit.services,
        created_by=by,
    )
    ledger_post(event=event)
    return event
