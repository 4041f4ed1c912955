"""Joint meetings (党建联席会议) of an alliance: invitations and RSVP, agenda
items (partners may propose them before a deadline; open action items of
earlier meetings are carried in), sign-in and quorum."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from alliance.models.alliances import Alliance
from alliance.models.partners import Partner
from portal import uploads
from portal.models import CalendarSequence
from portal.uploads import PrivateFileField


class JointMeeting(CalendarSequence, models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        HELD = "held", _("Held")
        CANCELLED = "cancelled", _("Cancelled")

    alliance = models.ForeignKey(Alliance, on_delete=models.PROTECT, related_name="meetings")
    title = models.CharField(_("title"), max_length=150)
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"))
    place = models.CharField(_("place"), max_length=200)
    convener = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("convener"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    proposals_until = models.DateTimeField(_("agenda proposals until"))
    quorum = models.PositiveSmallIntegerField(
        _("quorum"), default=0, help_text=_("Attendees needed for decisions (0: none).")
    )
    status = models.CharField(
        _("state"), max_length=10, choices=Status.choices, default=Status.SCHEDULED
    )
    sequence = models.PositiveIntegerField(default=0)  # iCalendar SEQUENCE
    # What the invitation file shows: a change raises the SEQUENCE.
    CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "place", "proposals_until", "status")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("joint meeting")
        verbose_name_plural = _("joint meetings")
        ordering = ["-starts_at", "-id"]

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("The end must be after the start.")})
        if self.starts_at and self.proposals_until and self.proposals_until > self.starts_at:
            raise ValidationError(
                {"proposals_until": _("Proposals must close before the meeting starts.")}
            )


class Invitation(models.Model):
    """One invitee: their answer (attend, send a deputy, decline) and sign-in."""

    class Response(models.TextChoices):
        PENDING = "pending", _("No answer yet")
        ATTEND = "attend", _("Will attend")
        DEPUTY = "deputy", _("Sends a deputy")
        DECLINE = "decline", _("Declines")

    meeting = models.ForeignKey(JointMeeting, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meeting_invitations"
    )
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    response = models.CharField(
        _("answer"), max_length=8, choices=Response.choices, default=Response.PENDING
    )
    deputy_name = models.CharField(_("deputy"), max_length=50, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    signed_in_at = models.DateTimeField(_("signed in at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="one_invitation_per_person")
        ]

    def __str__(self):
        return f"{self.meeting_id} · {self.user_id}"


class AgendaItem(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("On the agenda")
        DECLINED = "declined", _("Not taken")

    meeting = models.ForeignKey(JointMeeting, on_delete=models.CASCADE, related_name="agenda")
    title = models.CharField(_("title"), max_length=150)
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    proposer_partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    background = models.TextField(_("background"), blank=True)
    attachment = PrivateFileField(_("attachment"), kind=uploads.ANY, blank=True)
    minutes_allotted = models.PositiveSmallIntegerField(_("minutes allotted"), default=15)
    position = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        _("state"), max_length=10, choices=Status.choices, default=Status.ACCEPTED
    )
    # Carried over from an earlier meeting: the open action item it follows up.
    carried_from = models.ForeignKey(
        "alliance.ActionItem", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="carried_into",
    )  # fmt: skip

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.title
