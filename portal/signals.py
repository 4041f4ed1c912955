"""Signal wiring of the portal app."""

from allauth.account.signals import user_signed_up
from allauth.mfa.signals import authenticator_added
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Page, PageViewRestriction, Revision, Site
from wagtail.signals import post_page_move, pre_page_move

from portal import page_cache
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


# --- The page cache (portal/page_cache.py) --------------------------------------


@receiver(post_save, dispatch_uid="portal.page_cache.page_saved")
@receiver(post_delete, dispatch_uid="portal.page_cache.page_deleted")
def page_cache_page(sender, instance, raw=False, **kwargs):
    """Any save of a page (publishing, unpublishing and their scheduled runs
    save it) or its deletion; a draft's save costs one needless refresh."""
    if not raw and isinstance(instance, Page):
        page_cache.page_changed(instance)


@receiver(pre_page_move, dispatch_uid="portal.page_cache.page_moving")
@receiver(post_page_move, dispatch_uid="portal.page_cache.page_moved")
def page_cache_move(sender, instance, **kwargs):
    """A move changes the page's path and its subtree's: where it was, and where it is."""
    page_cache.page_changed(instance)


@receiver(post_save, sender=PageViewRestriction, dispatch_uid="portal.page_cache.restricted")
@receiver(post_delete, sender=PageViewRestriction, dispatch_uid="portal.page_cache.unrestricted")
def page_cache_restriction(sender, instance, raw=False, **kwargs):
    if not raw:
        page_cache.page_changed(instance.page)


def page_cache_media(sender, instance, created=False, raw=False, **kwargs):
    """An image or document that pages may show was edited or deleted (a new
    one is on no page yet); sites change every page's links."""
    if not created:
        page_cache.site_changed(raw=raw)


for model in (get_image_model(), get_document_model(), Site):
    post_save.connect(page_cache_media, sender=model, dispatch_uid=f"page_cache:{model}")
    post_delete.connect(page_cache_media, sender=model, dispatch_uid=f"page_cache:{model}:del")
