"""django-allauth adapter: sign-in by username, email or mobile number, and
linking a new account to its member record once the number is verified."""

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction
from django.utils.translation import gettext as _

from portal.crypto import keyed_hash
from portal.models import UserPhone
from portal.sms import get_sms_sender
from portal.validators import normalise_mobile, validate_mobile


class AccountAdapter(DefaultAccountAdapter):
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
        from branches.services import member_link_by_phone

        UserPhone.objects.filter(user=user).update(verified=True)
        member_link_by_phone(user=user, phone=phone)

    def get_user_by_phone(self, phone: str):
        record = (
            UserPhone.objects.filter(phone_hash=keyed_hash(normalise_mobile(phone)))
            .select_related("user")
            .first()
        )
        return record.user if record else None
