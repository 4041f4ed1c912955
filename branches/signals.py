"""What the branches app does when something happens in the portal's kernel."""

from django.dispatch import receiver

from branches.services import member_link_by_phone
from portal.accounts import phone_verified


@receiver(phone_verified, dispatch_uid="branches.link_member")
def link_member(sender, user, phone, **kwargs):
    """A verified mobile number links the account to the one member record with it."""
    member_link_by_phone(user=user, phone=phone)
