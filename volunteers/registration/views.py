"""A member's own community registration (双报到) from a phone: register with the
branch where they live, see the decision, withdraw, and download the slip."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.masking import mask_address
from portal.roles import member_of
from volunteers.models import CommunityRegistration
from volunteers.registration import services
from volunteers.registration.forms import RegistrationForm
from volunteers.registration.pdf import registration_slip_pdf
from volunteers.registration.selectors import live_branches_named, registration_open_for


def _no_member(request):
    return render(request, "volunteers/registration_no_member.html")


@login_required
def my_registration(request):
    """The member's registration: the form when none is open, otherwise its status."""
    member = member_of(request.user)
    if member is None:
        return _no_member(request)
    latest = member.community_registrations.select_related("branch").first()
    is_open = latest is not None and latest.status in CommunityRegistration.OPEN
    form = None
    if not is_open:
        if request.method == "POST":
            form = RegistrationForm(request.POST)
            if form.is_valid():
                try:
                    services.registration_submit(
                        member=member,
                        branch=form.chosen,
                        employer=form.cleaned_data["employer"],
                        address=form.cleaned_data["address"],
                        skills=form.cleaned_data["skills"],
                    )
                except ValidationError as error:
                    if hasattr(error, "error_dict"):
                        for field, errors in error.error_dict.items():
                            form.add_error(
                                "branch_name" if field == "branch" else field,
                                errors,
                            )
                    else:
                        form.add_error(None, error)
                else:
                    messages.success(
                        request,
                        _("Your registration has been sent to the branch secretary for approval."),
                    )
                    return redirect("my_registration")
        else:
            initial = {"employer": member.employer}
            if latest is not None and latest.status == CommunityRegistration.Status.RETURNED:
                initial.update(
                    branch_name=latest.branch.title, employer=latest.employer, skills=latest.skills
                )
            form = RegistrationForm(initial=initial)
    return render(
        request,
        "volunteers/registration.html",
        {
            "member": member,
            "registration": latest,
            "is_open": is_open,
            "address_masked": mask_address(latest.address) if latest is not None else "",
            "record": latest.records.filter(year=timezone.localtime().year).first()
            if latest is not None
            else None,
            "form": form,
            "statuses": CommunityRegistration.Status,
        },
    )


@login_required
def registration_branches(request):
    """Live branches whose name contains ``q`` (at most 20), for the name field's list."""
    if member_of(request.user) is None:
        raise PermissionDenied
    branches = live_branches_named(request.GET.get("q", "")[:50])
    return JsonResponse({"results": [{"id": b.pk, "title": b.title} for b in branches]})


@require_POST
@login_required
def registration_withdraw(request):
    member = member_of(request.user)
    if member is None:
        return _no_member(request)
    registration = registration_open_for(member)
    if registration is None:
        messages.info(request, _("You have no open registration to withdraw."))
        return redirect("my_registration")
    try:
        services.registration_withdraw(registration=registration, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your registration has been withdrawn."))
    return redirect("my_registration")


def slip_response(registration: CommunityRegistration) -> HttpResponse:
    response = HttpResponse(registration_slip_pdf(registration), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="registration-slip-{registration.pk}.pdf"'
    )
    return response


@login_required
def registration_slip(request):
    """The printable slip (报到证) of the member's own approved registration."""
    member = member_of(request.user)
    if member is None:
        raise Http404
    registration = (
        CommunityRegistration.objects.filter(
            member=member, status=CommunityRegistration.Status.APPROVED
        )
        .select_related("branch", "member", "decided_by")
        .first()
    )
    if registration is None:
        raise Http404
    return slip_response(registration)
