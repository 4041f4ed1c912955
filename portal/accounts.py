"""django-allauth adapter: sign-in by username, email or mobile number, and
linking a new account to its member record once the number is verified."""

import secrets
from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext as _

from portal.audit import client_ip
from portal.crypto import keyed_hashes
from portal.links import base_url, rebase_url
from portal.models import UserPhone
from portal.sms import get_sms_sender
from portal.validators import is_mobile, normalise_mobile, validate_mobile

# Sent inside the transaction that marks a user's mobile number verified (user=,
# phone=): the branches app links the account to the member record with that number.
phone_verified = Signal()


def login_account(identifier: str):
    """The account a typed sign-in identifier means, whichever spelling was used:
    a mobile number with or without +86, spaces or dashes, an email address or a
    username (case-insensitive). None when no account matches."""
    identifier = (identifier or "").strip()
    mobile = normalise_mobile(identifier)
    if is_mobile(mobile):
        record = UserPhone.objects.filter(phone_hash__in=keyed_hashes(mobile)).first()
        if record:
            return record.user_id
    users = get_user_model().objects
    if "@" in identifier:
        from allauth.account.models import EmailAddress

        found = (
            EmailAddress.objects.filter(email__iexact=identifier)
            .values_list("user_id", flat=True)
            .first()
            or users.filter(email__iexact=identifier).values_list("pk", flat=True).first()
        )
        if found:
            return found
    return users.filter(username__iexact=identifier).values_list("pk", flat=True).first()


class AccountAdapter(DefaultAccountAdapter):
    def generate_unique_username(self, txts, regex=None) -> str:
        """Sign-up asks for no username (a form that said "this name is taken"
        would tell anyone which accounts exist); people sign in by mobile number.
        The account gets a random, unguessable name."""
        users = get_user_model().objects
        while True:
            username = f"u{secrets.token_hex(5)}"
            if not users.filter(username=username).exists():
                return username

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Links in allauth's emails (password reset, sign-up) point to
        PUBLIC_BASE_URL, and the site is named by its name and public host, not
        by whatever host name the request came in with."""
        context = {
            key: rebase_url(value) if key.endswith("_url") and isinstance(value, str) else value
            for key, value in context.items()
        }
        context.setdefault(
            "current_site",
            SimpleNamespace(name=settings.WAGTAIL_SITE_NAME, domain=urlsplit(base_url()).netloc),
        )
        super().send_mail(template_prefix, email, context)

    def get_client_ip(self, request) -> str:
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client's address")
        return ip

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """Failed sign-ins count per account, not per spelling: after five failures
        for 13700000003 the same account is locked as +8613700000003, by email or by
        username too (allauth's per-IP limit counts beside it)."""
        typed = next(
            (credentials[k] for k in ("phone", "email", "username") if credentials.get(k)), ""
        )
        account = login_account(typed)
        key = f"user:{account}" if account else normalise_mobile(typed).lower()
        return f"{get_current_site(request).domain}:{key}"

    def clean_phone(self, phone: str) -> str:
        phone = normalise_mobile(phone)
        validate_mobile(phone)
        return phone

    def phone_form_field(self, **kwargs):
        from allauth.account.fields import PhoneField
        from django import forms

        # Mainland mobile numbers without the +86 prefix; clean_phone validates them.
        kwargs.setdefault("label", _("Mobile number"))
        kwargs.setdefault("validators", [])
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"type": "tel", "autocomplete": "tel", "placeholder": "13812345678"}
            ),
        )
        return PhoneField(**kwargs)

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        get_sms_sender().send(phone, _("Tongxin verification code: %(code)s") % {"code": code})

    def send_unknown_account_sms(self, phone: str, **kwargs) -> None:
        get_sms_sender().send(phone, _("No Tongxin account uses this number."))

    def send_account_already_exists_sms(self, phone: str) -> None:
        get_sms_sender().send(phone, _("A Tongxin account already uses this number."))

    def get_phone(self, user):
        record = UserPhone.objects.filter(user=user).first()
        return (record.phone, record.verified) if record else None

    def set_phone(self, user, phone: str, verified: bool) -> None:
        UserPhone.objects.update_or_create(
            user=user, defaults={"phone": phone, "verified": verified}
        )

    @transaction.atomic
    def set_phone_verified(self, user, phone: str) -> None:
        UserPhone.objects.filter(user=user).update(verified=True)
        phone_verified.send(sender=type(self), user=user, phone=phone)

    def get_user_by_phone(self, phone: str):
        record = (
            UserPhone.objects.filter(phone_hash__in=keyed_hashes(normalise_mobile(phone)))
            .select_related("user")
            .first()
        )
        return record.user if record else None
