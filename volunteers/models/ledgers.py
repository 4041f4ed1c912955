"""Community registration (双报到), check-ins and the service ledgers: hours,
points and the registration record, kept in step by one credit event per
completed, verified check-in; and the certificates issued from them."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField
from volunteers.models.duties import Duty, Shift, SignUp


class CommunityRegistration(models.Model):
    """双报到: an employed member registers with the community (branch) where
    they live; its secretary approves it or returns it with a reason."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    OPEN = (Status.SUBMITTED, Status.APPROVED)

    member = models.ForeignKey(
        "branches.Member", verbose_name=_("party member"), on_delete=models.CASCADE,
        related_name="community_registrations",
    )  # fmt: skip
    branch = models.ForeignKey(
        "branches.GridBranchPage", verbose_name=_("community branch"), on_delete=models.PROTECT,
        related_name="community_registrations",
    )  # fmt: skip
    employer = models.CharField(_("employer unit"), max_length=100, blank=True)
    address = EncryptedTextField(_("home address"), blank=True)
    skills = models.CharField(_("what I can offer"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED
    )
    reason = models.TextField(_("reason for returning"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("community registration")
        verbose_name_plural = _("community registrations (双报到)")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open registration per member: a new one needs the old one withdrawn.
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status__in=["submitted", "approved"]),
                name="one_open_registration",
            )
        ]

    def __str__(self):
        return f"{self.member} → {self.branch}"


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


class CheckIn(models.Model):
    """One person's presence at one shift: one row however often they scan
    (the unique constraint makes replays and double taps harmless)."""

    class Method(models.TextChoices):
        QR = "qr", _("QR code")
        CODE = "code", _("6-digit code")
        ORGANISER = "organiser", _("Recorded by the organiser")
        AUTO = "auto", _("Automatically at shift end")

    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="check_ins")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="check_ins"
    )
    signup = models.ForeignKey(
        SignUp, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    walk_in = models.BooleanField(_("walk-in"), default=False)
    checked_in_at = models.DateTimeField(_("checked in at"))
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    in_method = models.CharField(_("check-in by"), max_length=10, choices=Method.choices)
    out_method = models.CharField(
        _("check-out by"), max_length=10, choices=Method.choices, blank=True
    )
    needs_review = models.BooleanField(_("time to review"), default=False)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("verified by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    # Raised by every correction; a credit event is posted once per revision.
    revision = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["checked_in_at", "id"]
        constraints = [models.UniqueConstraint(fields=["shift", "user"], name="one_check_in")]

    def __str__(self):
        return f"{self.user} · {self.shift_id}"


class CheckInCorrection(models.Model):
    """An organiser's change to recorded times, kept with its author and reason."""

    check_in = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="corrections")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    old_in = models.DateTimeField()
    old_out = models.DateTimeField(null=True)
    new_in = models.DateTimeField()
    new_out = models.DateTimeField()
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.check_in} · {self.reason}"


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


class RegistrationRecord(models.Model):
    """The community-registration record (在职党员报到服务记录) for a year:
    services done and time given in the registered community."""

    registration = models.ForeignKey(
        CommunityRegistration, on_delete=models.CASCADE, related_name="records"
    )
    year = models.PositiveIntegerField()
    services = models.IntegerField(default=0)
    minutes = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registration", "year"], name="one_record_a_year")
        ]

    def __str__(self):
        return f"{self.registration} {self.year}"

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
