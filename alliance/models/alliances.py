"""Alliances (党建共建联盟): a unit's branches and partners that meet jointly."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from alliance.models.partners import Partner


class Alliance(models.Model):
    """A co-building alliance: the branches and partner units that meet together."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    unit = models.ForeignKey(
        "wagtailcore.Page", verbose_name=_("convening unit"), on_delete=models.PROTECT,
        related_name="+", help_text=_("The district, a grid or a branch."),
    )  # fmt: skip
    branches = models.ManyToManyField(
        "branches.GridBranchPage", verbose_name=_("branches"), blank=True, related_name="+"
    )
    partners = models.ManyToManyField(
        Partner, verbose_name=_("partner units"), blank=True, related_name="alliances"
    )

    class Meta:
        verbose_name = _("alliance")
        verbose_name_plural = _("alliances")
        ordering = ["name"]

    def __str__(self):
        return self.name
