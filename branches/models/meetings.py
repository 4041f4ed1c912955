"""Branch life: 三会一课 and the themed party day. A meeting is one occurrence
with its own invitees, attendance, minutes and photos; a recurring schedule
(an RFC 5545 RRULE) is a MeetingSeries that created its occurrences, each of
which can then be moved or cancelled on its own."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable

from branches.models.people import Member
from branches.models.tree import BuildingGroupPage, GridBranchPage
from portal import uploads
from portal.models import CalendarSequence
from portal.uploads import PrivateFileField


class MeetingKind(models.TextChoices):
    ASSEMBLY = "assembly", _("Branch assembly (支部党员大会)")
    COMMITTEE = "committee", _("Branch committee meeting (支委会)")
    GROUP = "group", _("Party group meeting (党小组会)")
    LECTURE = "lecture", _("Party lecture (党课)")
    PARTY_DAY = "party_day", _("Themed party day (主题党日)")


# How often each kind must be held (三会一课 and the monthly themed party day).
REQUIRED_EVERY = {
    MeetingKind.ASSEMBLY: "quarter",
    MeetingKind.COMMITTEE: "month",
    MeetingKind.GROUP: "month",
    MeetingKind.LECTURE: "quarter",
    MeetingKind.PARTY_DAY: "month",
}


class MeetingSeries(models.Model):
    """A recurring schedule; its occurrences are Meeting rows."""

    branch = models.ForeignKey(GridBranchPage, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=MeetingKind.choices)
    title = models.CharField(_("title"), max_length=200)
    rrule = models.CharField(_("repeat rule (RRULE)"), max_length=200)
    first_start = models.DateTimeField(_("first start"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("meeting series")

    def __str__(self):
        return f"{self.title} ({self.rrule})"


class Meeting(CalendarSequence, ClusterableModel):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")

    branch = models.ForeignKey(
        GridBranchPage, verbose_name=_("branch"), on_delete=models.CASCADE, related_name="meetings"
    )
    group = models.ForeignKey(
        BuildingGroupPage,
        verbose_name=_("building group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="meetings",
        help_text=_("For party group meetings: the group that meets."),
    )
    series = models.ForeignKey(
        MeetingSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=MeetingKind.choices)
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"))
    place = models.CharField(_("place"), max_length=200)
    agenda = models.TextField(_("agenda"), blank=True)
    public = models.BooleanField(
        _("public"),
        default=False,
        help_text=_(
            "Shown on the branch's public calendar (e.g. a themed party day open to residents)."
        ),
    )
    status = models.CharField(
        _("meeting status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED
    )
    # iCalendar SEQUENCE: goes up whenever the time, place, title or status changes.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    minutes = models.TextField(_("minutes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "place", "status")

    class Meta:
        verbose_name = _("branch meeting")
        verbose_name_plural = _("branch meetings")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["branch", "kind", "starts_at"])]

    def __str__(self):
        return f"{self.title} {self.starts_at:%Y-%m-%d}"

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("The end must be after the start.")})
        if self.group_id and self.branch_id and self.group.get_parent().pk != self.branch_id:
            raise ValidationError({"group": _("This group belongs to another branch.")})
        if self.kind == MeetingKind.GROUP and not self.group_id:
            raise ValidationError({"group": _("Choose the building group that meets.")})

    @property
    def is_cancelled(self):
        return self.status == self.Status.CANCELLED


class MeetingPhoto(Orderable):
    meeting = ParentalKey(Meeting, on_delete=models.CASCADE, related_name="photos")
    image = PrivateFileField(_("photo"), kind=uploads.IMAGE)
    caption = models.CharField(_("caption"), max_length=200, blank=True)


class Attendance(models.Model):
    class Status(models.TextChoices):
        INVITED = "invited", _("Not signed in yet")
        PRESENT = "present", _("Present")
        LEAVE = "leave", _("On leave")
        ABSENT = "absent", _("Absent")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendances")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="attendances")
    status = models.CharField(
        _("attendance"), max_length=10, choices=Status.choices, default=Status.INVITED
    )
    reason = models.CharField(_("reason for leave"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("attendance")
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="unique_attendance")
        ]

    def __str__(self):
        return f"{self.member_id}@{self.meeting_id}: {self.status}"


class MeetingReminder(models.Model):
    """One row per (meeting, member) reminded: the reminder is sent at most once."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="unique_meeting_reminder")
        ]

    def __str__(self):
        return f"{self.member_id}@{self.meeting_id}"
