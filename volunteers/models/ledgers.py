"""The service ledgers: hours and points, kept in step by one credit event per
completed, verified check-in (the point rules say how many), and the
certificates issued from them."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from volunteers.models.checkins import CheckIn
from volunteers.models.duties import Duty
from volunteers.models.registration import CommunityRegistration


class PointRule(models.Model):
    """The district's points (积分) for a completed shift of one duty kind:
    a fixed amount per shift plus an amount per hour served."""

    kind = models.CharField(_("duty kind"), max_length=10, choices=Duty.Kind.choices, unique=True)
    per_shift = models.DecimalField(
        _("points per shift"), max_digits=6, decimal_places=1, validators=[MinValueValidator(0)]
    )
    per_hour = models.DecimalField(
        _("points per hour"), max_digits=6, decimal_places=1, validators=[MinValueValidator(0)]
    )

    class Meta:
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        ordering = ["kind"]

    def __str__(self):
        return str(self.get_kind_display())


class CreditEvent(models.Model):
    """An entry in the service ledgers: what one verified check-in adds to a
    person's hours, points and community-registration record. Never edited: a
    correction posts a reversal and a new credit."""

    class Kind(models.TextChoices):
        CREDIT = "credit", _("Credit")
        REVERSAL = "reversal", _("Reversal")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_events"
    )
    check_in = models.ForeignKey(
        CheckIn, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_events"
    )
    # A completed dispatched task (instead of a check-in at a shift).
    offer = models.ForeignKey(
        "volunteers.Offer", null=True, blank=True, on_delete=models.PROTECT,
        related_name="credit_events",
    )  # fmt: skip
    revision = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    year = models.PositiveIntegerField(db_index=True)
    minutes = models.IntegerField()
    points = models.DecimalField(max_digits=8, decimal_places=1)
    registration = models.ForeignKey(
        CommunityRegistration, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    services = models.IntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("credit event")
        verbose_name_plural = _("credit events")
        ordering = ["created_at", "id"]
        constraints = [
            # A revision is credited once and reversed once, whatever the retries.
            models.UniqueConstraint(
                fields=["check_in", "revision", "kind"], name="one_event_per_revision"
            ),
            models.UniqueConstraint(fields=["offer", "kind"], name="one_event_per_task"),
            models.CheckConstraint(
                condition=Q(check_in__isnull=True) ^ Q(offer__isnull=True),
                name="credit_for_a_check_in_or_a_task",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.minutes} min {self.points} pts"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(_("Ledger entries cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Ledger entries cannot be deleted."))


class ServiceLedger(models.Model):
    """A person's balances for a year: the sum of their credit events."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_ledgers"
    )
    year = models.PositiveIntegerField()
    minutes = models.IntegerField(default=0)
    points = models.DecimalField(max_digits=10, decimal_places=1, default=0)
    shifts = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "year"], name="one_ledger_a_year")]
        indexes = [models.Index(fields=["year", "-points"])]

    def __str__(self):
        return f"{self.user} {self.year}"

    @property
    def hours(self):
        return round(self.minutes / 60, 1)


def _certificate_code():
    return secrets.token_urlsafe(12)


class Certificate(models.Model):
    """An issued service certificate (志愿服务证明); its code is in the QR on the
    PDF and opens a public page that confirms it."""

    code = models.CharField(max_length=20, unique=True, default=_certificate_code, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certificates"
    )
    name = models.CharField(max_length=50)
    year = models.PositiveIntegerField()
    minutes = models.IntegerField()
    shifts = models.IntegerField()
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at", "-id"]

    def __str__(self):
        return self.code

    @property
    def hours(self):
        return round(self.minutes / 60, 1)
