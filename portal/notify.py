"""Telling people things: every message goes to the in-portal inbox and by email,
and to any extra channels listed in ``TONGXIN_NOTIFY_CHANNELS`` (dotted paths of
callables ``channel(user, subject, body, url)`` — the adapter point for SMS or
WeChat template messages). Call ``notify`` from background tasks only; from a
request, ``notify_on_commit`` enqueues it."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils.module_loading import import_string
from django_tasks import task

from portal.models import InboxMessage


def notify(user, *, subject: str, body: str, url: str = "") -> InboxMessage:
    message = InboxMessage.objects.create(user=user, subject=subject, body=body, url=url)
    if user.email:
        text = f"{body}\n\n{settings.WAGTAILADMIN_BASE_URL.rstrip('/')}{url}" if url else body
        send_mail(subject, text, None, [user.email], fail_silently=False)
    for path in getattr(settings, "TONGXIN_NOTIFY_CHANNELS", []):
        import_string(path)(user, subject, body, url)
    return message


@task()
def send_notification(user_id: int, subject: str, body: str, url: str = "") -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        notify(user, subject=subject, body=body, url=url)


def notify_on_commit(user, *, subject: str, body: str, url: str = "") -> None:
    """Send once the current transaction commits, from a background task."""
    args = (user.pk, str(subject), str(body), url)
    transaction.on_commit(lambda: send_notification.enqueue(*args))
