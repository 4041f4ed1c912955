"""Volunteer dispatch (居民点单、社区派单、党员接单): residents' needs recorded
as service requests, offered to ranked volunteers, taken, served and reviewed.
Every status change is kept as a RequestEvent."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable

from portal import uploads
from portal.crypto import EncryptedTextField
from portal.uploads import PrivateFileField
from volunteers.models.duties import Skill


class ServiceRequest(ClusterableModel):
    class Category(models.TextChoices):
        ELDERLY = "elderly", _("Elderly care")
        ENVIRONMENT = "environment", _("Environment")
        HAZARD = "hazard", _("Safety hazard")
        MEDIATION = "mediation", _("Conflict mediation")
        EMERGENCY = "emergency", _("Epidemic or emergency support")
        PAPERWORK = "paperwork", _("Paperwork help")
        OTHER = "other", _("Other")

    class Source(models.TextChoices):
        GRID_WORKER = "grid_worker", _("Reported by a grid worker")
        MICRO_WISH = "micro_wish", _("Micro-wish (微心愿)")
        ACTION_ITEM = "action_item", _("Joint meeting action item")
        IMPORT = "import", _("Imported from Excel")

    class Urgency(models.TextChoices):
        NORMAL = "normal", _("Normal")
        URGENT = "urgent", _("Urgent")

    class Status(models.TextChoices):
        NEW = "new", _("Awaiting dispatch")
        DISPATCHED = "dispatched", _("Dispatched")
        ACCEPTED = "accepted", _("Accepted")
        IN_SERVICE = "in_service", _("In service")
        COMPLETED = "completed", _("Completed")
        REVIEWED = "reviewed", _("Reviewed")
        RETURNED = "returned", _("Returned")
        CANCELLED = "cancelled", _("Cancelled")
        ESCALATED = "escalated", _("Escalated")

    OPEN = (
        Status.NEW,
        Status.DISPATCHED,
        Status.ACCEPTED,
        Status.IN_SERVICE,
        Status.RETURNED,
        Status.ESCALATED,
    )

    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("what is needed"), blank=True)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    source = models.CharField(
        _("source"), max_length=12, choices=Source.choices, default=Source.GRID_WORKER
    )
    grid = models.ForeignKey(
        "branches.GridPage", verbose_name=_("grid"), on_delete=models.PROTECT,
        related_name="service_requests",
    )  # fmt: skip
    branch = models.ForeignKey(
        "branches.GridBranchPage", verbose_name=_("branch"), on_delete=models.PROTECT,
        related_name="service_requests",
    )  # fmt: skip
    address = EncryptedTextField(_("address"), blank=True)
    requester_name = models.CharField(_("resident"), max_length=50, blank=True)
    requester_phone = EncryptedTextField(_("resident's phone"), blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    window_start = models.DateTimeField(_("from"), db_index=True)
    window_end = models.DateTimeField(_("until"))
    urgency = models.CharField(
        _("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL
    )
    people_needed = models.PositiveSmallIntegerField(
        _("people needed"), default=1, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    skills = models.ManyToManyField(Skill, verbose_name=_("skills needed"), blank=True)
    status = models.CharField(
        _("state"), max_length=12, choices=Status.choices, default=Status.NEW, db_index=True
    )
    offer_minutes = models.PositiveSmallIntegerField(
        _("minutes to answer an offer"), default=30,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True, db_index=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    satisfied = models.BooleanField(_("satisfied"), null=True, blank=True)
    review_comment = models.TextField(_("review"), blank=True)
    # Raised when an unsatisfied review reopens the request: places are counted per round.
    round = models.PositiveSmallIntegerField(default=1)

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["branch", "status"])]

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        if self.window_start and self.window_end and self.window_end <= self.window_start:
            raise ValidationError({"window_end": _("The end must be after the start.")})
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError({"longitude": _("Give both latitude and longitude, or neither.")})


class RequestPhoto(Orderable):
    request = ParentalKey(ServiceRequest, on_delete=models.CASCADE, related_name="photos")
    image = PrivateFileField(_("photo"), kind=uploads.IMAGE)
    caption = models.CharField(_("caption"), max_length=100, blank=True)

    def __str__(self):
        return self.caption or str(self.image)


class RequestEvent(models.Model):
    """One status change of a request: who, when, why."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, choices=ServiceRequest.Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=ServiceRequest.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    note = models.CharField(_("note"), max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.request_id}: {self.from_status} → {self.to_status}"


class Offer(models.Model):
    """A request offered to one volunteer; accepted, it is their task."""

    class Status(models.TextChoices):
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        IN_SERVICE = "in_service", _("In service")
        COMPLETED = "completed", _("Completed")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TAKEN = (Status.ACCEPTED, Status.IN_SERVICE, Status.COMPLETED)
    LIVE = (Status.OFFERED, *TAKEN)

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="offers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers"
    )
    status = models.CharField(
        _("state"), max_length=12, choices=Status.choices, default=Status.OFFERED, db_index=True
    )
    round = models.PositiveSmallIntegerField(default=1)
    score = models.FloatField(default=0)
    reasons = models.JSONField(default=dict, blank=True)
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    offered_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    completion_note = models.TextField(_("what was done"), blank=True)
    completion_photo = PrivateFileField(_("photo"), kind=uploads.IMAGE, blank=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["offered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "user"],
                condition=Q(status__in=["offered", "accepted", "in_service", "completed"]),
                name="one_live_offer_per_person",
            )
        ]

    def __str__(self):
        return f"{self.request_id} → {self.user_id} ({self.status})"
