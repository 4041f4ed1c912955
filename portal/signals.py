"""Signal wiring of the portal app."""

from allauth.account.signals import user_signed_up
from allauth.mfa.signals import authenticator_added
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from wagtail.models import Page, Revision

from portal.publishing import NoticeBoardPage
from portal.scheduling import run_at


@receiver(post_save, sender=NoticeBoardPage)
def board_created(sender, instance, created, raw=False, **kwargs):
    """The board's proposers and approval workflow, in the same transaction."""
    if created and not raw:
        from portal.services import notice_board_setup

        notice_board_setup(board=instance)


@receiver(post_save, sender=Revision)
def revision_scheduled(sender, instance, raw=False, **kwargs):
    """A revision approved to go live later: publish it then."""
    if not raw and instance.approved_go_live_at:
        run_at(instance.approved_go_live_at)


@receiver(post_save)
def page_expiry(sender, instance, raw=False, **kwargs):
    """A live page with an expiry time: unpublish it then."""
    if raw or not isinstance(instance, Page):
        return
    if instance.live and instance.expire_at and instance.expire_at > timezone.now():
        run_at(instance.expire_at)


@receiver(user_signed_up)
def signed_up_language(sender, request, user, **kwargs):
    """Whoever signs up on the English site reads their messages in English."""
    from portal.i18n import remember_language

    if request is not None and getattr(request, "LANGUAGE_CODE", ""):
        remember_language(user, request.LANGUAGE_CODE)


@receiver(authenticator_added)
def totp_activated(sender, request, user, authenticator, **kwargs):
    """Setting up TOTP proves the device with a code: the session that did it has
    passed the second factor and is not asked for another code straight away."""
    if request is not None and authenticator.type == authenticator.Type.TOTP:
        from allauth.account.internal.flows.login import record_authentication

        record_authentication(
            request, user, "mfa", id=authenticator.pk, type=authenticator.type, activated=True
        )
