from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField, KeyedHashField
from portal.masking import mask_phone


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("District administrator")
    GRID_COORDINATOR = "grid_coordinator", _("Grid coordinator")
    BRANCH_SECRETARY = "branch_secretary", _("Branch secretary")
    GROUP_LEADER = "group_leader", _("Building group leader")
    GRID_WORKER = "grid_worker", _("Grid worker")
    CENTRAL_HOUSEHOLD_HEAD = "central_household_head", _("Central household head")
    MEMBER = "member", _("Party member")
    VOLUNTEER = "volunteer", _("Volunteer")
    PARTNER_CONTACT = "partner_contact", _("Alliance partner contact")


# Roles that must sign in with a second factor (TOTP).
MFA_ROLES = {Role.DISTRICT_ADMIN, Role.GRID_COORDINATOR, Role.BRANCH_SECRETARY}
# Roles that hold a unit of the organisation tree as their scope.
SCOPED_ROLES = {
    Role.GRID_COORDINATOR,
    Role.BRANCH_SECRETARY,
    Role.GROUP_LEADER,
    Role.GRID_WORKER,
}


class RoleAssignment(models.Model):
    """A user's role at one node of the organisation tree (the node is the
    scope: a coordinator's grid, a secretary's branch, a leader's group)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "page"], name="unique_role_at_unit"),
            models.CheckConstraint(
                condition=~models.Q(
                    role__in=[
                        "grid_coordinator",
                        "branch_secretary",
                        "group_leader",
                        "grid_worker",
                    ],
                    page__isnull=True,
                ),
                name="scoped_role_has_unit",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()}"


class UserPhone(models.Model):
    """The mobile number an account signs in with (allauth's phone method)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone_record"
    )
    phone = EncryptedTextField(_("mobile number"))
    phone_hash = KeyedHashField(source="phone", null=True, unique=True)
    verified = models.BooleanField(_("verified"), default=False)

    class Meta:
        verbose_name = _("account phone")
        verbose_name_plural = _("account phones")

    def __str__(self):
        return mask_phone(self.phone)


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("the audit log cannot be edited")

    def delete(self):
        raise PermissionError("the audit log cannot be edited")


class AuditEntry(models.Model):
    """Append-only record of sensitive reads and changes (reveals, exports, imports,
    role changes). Readable by district administrators; editable by nobody."""

    class Action(models.TextChoices):
        REVEAL = "reveal", _("Revealed a private value")
        EXPORT = "export", _("Exported records")
        IMPORT = "import", _("Imported records")
        ROLE_GRANT = "role_grant", _("Granted a role")
        ROLE_REVOKE = "role_revoke", _("Revoked a role")
        MEMBER_LINK = "member_link", _("Linked an account to a member")
        PRIVATE_DUPLICATE = "private_duplicate", _("Typed a private value held outside scope")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("who (name)"), max_length=150)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    object_type = models.CharField(_("record type"), max_length=100, blank=True)
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    object_repr = models.CharField(_("record"), max_length=200, blank=True)
    # Not "field": Wagtail's inspect view has methods named after that word.
    field_name = models.CharField(_("field"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.logged_at()} {self.actor_name} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("the audit log cannot be edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log cannot be edited")

    # How the log reads to a person (the listing and the inspect page).

    def _model(self):
        try:
            return apps.get_model(self.object_type) if self.object_type else None
        except (LookupError, ValueError):
            return None

    @property
    def operator(self) -> str:
        """The operator's name (family name first) and account, or "system"."""
        from portal.names import person_name

        if self.actor is None:
            # The background worker is stored as "system": shown in the reader's language.
            return str(_("system")) if self.actor_name == "system" else self.actor_name
        name = person_name(self.actor)
        return name if name == self.actor_name else f"{name} ({self.actor_name})"

    def logged_at(self) -> str:
        """When, as one short line in local time (``2026-12-05 12:35``): the
        listing's first column (a method, so that it sorts by ``created_at``)."""
        return f"{timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"

    @property
    def record_type(self) -> str:
        """The record type's name (党员, 户), not its code (``branches.Member``)."""
        model = self._model()
        return str(model._meta.verbose_name) if model else self.object_type

    @property
    def field_label(self) -> str:
        """The field's label (身份证号), or labels for several (``address,phone``)."""
        model = self._model()
        if model is None or not self.field_name:
            return self.field_name
        labels = []
        for name in self.field_name.split(","):
            try:
                labels.append(str(model._meta.get_field(name.strip()).verbose_name))
            except FieldDoesNotExist:
                labels.append(name)
        return "、".join(labels)

    # Labels of the properties on the inspect page.
    logged_at.short_description = _("when")
    logged_at.admin_order_field = "created_at"
    operator.fget.short_description = _("who")
    record_type.fget.short_description = _("record type")
    field_label.fget.short_description = _("field")


class InboxMessage(models.Model):
    """A message in a user's in-portal inbox (reminders, notices of changes)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("inbox message")

    def __str__(self):
        return self.subject


class Notification(models.Model):
    """The outbox: one message to one person, kept until every channel has it.

    Written in the transaction of the change it reports (so a rolled-back change
    tells nobody and a committed one cannot be lost); each channel's time is set
    when that channel has the message, so a retried delivery skips it. See
    ``portal.notify``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    inbox_message = models.OneToOneField(
        InboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inbox_at = models.DateTimeField(_("in the inbox"), null=True, blank=True)
    email_at = models.DateTimeField(_("emailed"), null=True, blank=True)
    # Extra channel (dotted path from TONGXIN_NOTIFY_CHANNELS) → ISO time sent.
    channels_at = models.JSONField(_("other channels"), default=dict, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # What the sweeper looks for: not yet delivered, oldest first.
            models.Index(
                fields=["created_at"],
                condition=models.Q(delivered_at__isnull=True),
                name="notification_pending",
            )
        ]

    def __str__(self):
        return self.subject


def _calendar_token():
    import secrets

    return secrets.token_urlsafe(24)


class CalendarSequence:
    """For records shown as calendar events (a mixin before ``models.Model``):
    ``sequence``, their iCalendar SEQUENCE, goes up on save when one of
    ``CALENDAR_FIELDS`` changed, so calendar apps update their copy of the event
    instead of keeping the old one."""

    CALENDAR_FIELDS: tuple[str, ...] = ()

    def save(self, *args, **kwargs):
        fields = self.CALENDAR_FIELDS
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            # A save of other fields writes no calendar field: no query, no bump.
            fields = tuple(f for f in fields if f in update_fields)
        if self.pk and fields:
            before = type(self)._base_manager.filter(pk=self.pk).values(*fields).first()
            if before and any(before[f] != getattr(self, f) for f in fields):
                self.sequence += 1
                if update_fields is not None:
                    kwargs["update_fields"] = [*update_fields, "sequence"]
        super().save(*args, **kwargs)


class CalendarToken(models.Model):
    """The secret in a member's private calendar feed URL. Revoking it (making a
    new one) stops the old URL at once."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token"
    )
    token = models.CharField(max_length=64, unique=True, default=_calendar_token)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"calendar token of {self.user_id}"

    def renew(self):
        self.token = _calendar_token()
        self.save(update_fields=["token", "created_at"])


# Page models and their records live in their own modules; importing them here
# registers them with the app.
from portal.publishing import (  # noqa: E402, F401
    ActivityPage,
    NewsPage,
    NoticeBoardPage,
    NoticePage,
    NoticeRead,
    PublicationPage,
)


class WorkerBeat(models.Model):
    """A background worker's sign of life: ``db_worker`` (the portal's, see
    ``portal.workers``) records it every ``TONGXIN_WORKER_BEAT_SECONDS``. A task
    whose worker stopped beating was abandoned, and goes back in the queue."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    backend_name = models.CharField(max_length=32)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return self.worker_id
