"""The service ledgers every credited service is posted to — a shift's
check-in (volunteers/duties/services.py: ``credit_post``) or a dispatched task
(volunteers/dispatch/services.py: ``task_credit_post``): how served time is
rounded, the district's points rule, and applying one entry to the person's
year (``ServiceLedger``) and to their community registration's record
(``RegistrationRecord``, 双报到)."""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F

from volunteers.models import (
    CommunityRegistration,
    CreditEvent,
    PointRule,
    RegistrationRecord,
    ServiceLedger,
)

# Service time is credited in tenths of an hour (6 minutes), so every figure
# shown with one decimal is exact and any total equals the sum of its rows.
CREDIT_STEP_MINUTES = 6


def ledger_minutes(minutes: int) -> int:
    """Minutes served as credited to the ledger: to the nearest tenth of an hour
    (half up: 3 minutes count as 6, 2 as none)."""
    step = CREDIT_STEP_MINUTES
    return max(0, (int(minutes) + step // 2) // step * step)


def points_for(kind: str, minutes: int) -> Decimal:
    """The points ``minutes`` of service earn by the district's rule for the duty ``kind``."""
    rule = PointRule.objects.filter(kind=kind).first()
    if rule is None or minutes <= 0:
        return Decimal("0")
    hours = Decimal(minutes) / Decimal(60)
    return (rule.per_shift + rule.per_hour * hours).quantize(Decimal("0.1"), ROUND_HALF_UP)


def approved_registration(*, user_id: int, branch_id: int) -> CommunityRegistration | None:
    """The person's approved community registration (双报到) with ``branch_id``,
    whose record a service in that branch counts towards, if any."""
    return CommunityRegistration.objects.filter(
        member__user_id=user_id,
        branch_id=branch_id,
        status=CommunityRegistration.Status.APPROVED,
    ).first()


def ledger_post(*, event: CreditEvent) -> None:
    """Apply one ledger entry to the three ledgers (call inside a transaction)."""
    shifts = 1 if event.kind == CreditEvent.Kind.CREDIT else -1
    ledger, _created = ServiceLedger.objects.get_or_create(user_id=event.user_id, year=event.year)
    ServiceLedger.objects.filter(pk=ledger.pk).update(
        minutes=F("minutes") + event.minutes,
        points=F("points") + event.points,
        shifts=F("shifts") + shifts,
    )
    if event.registration_id:
        record, _created = RegistrationRecord.objects.get_or_create(
            registration_id=event.registration_id, year=event.year
        )
        RegistrationRecord.objects.filter(pk=record.pk).update(
            services=F("services") + event.services, minutes=F("minutes") + event.minutes
        )
