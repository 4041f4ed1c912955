"""Telling people things: every message goes to the in-portal inbox and by email,
and to any extra channels listed in ``TONGXIN_NOTIFY_CHANNELS`` (dotted paths of
callables ``channel(user, subject, body, url)`` — the adapter point for SMS or
WeChat template messages). Call ``notify`` from background tasks only."""

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from portal.models import InboxMessage


def notify(user, *, subject: str, body: str, url: str = "") -> InboxMessage:
    message = InboxMessage.objects.create(user=user, subject=subject, body=body, url=url)
    if user.email:
        text = f"{body}\n\n{settings.WAGTAILADMIN_BASE_URL.rstrip('/')}{url}" if url else body
        send_mail(subject, text, None, [user.email], fail_silently=False)
    for path in getattr(settings, "TONGXIN_NOTIFY_CHANNELS", []):
        import_string(path)(user, subject, body, url)
    return message
