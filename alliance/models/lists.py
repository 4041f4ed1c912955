"""The three lists (三张清单): needs raised by branches and grid workers (or
from residents' requests), resources partners offer, and projects that match a
need with resources, with an owner and milestones."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable

from alliance.models.partners import Partner


class Kind(models.TextChoices):
    """What a need asks for and a resource offers."""

    VENUE = "venue", _("Venue")
    VOLUNTEERS = "volunteers", _("Volunteers")
    FUNDS = "funds", _("Funds")
    EXPERTISE = "expertise", _("Expertise")
    GOODS = "goods", _("Goods and equipment")
    OTHER = "other", _("Other")


class Need(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        MATCHED = "matched", _("Matched")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    branch = models.ForeignKey(
        "branches.GridBranchPage", verbose_name=_("branch"), on_delete=models.PROTECT,
        related_name="alliance_needs",
    )  # fmt: skip
    grid = models.ForeignKey(
        "branches.GridPage", verbose_name=_("grid"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="alliance_needs",
    )  # fmt: skip
    service_request = models.ForeignKey(
        "volunteers.ServiceRequest", verbose_name=_("from a resident's request"), null=True,
        blank=True, on_delete=models.SET_NULL, related_name="alliance_needs",
    )  # fmt: skip
    status = models.CharField(_("state"), max_length=8, choices=Status.choices, default="open")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("raised by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs (需求清单)")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title


class Resource(models.Model):
    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        COMMITTED = "committed", _("Committed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="resources")
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit = models.CharField(_("unit of measure"), max_length=20, blank=True)
    available_from = models.DateField(_("available from"), null=True, blank=True)
    available_until = models.DateField(_("available until"), null=True, blank=True)
    status = models.CharField(
        _("state"), max_length=10, choices=Status.choices, default=Status.AVAILABLE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources (资源清单)")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title


class Project(ClusterableModel):
    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        ACTIVE = "active", _("Under way")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(_("title"), max_length=120)
    need = models.ForeignKey(Need, on_delete=models.PROTECT, related_name="projects")
    resources = ParentalManyToManyField(Resource, verbose_name=_("resources"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    status = models.CharField(
        _("state"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects (项目清单)")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title


class Milestone(Orderable):
    project = ParentalKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("milestone"), max_length=120)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    done_on = models.DateField(_("done on"), null=True, blank=True)

    def __str__(self):
        return self.title
