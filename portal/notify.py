"""Telling people things: every message goes to the in-portal inbox and by email,
and to any extra channels listed in ``TONGXIN_NOTIFY_CHANNELS`` (dotted paths of
callables ``channel(user, subject, body, url, key=...)`` — the adapter point for
SMS or WeChat template messages; ``url`` is absolute, on ``PUBLIC_BASE_URL``;
``key`` is optional, see below).

Messages go through an outbox, :class:`portal.models.Notification`.
``notify_on_commit`` writes the row in the caller's transaction — a rolled-back
change tells nobody, a committed one cannot be lost — and enqueues ``deliver``
once it commits. ``notify`` (for background tasks) writes the row and delivers at
once. ``deliver_pending``, run with the scheduled work, delivers whatever a
failed or killed worker left behind.

What is guaranteed, and what is not:

- **Inbox: exactly once.** The inbox message and the notification's
  ``inbox_at`` are written in one transaction, with the row locked.
- **Email and extra channels: at least once, de-duplicated by id.** Each is sent
  with the row locked and its time is recorded in the same transaction straight
  after; a channel already recorded is skipped, so a retried or duplicated task
  sends nothing twice. Only a crash between a send and the commit of its time (a
  killed worker, a lost database) makes the next attempt send that channel again.
  The repeat is then the same message: the email carries the stable Message-ID
  ``<notification-{id}@tongxin>`` and extra channels get the same ``key``
  (``notification-{id}``), which mail systems and gateways that honour
  idempotency keys use to drop it. Nothing stronger is possible without the
  other side's co-operation.

Locks are PostgreSQL row locks (``SELECT … FOR UPDATE SKIP LOCKED``): a second
worker that finds the row busy leaves it to the first. SQLite runs one writer at
a time, which serialises deliveries the same way.
"""

import datetime as dt
import inspect
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

from portal.i18n import language_of
from portal.links import absolute_url, in_language
from portal.models import InboxMessage, Notification

logger = logging.getLogger(__name__)

# After this many attempts a notification is left alone (its last_error says why).
MAX_ATTEMPTS = 10
# A failed delivery is tried again after this times the number of attempts so far.
RETRY_AFTER = dt.timedelta(minutes=2)
# How many notifications one sweep delivers; the rest wait for the next run.
SWEEP_BATCH = 500


def message_id(notification: Notification) -> str:
    """The email Message-ID, the same for every attempt at one notification."""
    return f"<notification-{notification.pk}@tongxin>"


def idempotency_key(notification: Notification) -> str:
    """What extra channels get as ``key``, the same for every attempt."""
    return f"notification-{notification.pk}"


def notify_on_commit(user, *, subject: str, body: str, url: str = "") -> Notification:
    """Put the message in the outbox now and deliver it, from a background task,
    once the current transaction commits."""
    notification = _create(user, subject=subject, body=body, url=url)
    pk = notification.pk
    # robust: the change is committed and the message safe in the outbox; a
    # failure to enqueue must not fail the request (the sweeper delivers it).
    transaction.on_commit(lambda: deliver.enqueue(pk), robust=True)
    return notification


def notify(user, *, subject: str, body: str, url: str = "") -> InboxMessage | None:
    """Put the message in the outbox and deliver it now, in this process. For
    background tasks; from a request use ``notify_on_commit``. Returns the inbox
    message (``None`` for an inactive account)."""
    notification = _create(user, subject=subject, body=body, url=url)
    deliver.call(notification.pk)
    notification.refresh_from_db(fields=["inbox_message"])
    return notification.inbox_message


@task()
def deliver(notification_id: int) -> bool:
    """Deliver one notification to every channel that does not have it yet.
    Returns whether it is now fully delivered. Safe to run any number of times,
    also at the same time: see the module docstring for the guarantees."""
    with transaction.atomic():
        notification = _claim(notification_id)
        if notification is None:
            return False  # gone, or another worker is delivering it
        if notification.delivered_at is not None:
            return True
        notification.attempts += 1
        if not notification.user.is_active:
            notification.delivered_at = timezone.now()
            notification.last_error = "inactive account: nothing sent"
        elif notification.inbox_at is None:
            notification.inbox_message = InboxMessage.objects.create(
                user=notification.user,
                subject=notification.subject,
                body=notification.body,
                url=notification.url,
            )
            notification.inbox_at = timezone.now()
        notification.save(
            update_fields=["attempts", "delivered_at", "last_error", "inbox_message", "inbox_at"]
        )
        if notification.delivered_at is not None:
            return True
        attempts = notification.attempts

    errors = []
    for channel in _external_channels(notification):
        try:
            with transaction.atomic():
                notification = _claim(notification_id)
                if notification is None:
                    return False  # another worker is on it and will finish
                if _sent(notification, channel):
                    continue
                _send(notification, channel)
                _record(notification, channel)
        except Exception as error:  # noqa: BLE001 - recorded and retried
            logger.exception("notification %s: %s failed", notification_id, channel)
            errors.append(f"{channel}: {type(error).__name__}: {error}")

    with transaction.atomic():
        notification = _claim(notification_id)
        if notification is None:
            return False
        notification.last_error = "\n".join(errors)[:2000]
        if not errors:
            notification.delivered_at = timezone.now()
        notification.save(update_fields=["last_error", "delivered_at"])
    if errors and attempts < MAX_ATTEMPTS:
        from portal.scheduling import run_at

        run_at(timezone.now() + RETRY_AFTER * attempts)
    return not errors


def deliver_pending(older_than: dt.timedelta = dt.timedelta(minutes=2)) -> int:
    """Deliver the notifications created more than ``older_than`` ago that are not
    fully delivered yet: those of a worker killed mid-send, of a failed send, or
    of an enqueue that never ran. Runs with the scheduled work; returns how many
    are now delivered. Notifications that failed ``MAX_ATTEMPTS`` times are left
    for a person to look at."""
    cutoff = timezone.now() - older_than
    pending = list(
        Notification.objects.filter(
            delivered_at__isnull=True, created_at__lte=cutoff, attempts__lt=MAX_ATTEMPTS
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    delivered = sum(1 for pk in pending if deliver.call(pk))
    if len(pending) == SWEEP_BATCH:
        from portal.scheduling import run_at

        run_at(timezone.now())  # more are waiting: sweep again straight away
    return delivered


@task()
def send_notification(user_id: int, subject: str, body: str, url: str = "") -> None:
    """Kept for tasks enqueued before the outbox existed; new code never enqueues it."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first()
    if user is not None:
        notify(user, subject=subject, body=body, url=url)


# --- Delivery steps --------------------------------------------------------------

EMAIL = "email"


def _create(user, *, subject, body, url) -> Notification:
    """The outbox row. Its text is written by the caller in the reader's language
    (``with in_language_of(user):``); its link is made to open the page in it."""
    url = in_language(url, language_of(user)) if url else ""
    return Notification.objects.create(
        user=user, subject=str(subject)[:200], body=str(body), url=url
    )


def _claim(notification_id: int) -> Notification | None:
    """The notification, locked until the end of the transaction; ``None`` if it
    is gone or another worker holds it."""
    return (
        Notification.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("user")
        .filter(pk=notification_id)
        .first()
    )


def _external_channels(notification: Notification) -> list[str]:
    channels = [EMAIL] if notification.user.email else []
    return channels + list(getattr(settings, "TONGXIN_NOTIFY_CHANNELS", []))


def _sent(notification: Notification, channel: str) -> bool:
    if channel == EMAIL:
        return notification.email_at is not None
    return channel in notification.channels_at


def _record(notification: Notification, channel: str) -> None:
    now = timezone.now()
    if channel == EMAIL:
        notification.email_at = now
        notification.save(update_fields=["email_at"])
    else:
        notification.channels_at = {**notification.channels_at, channel: now.isoformat()}
        notification.save(update_fields=["channels_at"])


def _send(notification: Notification, channel: str) -> None:
    user, subject, body, url = (
        notification.user,
        notification.subject,
        notification.body,
        absolute_url(notification.url) if notification.url else "",
    )
    if channel == EMAIL:
        text = f"{body}\n\n{url}" if url else body
        EmailMessage(
            subject, text, None, [user.email], headers={"Message-ID": message_id(notification)}
        ).send(fail_silently=False)
        return
    adapter = import_string(channel)
    if _takes_key(adapter):
        adapter(user, subject, body, url, key=idempotency_key(notification))
    else:  # an adapter written before keys existed
        adapter(user, subject, body, url)


def _takes_key(adapter) -> bool:
    try:
        parameters = inspect.signature(adapter).parameters.values()
    except (TypeError, ValueError):  # not introspectable: call it the old way
        return False
    return any(
        p.name == "key"
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        or p.kind is p.VAR_KEYWORD
        for p in parameters
    )
