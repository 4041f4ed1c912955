"""Partner units of the co-building alliance (党建共建联盟): enterprises,
schools, social organisations and departments, their contacts (who sign in as
partner contacts), the branches and grids they co-build with, and their
partnership agreements (共建协议)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable

from portal import uploads
from portal.crypto import EncryptedTextField
from portal.uploads import PrivateFileField


class Partner(ClusterableModel):
    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise")
        SCHOOL = "school", _("School")
        SOCIAL = "social", _("Social organisation")
        DEPARTMENT = "department", _("Government department")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    intro = models.TextField(_("introduction"), blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    branches = ParentalManyToManyField(
        "branches.GridBranchPage", verbose_name=_("co-building branches"), blank=True,
        related_name="partners",
    )  # fmt: skip
    grids = ParentalManyToManyField(
        "branches.GridPage", verbose_name=_("co-building grids"), blank=True,
        related_name="partners",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("partner unit")
        verbose_name_plural = _("partner units")
        ordering = ["name"]

    def __str__(self):
        return self.name


class PartnerContact(Orderable):
    """A person of a partner unit; with an account they sign in as its contact."""

    partner = ParentalKey(Partner, on_delete=models.CASCADE, related_name="contacts")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="partner_contact",
    )  # fmt: skip
    name = models.CharField(_("name"), max_length=50)
    title = models.CharField(_("position"), max_length=50, blank=True)
    phone = EncryptedTextField(_("mobile number"), blank=True)

    class Meta(Orderable.Meta):
        verbose_name = _("partner contact")

    def __str__(self):
        return self.name


class Agreement(models.Model):
    """A partnership agreement (共建协议): term, commitments and the signed file."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="agreements")
    title = models.CharField(_("title"), max_length=120)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    commitments = models.TextField(_("commitments"))
    signed_file = PrivateFileField(_("signed agreement"), kind=uploads.ANY, blank=True)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("partnership agreement")
        verbose_name_plural = _("partnership agreements")
        ordering = ["-starts_on", "-id"]

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("The end must not be before the start.")})
