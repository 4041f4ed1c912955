"""Duties members and volunteers take on (党员示范岗, 党员责任区, volunteer
activities), their shifts, and sign-ups with capacity and a waitlist."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel

from portal.models import CalendarSequence


class Skill(models.Model):
    """A skill or training a duty may require (e.g. 急救培训, 电工)."""

    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("skill or training")
        verbose_name_plural = _("skills and trainings")

    def __str__(self):
        return self.name


class VolunteerProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="volunteer_profile"
    )
    skills = models.ManyToManyField(Skill, verbose_name=_("skills and trainings"), blank=True)
    # Where the volunteer lives or prefers to serve: dispatch ranks by it.
    home_grid = models.ForeignKey(
        "branches.GridPage", verbose_name=_("home grid"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    accepts_tasks = models.BooleanField(_("takes dispatched tasks"), default=True)

    class Meta:
        verbose_name = _("volunteer profile")

    def __str__(self):
        return str(self.user)


class Duty(CalendarSequence, ClusterableModel):
    class Kind(models.TextChoices):
        POST = "post", _("Demonstration post (党员示范岗)")
        AREA = "area", _("Responsibility area (党员责任区)")
        ACTIVITY = "activity", _("Volunteer activity (志愿服务)")

    class Eligibility(models.TextChoices):
        MEMBERS = "members", _("Party members")
        BRANCH = "branch", _("Members of this branch")
        VOLUNTEERS = "volunteers", _("Any volunteer")
        SKILL = "skill", _("People with the required skill or training")

    branch = models.ForeignKey(
        "branches.GridBranchPage", verbose_name=_("branch"), on_delete=models.CASCADE,
        related_name="duties",
    )  # fmt: skip
    group = models.ForeignKey(
        "branches.BuildingGroupPage", verbose_name=_("building group"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="duties",
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    place = models.CharField(_("place"), max_length=200)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    radius_m = models.PositiveIntegerField(_("check-in radius (metres)"), default=200)
    require_location = models.BooleanField(
        _("check in only on the spot"),
        default=False,
        help_text=_("The phone's location must be within the radius of the coordinates."),
    )
    eligibility = models.CharField(
        _("who may sign up"), max_length=12, choices=Eligibility.choices,
        default=Eligibility.MEMBERS,
    )  # fmt: skip
    required_skill = models.ForeignKey(
        Skill, verbose_name=_("required skill or training"), null=True, blank=True,
        on_delete=models.PROTECT,
    )  # fmt: skip
    # 岗位认领: a post or area is held by one member at a time.
    holder = models.ForeignKey(
        "branches.Member", verbose_name=_("held by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="held_duties",
    )  # fmt: skip
    published = models.BooleanField(_("open for sign-up"), default=True)
    # Added to its shifts' iCalendar SEQUENCE: goes up when the title or place changes.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    CALENDAR_FIELDS = ("title", "place")

    class Meta:
        verbose_name = _("duty")
        verbose_name_plural = _("duties")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        if self.eligibility == self.Eligibility.SKILL and not self.required_skill_id:
            raise ValidationError({"required_skill": _("Choose the skill or training required.")})
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError({"longitude": _("Give both latitude and longitude, or neither.")})
        if self.require_location and self.latitude is None:
            raise ValidationError(
                {"require_location": _("Give the coordinates to check people in on the spot.")}
            )


class Shift(CalendarSequence, models.Model):
    duty = ParentalKey(Duty, on_delete=models.CASCADE, related_name="shifts")
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("places"), default=10)
    minimum = models.PositiveIntegerField(_("minimum needed"), default=0)
    signup_deadline = models.DateTimeField(_("sign-up deadline"), null=True, blank=True)
    cancel_deadline = models.DateTimeField(
        _("cancel without penalty until"),
        null=True,
        blank=True,
        help_text=_("Later cancellations are recorded as late."),
    )
    cancelled = models.BooleanField(_("cancelled"), default=False)
    # iCalendar SEQUENCE (with the duty's): goes up when the time changes or
    # the shift is cancelled, so calendar apps update the event.
    sequence = models.PositiveIntegerField(default=0, editable=False)

    CALENDAR_FIELDS = ("starts_at", "ends_at", "cancelled")

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["starts_at", "id"]

    def __str__(self):
        return f"{self.duty.title} {self.starts_at:%Y-%m-%d %H:%M}"

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("The end must be after the start.")})
        if self.capacity is not None and self.capacity < 1:
            raise ValidationError({"capacity": _("A shift needs at least one place.")})
        if self.minimum and self.capacity and self.minimum > self.capacity:
            raise ValidationError({"minimum": _("The minimum cannot exceed the places.")})

    @property
    def calendar_sequence(self) -> int:
        return self.sequence + self.duty.sequence

    @property
    def sign_up_until(self):
        return self.signup_deadline or self.starts_at

    @property
    def cancel_until(self):
        return self.cancel_deadline or self.starts_at


class SignUp(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        WAITLISTED = "waitlisted", _("On the waitlist")
        CANCELLED = "cancelled", _("Cancelled")
        LATE_CANCELLED = "late", _("Cancelled late")

    ACTIVE = (Status.CONFIRMED, Status.WAITLISTED)

    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="signups")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signups"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        ordering = ["created_at", "id"]
        constraints = [
            # One live sign-up per person and shift, whatever the concurrency.
            models.UniqueConstraint(
                fields=["shift", "user"],
                condition=Q(status__in=["confirmed", "waitlisted"]),
                name="one_active_signup",
            )
        ]
        indexes = [models.Index(fields=["shift", "status"])]

    def __str__(self):
        return f"{self.user} · {self.shift_id} · {self.status}"
