"""Check-ins at shifts and their corrections."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from volunteers.models.duties import Shift, SignUp


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
