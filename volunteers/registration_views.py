"""A member's own community registration (双报到) from a phone: register with the
branch where they live, see the decision, withdraw, and download the slip."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from branches.models import GridBranchPage
from portal.masking import mask_address
from portal.roles import member_of
from volunteers import registration as services
from volunteers.models import CommunityRegistration
from volunteers.pdf import registration_slip_pdf

MAX_BRANCHES = 20


def live_branches_named(query: str):
    """At most ``MAX_BRANCHES`` live branches whose name contains ``query``."""
    query = (query or "").strip()
    if not query:
        return []
    return list(
        GridBranchPage.objects.live()
        .filter(title__icontains=query)
        .order_by("title", "pk")
        .only("pk", "title", "area")[:MAX_BRANCHES]
    )


class RegistrationForm(forms.Form):
    branch_name = forms.CharField(
        label=gettext_lazy("Community party branch"),
        max_length=255,
        help_text=gettext_lazy(
            "Type part of the name of the branch where you live, then choose it from the list."
        ),
        error_messages={"required": gettext_lazy("Type the name of the branch where you live.")},
    )
    # Set when the member picks one of the branches listed below the name field.
    branch = forms.IntegerField(required=False, widget=forms.HiddenInput)
    employer = forms.CharField(
        label=gettext_lazy("Employer unit"),
        max_length=services.EMPLOYER_MAX,
        error_messages={"required": gettext_lazy("Give your employer unit.")},
    )
    address = forms.CharField(
        label=gettext_lazy("Home address"),
        max_length=services.ADDRESS_MAX,
        help_text=gettext_lazy(
            "Stored encrypted; only your branch's secretary sees it, and it is shown masked."
        ),
        error_messages={"required": gettext_lazy("Give your home address in this community.")},
    )
    skills = forms.CharField(
        label=gettext_lazy("What I can offer"),
        max_length=services.SKILLS_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For example: tutoring, legal advice, first aid, weekends free."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.candidates = []
        self.chosen = None

    def clean(self):
        cleaned = super().clean()
        name = (cleaned.get("branch_name") or "").strip()
        picked = cleaned.get("branch")
        if picked:
            # The picked branch counts unless the name was changed to another one since.
            branch = GridBranchPage.objects.live().filter(pk=picked).first()
            if branch is not None and (not name or name in branch.title):
                self.chosen = branch
        if self.chosen is None and name:
            exact = list(GridBranchPage.objects.live().filter(title=name)[:2])
            if len(exact) == 1:
                self.chosen = exact[0]
        if self.chosen is not None:
            cleaned["branch_name"] = self.chosen.title
            return cleaned
        if name:
            self.candidates = live_branches_named(name)
            if self.candidates:
                self.add_error("branch_name", _("Choose your branch from the list below the name."))
            else:
                self.add_error(
                    "branch_name",
                    _("No party branch has “%(name)s” in its name. Try fewer characters.")
                    % {"name": name},
                )
        return cleaned


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
    registration = services.registration_open_for(member)
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
