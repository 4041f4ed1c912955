"""The minutes (纪要) of joint meetings, with their versions and comments, and
the action items (督办事项) they assign, followed to the end."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from alliance.models.meetings import AgendaItem, JointMeeting
from alliance.models.partners import Partner
from portal import uploads
from portal.uploads import PrivateFileField


class Minutes(models.Model):
    """The minutes of one meeting. Drafted per agenda item, circulated to the
    attendees for comments, revised, approved by the convener and published.
    Every save is kept as a numbered version."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CIRCULATED = "circulated", _("Circulated for comments")
        APPROVED = "approved", _("Approved")
        PUBLISHED = "published", _("Published")

    meeting = models.OneToOneField(JointMeeting, on_delete=models.CASCADE, related_name="minutes")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="draft")
    summary = models.TextField(_("summary"), blank=True)
    version = models.PositiveIntegerField(default=0)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")

    def __str__(self):
        return str(self.meeting)


class MinutesEntry(models.Model):
    """The minutes of one agenda item: the discussion and the resolutions (决议)."""

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="entries")
    agenda_item = models.OneToOneField(
        AgendaItem, on_delete=models.CASCADE, related_name="minutes_entry"
    )
    discussion = models.TextField(_("discussion"), blank=True)
    resolutions = models.TextField(_("resolutions"), blank=True, help_text=_("One per line."))

    class Meta:
        ordering = ["agenda_item__position", "agenda_item_id"]

    def __str__(self):
        return str(self.agenda_item)


class MinutesVersion(models.Model):
    """A saved version of the minutes (summary, entries and action items as they
    were), retrievable at any time."""

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=Minutes.State.choices)
    content = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["minutes", "number"], name="one_minutes_version_number")
        ]

    def __str__(self):
        return f"{self.minutes_id} v{self.number}"


class MinutesComment(models.Model):
    """An attendee's comment on one agenda item of circulated minutes."""

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="comments")
    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.author} on {self.agenda_item_id}"


class ActionItem(models.Model):
    """A task the meeting decided (督办事项): owner unit and person, due date,
    expected result; followed up with progress updates until done."""

    class Status(models.TextChoices):
        OPEN = "open", _("Being followed up")
        DONE = "done", _("Done")
        DROPPED = "dropped", _("Dropped")

    meeting = models.ForeignKey(JointMeeting, on_delete=models.CASCADE, related_name="actions")
    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="actions")
    title = models.CharField(_("action"), max_length=200)
    owner_partner = models.ForeignKey(
        Partner, verbose_name=_("owner unit"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="actions",
    )  # fmt: skip
    owner_branch = models.ForeignKey(
        "branches.GridBranchPage", verbose_name=_("owner branch"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="alliance_actions",
    )  # fmt: skip
    due_on = models.DateField(_("due on"), db_index=True)
    expected_result = models.TextField(_("expected result"), blank=True)
    status = models.CharField(
        _("state"), max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    done_at = models.DateTimeField(null=True, blank=True)
    reminded_on = models.DateField(null=True, blank=True)  # the last overdue reminder
    service_request = models.ForeignKey(
        "volunteers.ServiceRequest", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    project = models.ForeignKey(
        "alliance.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner_partner__isnull=False) | Q(owner_branch__isnull=False),
                name="action_item_has_an_owner_unit",
            )
        ]

    def __str__(self):
        return self.title


class ActionProgress(models.Model):
    action = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="progress")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("progress"))
    evidence = PrivateFileField(_("evidence"), kind=uploads.ANY, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.action_id}: {self.note[:20]}"
