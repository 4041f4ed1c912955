"""What the branches app does when something happens in the portal's kernel."""

from django.dispatch import receiver

from branches.models import Member
from branches.services import member_link_by_phone
from portal.accounts import phone_verified
from portal.page_cache import BADGES, shown_on_unit_pages


@receiver(phone_verified, dispatch_uid="branches.link_member")
def link_member(sender, user, phone, **kwargs):
    """A verified mobile number links the account to the one member record with it."""
    member_link_by_phone(user=user, phone=phone)


# A unit's public page lists its members who show a role badge.
shown_on_unit_pages(
    Member, part=BADGES, units=lambda member: (member.branch, member.building_group)
)
