"""Community registration (双报到): an employed member registers with the
community (branch) where they live, and the registration record of their service there."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField


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
