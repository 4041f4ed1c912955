"""Writes of a partner unit's contacts: their unit's public profile
(introduction, address) and the resources it offers (offer, change, withdraw);
no other unit's. A refusal is a ``ValidationError`` or ``PermissionDenied``."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from alliance.access import partner_of
from alliance.models import Kind, Partner, Resource
from portal.roles import user_scope


def _own_partner(by, partner: Partner) -> None:
    if not (user_scope(by).is_district or partner_of(by) == partner):
        raise PermissionDenied(_("You may change only your own unit."))


@transaction.atomic
def partner_profile_update(*, partner: Partner, by, intro: str, address: str) -> Partner:
    """A contact updates their unit's public profile (introduction and address)."""
    _own_partner(by, partner)
    partner.intro = (intro or "").strip()
    partner.address = (address or "").strip()
    partner.full_clean(exclude=["branches", "grids"])
    partner.save(update_fields=["intro", "address"])
    return partner


@transaction.atomic
def resource_save(
    *,
    by,
    partner: Partner,
    title: str,
    kind: str,
    description: str = "",
    quantity: int = 1,
    unit: str = "",
    available_from: date | None = None,
    available_until: date | None = None,
    resource: Resource | None = None,
) -> Resource:
    """Offer a new resource of ``partner``, or change ``resource`` (still available)."""
    _own_partner(by, partner)
    if resource is None:
        resource = Resource(partner=partner)
    else:
        resource = Resource.objects.select_for_update().get(pk=resource.pk)
        if resource.partner_id != partner.pk:
            raise PermissionDenied(_("You may change only your own unit."))
        if resource.status != Resource.Status.AVAILABLE:
            raise ValidationError(_("Only an available resource can be changed."))
    resource.title = (title or "").strip()
    resource.description = (description or "").strip()
    resource.kind = kind
    resource.quantity = quantity
    resource.unit = (unit or "").strip()
    resource.available_from = available_from
    resource.available_until = available_until
    errors = {}
    if not resource.title:
        errors["title"] = _("Say in a few words what you offer.")
    if kind not in Kind.values:
        errors["kind"] = _("Choose a type.")
    if quantity is None or quantity < 1:
        errors["quantity"] = _("Give a quantity of at least 1.")
    if available_from and available_until and available_until < available_from:
        errors["available_until"] = _("The end must not be before the start.")
    if errors:
        raise ValidationError(errors)
    resource.full_clean()
    resource.save()
    return resource


@transaction.atomic
def resource_withdraw(*, resource: Resource, by) -> Resource:
    """Take an available resource off the list (a committed one serves a project)."""
    resource = Resource.objects.select_for_update().select_related("partner").get(pk=resource.pk)
    _own_partner(by, resource.partner)
    if resource.status == Resource.Status.COMMITTED:
        raise ValidationError(
            _("This resource is committed to a project; it can be withdrawn once that is over.")
        )
    if resource.status != Resource.Status.WITHDRAWN:
        resource.status = Resource.Status.WITHDRAWN
        resource.save(update_fields=["status"])
    return resource
