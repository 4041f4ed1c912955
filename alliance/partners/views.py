"""Partner units on the site (phone first): the units a user co-builds with,
a unit's public profile with its agreements and what it offers, the signed
agreement for the unit's insiders, and a partner contact's own unit
(/alliance/my-unit/: its profile and resources).

Every write is a service in ``alliance.partners.services``: a refusal comes
back as a message (ValidationError) or a 403 (PermissionDenied)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.access import partner_of
from alliance.models import Agreement, Partner, Resource
from alliance.partners import services
from alliance.partners.forms import ProfileForm, ResourceForm
from alliance.partners.selectors import is_insider, partners_visible_to
from alliance.web import post_action
from portal.forms import errors_onto
from portal.listing import filtered_page
from portal.masking import mask_phone
from portal.uploads import private_file_response

# Rows shown on one page of a unit (each list has a handful).
MAX_ROWS = 100


def _own_partner(request) -> Partner:
    partner = partner_of(request.user)
    if partner is None:
        raise PermissionDenied(_("This page is for the contacts of partner units."))
    return partner


# --- Partner units ----------------------------------------------------------------------------


@login_required
def partner_list(request):
    """The partner units the user co-builds with (all of them for the district)."""
    qs = partners_visible_to(request.user).annotate(
        offered=Count("resources", filter=Q(resources__status=Resource.Status.AVAILABLE))
    )
    filters = [("kind", _("Type"), Partner.Kind.choices)]
    return render(
        request,
        "alliance/partner_list.html",
        {
            **filtered_page(request, qs, filters, order_by=("name", "pk")),
            "own": partner_of(request.user),
            "tab": "partners",
        },
    )


def partner_detail(request, pk):
    """A unit's public profile: introduction, address, the branches and grids it
    co-builds with, its agreements' terms and commitments, and what it offers.
    Contacts (phones masked) and the signed files only for insiders."""
    partner = get_object_or_404(Partner, pk=pk)
    user = request.user
    insider = is_insider(user, partner)
    own = getattr(user, "is_authenticated", False) and partner_of(user) == partner
    resources = partner.resources.order_by("-created_at", "-id")
    if not own:
        resources = resources.exclude(status=Resource.Status.WITHDRAWN)
    contacts = []
    if insider:
        contacts = [
            {"name": c.name, "title": c.title, "phone": mask_phone(c.phone)}
            for c in partner.contacts.all()[:MAX_ROWS]
        ]
    today = timezone.localdate()
    agreements = list(Agreement.objects.filter(partner=partner)[:MAX_ROWS])
    for agreement in agreements:
        agreement.current = agreement.starts_on <= today <= agreement.ends_on
    return render(
        request,
        "alliance/partner_detail.html",
        {
            "partner": partner,
            "branches": partner.branches.order_by("path")[:MAX_ROWS],
            "grids": partner.grids.order_by("path")[:MAX_ROWS],
            "agreements": agreements,
            "resources": resources[:MAX_ROWS],
            "contacts": contacts,
            "insider": insider,
            "own": own,
            "tab": "partners",
        },
    )


@login_required
def agreement_file(request, pk):
    """A signed agreement, for the unit's insiders only (``is_insider``, the
    rule the unit's page shows the link by); a 404 for everyone else."""
    agreement = get_object_or_404(
        Agreement.objects.select_related("partner").exclude(signed_file=""), pk=pk
    )
    if not is_insider(request.user, agreement.partner):
        raise Http404
    return private_file_response(agreement.signed_file, download_name=f"agreement-{agreement.pk}")


@login_required
def my_unit(request):
    """A partner contact's own unit: its profile and its resources."""
    partner = _own_partner(request)
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.partner_profile_update(
                    partner=partner,
                    by=request.user,
                    intro=form.cleaned_data["intro"],
                    address=form.cleaned_data["address"],
                )
            except ValidationError as error:
                errors_onto(form, error)
            else:
                messages.success(request, _("Your unit's profile has been saved."))
                return redirect("alliance_my_unit")
    else:
        form = ProfileForm(initial={"intro": partner.intro, "address": partner.address})
    return render(
        request,
        "alliance/partner_my_unit.html",
        {
            "partner": partner,
            "form": form,
            "resources": partner.resources.order_by("-created_at", "-id")[:MAX_ROWS],
            "tab": "my_unit",
            "own": partner,
        },
    )


def _resource_form_page(request, partner, form, resource=None, status=200):
    return render(
        request,
        "alliance/partner_resource_form.html",
        {"partner": partner, "form": form, "resource": resource, "tab": "my_unit", "own": partner},
        status=status,
    )


def _save_resource(request, partner, resource=None):
    form = ResourceForm(request.POST)
    if form.is_valid():
        try:
            services.resource_save(
                by=request.user, partner=partner, resource=resource, **form.cleaned_data
            )
        except ValidationError as error:
            errors_onto(form, error)
        else:
            messages.success(request, _("The resource has been saved."))
            return redirect("alliance_my_unit")
    return _resource_form_page(request, partner, form, resource)


@login_required
def resource_new(request):
    partner = _own_partner(request)
    if request.method == "POST":
        return _save_resource(request, partner)
    return _resource_form_page(request, partner, ResourceForm())


@login_required
def resource_edit(request, pk):
    """Change one of the unit's resources; another unit's is a 403."""
    partner = _own_partner(request)
    resource = get_object_or_404(Resource, pk=pk)
    if resource.partner_id != partner.pk:
        raise PermissionDenied(_("You may change only your own unit."))
    if request.method == "POST":
        return _save_resource(request, partner, resource)
    form = ResourceForm(
        initial={
            field: getattr(resource, field)
            for field in (
                "title",
                "kind",
                "description",
                "quantity",
                "unit",
                "available_from",
                "available_until",
            )
        }
    )
    return _resource_form_page(request, partner, form, resource)


@post_action("alliance_my_unit")
def resource_withdraw(request, pk):
    resource = get_object_or_404(Resource, pk=pk)
    services.resource_withdraw(resource=resource, by=request.user)
    messages.success(request, _("The resource has been withdrawn."))
    return redirect("alliance_my_unit")
