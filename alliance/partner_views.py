"""Partner units, agreements and the three lists on the site (phone first).

Partner contacts keep their unit's profile and resources on /alliance/my-unit/;
secretaries and grid workers raise needs; a need's page suggests resources
through the search index, and confirming a match makes a project. Every write
is a service in ``alliance.partners``: a refusal comes back as a message
(ValidationError) or a 403 (PermissionDenied)."""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from alliance import partners as services
from alliance.access import partner_of
from alliance.models import Agreement, Kind, Milestone, Need, Partner, Project, Resource
from portal.forms import errors_onto
from portal.listing import filtered_page
from portal.masking import mask_phone
from portal.names import person_name
from portal.roles import visible_to
from portal.uploads import private_file_response
from volunteers.models import ServiceRequest
from volunteers.request_views import recordable_grids

# The most branches the need form lists (a district has hundreds).
MAX_BRANCHES = 300
# Rows shown on one page of a unit or project (each has a handful).
MAX_ROWS = 100
MILESTONE_ROWS = 3
# A resident's request category → the kind of need it most likely is.
CATEGORY_KINDS = {
    ServiceRequest.Category.ELDERLY: Kind.VOLUNTEERS,
    ServiceRequest.Category.ENVIRONMENT: Kind.VOLUNTEERS,
    ServiceRequest.Category.EMERGENCY: Kind.GOODS,
    ServiceRequest.Category.PAPERWORK: Kind.EXPERTISE,
    ServiceRequest.Category.MEDIATION: Kind.EXPERTISE,
}


# --- Forms ------------------------------------------------------------------------------------


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProfileForm(forms.Form):
    intro = forms.CharField(
        label=gettext_lazy("Introduction"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("What your unit does and how it co-builds with the community."),
    )
    address = forms.CharField(label=gettext_lazy("Address"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ResourceForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("What you offer"),
        max_length=120,
        help_text=gettext_lazy("In a few words, e.g. “Meeting room for 40 people”."),
        error_messages={"required": gettext_lazy("Say in a few words what you offer.")},
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Type"),
        choices=[("", "—"), *Kind.choices],
        error_messages={"required": gettext_lazy("Choose a type.")},
    )
    description = forms.CharField(
        label=gettext_lazy("Details"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity"),
        min_value=1,
        max_value=1_000_000,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": gettext_lazy("Give a quantity of at least 1."),
            "invalid": gettext_lazy("Give a quantity of at least 1."),
            "min_value": gettext_lazy("Give a quantity of at least 1."),
        },
    )
    unit = forms.CharField(
        label=gettext_lazy("Unit"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("e.g. people, hours, rooms, yuan"),
    )
    available_from = forms.DateField(
        label=gettext_lazy("Available from"), required=False, widget=_date_input()
    )
    available_until = forms.DateField(
        label=gettext_lazy("Available until"), required=False, widget=_date_input()
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class NeedForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("What is needed"),
        max_length=120,
        error_messages={"required": gettext_lazy("Say in a few words what is needed.")},
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Type"),
        choices=[("", "—"), *Kind.choices],
        error_messages={"required": gettext_lazy("Choose a type.")},
    )
    branch = forms.ChoiceField(
        label=gettext_lazy("Branch"),
        error_messages={
            "required": gettext_lazy("Choose the branch."),
            "invalid_choice": gettext_lazy("Choose one of the branches in the list."),
        },
    )
    grid = forms.ChoiceField(
        label=gettext_lazy("Grid"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Choose one of the grids in the list.")},
    )
    description = forms.CharField(
        label=gettext_lazy("Details"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, branches=(), grids=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.branches = {str(b.pk): b for b in branches}
        self.grids = {str(g.pk): g for g in grids}
        choices = [(str(b.pk), b.title) for b in branches]
        self.fields["branch"].choices = choices if len(choices) == 1 else [("", "—"), *choices]
        top = min((g.depth for g in grids), default=0)
        self.fields["grid"].choices = [
            ("", "—"),
            *((str(g.pk), "　" * (g.depth - top) + g.title) for g in grids),
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("branch"):
            cleaned["branch"] = self.branches[cleaned["branch"]]
        cleaned["grid"] = self.grids.get(cleaned.get("grid") or "")
        return cleaned


class MilestoneForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Milestone"), max_length=120)
    due_on = forms.DateField(label=gettext_lazy("Due on"), required=False, widget=_date_input())

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


MilestoneRows = forms.formset_factory(MilestoneForm, extra=MILESTONE_ROWS, max_num=MILESTONE_ROWS)


def _action(back: str):
    """A POST by a signed-in user: a refusal (ValidationError) becomes a message
    and the user goes back to ``back`` (a URL name, taking the view's ``pk``
    unless it is the unit's page); PermissionDenied is a 403."""

    def decorate(view):
        @require_POST
        @login_required
        @wraps(view)
        def wrapper(request, pk, **kwargs):
            try:
                return view(request, pk, **kwargs)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect(back) if back == "alliance_my_unit" else redirect(back, pk=pk)

        return wrapper

    return decorate


def _own_partner(request) -> Partner:
    partner = partner_of(request.user)
    if partner is None:
        raise PermissionDenied(_("This page is for the contacts of partner units."))
    return partner


# --- Partner units ----------------------------------------------------------------------------


@login_required
def partner_list(request):
    """The partner units the user co-builds with (all of them for the district)."""
    qs = services.partners_visible_to(request.user).annotate(
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
    insider = services.is_insider(user, partner)
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
    if not services.is_insider(request.user, agreement.partner):
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


@_action("alliance_my_unit")
def resource_withdraw(request, pk):
    resource = get_object_or_404(Resource, pk=pk)
    services.resource_withdraw(resource=resource, by=request.user)
    messages.success(request, _("The resource has been withdrawn."))
    return redirect("alliance_my_unit")


# --- Needs ------------------------------------------------------------------------------------


@login_required
def need_list(request):
    """The needs the user may see, newest first, by state and type."""
    qs = services.needs_visible_to(request.user).select_related("branch", "grid")
    filters = [("status", _("State"), Need.Status.choices), ("kind", _("Type"), Kind.choices)]
    return render(
        request,
        "alliance/lists_needs.html",
        {
            **filtered_page(request, qs, filters),
            "may_raise": services.raisable_branches(request.user).exists(),
            "own": partner_of(request.user),
            "tab": "needs",
        },
    )


def _source_request(request, value):
    """The resident's request a need is raised from (only one the user may see)."""
    if not value or not str(value).isdigit():
        return None
    qs = visible_to(request.user, ServiceRequest.objects.select_related("grid", "branch"))
    return qs.filter(pk=value).first()


@login_required
def need_new(request):
    """Raise a need of a branch in the user's scope, optionally from a request."""
    branches = list(services.raisable_branches(request.user)[:MAX_BRANCHES])
    if not branches:
        raise PermissionDenied(_("Only branch secretaries and grid workers raise needs."))
    grids, _more = recordable_grids(request.user)
    source = _source_request(request, request.POST.get("request") or request.GET.get("request"))
    if source is not None and source.grid_id not in {g.pk for g in grids}:
        grids = [source.grid, *grids]
    if request.method == "POST":
        form = NeedForm(request.POST, branches=branches, grids=grids)
        if form.is_valid():
            try:
                need = services.need_raise(
                    by=request.user, service_request=source, **form.cleaned_data
                )
            except ValidationError as error:
                errors_onto(form, error)
            else:
                messages.success(request, _("The need has been raised."))
                return redirect("alliance_need", pk=need.pk)
    else:
        initial = {}
        if source is not None:
            initial = {
                "title": source.title,
                "description": source.description,
                "kind": CATEGORY_KINDS.get(source.category, Kind.OTHER),
                "branch": str(source.branch_id),
                "grid": str(source.grid_id),
            }
        form = NeedForm(initial=initial, branches=branches, grids=grids)
    return render(
        request,
        "alliance/lists_need_form.html",
        {"form": form, "source": source, "tab": "needs"},
    )


def _visible_need(request, pk) -> Need:
    return get_object_or_404(
        services.needs_visible_to(request.user).select_related(
            "branch", "grid", "service_request", "raised_by__member"
        ),
        pk=pk,
    )


@login_required
def need_detail(request, pk):
    """A need, its projects, and (while open) the suggested resources: the
    secretary of its branch may confirm any of them, a partner contact their
    own unit's."""
    need = _visible_need(request, pk)
    user = request.user
    runs = services.runs_branch(user, need.branch)
    partner = partner_of(user)
    suggestions = []
    if need.status == Need.Status.OPEN and (runs or partner is not None):
        suggestions = services.resource_suggestions(need=need, user=user)
        for resource in suggestions:
            resource.confirmable = runs or (
                partner is not None and resource.partner_id == partner.pk
            )
    projects = services.projects_visible_to(user, need.projects.select_related("owner__member"))
    return render(
        request,
        "alliance/lists_need_detail.html",
        {
            "need": need,
            "suggestions": suggestions,
            "can_confirm": any(getattr(r, "confirmable", False) for r in suggestions),
            "projects": projects.order_by("-created_at")[:MAX_ROWS],
            "milestones": MilestoneRows(prefix="milestones"),
            "raised_by": person_name(need.raised_by),
            "own": partner,
            "tab": "needs",
        },
    )


@_action("alliance_need")
def need_match(request, pk):
    """Confirm the chosen resources for a need: a project with its first milestones."""
    need = _visible_need(request, pk)
    ids = [int(v) for v in request.POST.getlist("resource") if v.isdigit()]
    resources = list(Resource.objects.filter(pk__in=ids))
    if not resources:
        raise ValidationError(_("Choose at least one resource."))
    rows = MilestoneRows(request.POST, prefix="milestones")
    if not rows.is_valid():
        raise ValidationError(_("Give each milestone a title, and its due date as a date."))
    with transaction.atomic():
        project = services.match_confirm(
            need=need, resources=resources, by=request.user, title=request.POST.get("title")
        )
        for row in rows.cleaned_data:
            if row.get("title"):
                services.milestone_add(
                    project=project, by=request.user, title=row["title"], due_on=row.get("due_on")
                )
    messages.success(request, _("The match is confirmed: a project has been planned."))
    return redirect("alliance_project", pk=project.pk)


# --- Resources and projects -------------------------------------------------------------------


@login_required
def resource_list(request):
    """What the partner units offer, newest first, by type and state."""
    qs = services.resources_listed_for(request.user).select_related("partner")
    filters = [("status", _("State"), Resource.Status.choices), ("kind", _("Type"), Kind.choices)]
    return render(
        request,
        "alliance/lists_resources.html",
        {
            **filtered_page(request, qs, filters),
            "own": partner_of(request.user),
            "tab": "resources",
        },
    )


@login_required
def project_list(request):
    qs = services.projects_visible_to(request.user).select_related("need__branch", "owner__member")
    qs = qs.annotate(
        milestone_count=Count("milestones", distinct=True),
        milestones_done=Count(
            "milestones", filter=Q(milestones__done_on__isnull=False), distinct=True
        ),
    )
    return render(
        request,
        "alliance/lists_projects.html",
        {
            **filtered_page(request, qs, [("status", _("State"), Project.Status.choices)]),
            "own": partner_of(request.user),
            "tab": "projects",
        },
    )


def _visible_project(request, pk) -> Project:
    return get_object_or_404(
        services.projects_visible_to(request.user).select_related(
            "need__branch", "need__grid", "owner__member"
        ),
        pk=pk,
    )


@login_required
def project_detail(request, pk):
    project = _visible_project(request, pk)
    manage = services.can_manage_project(request.user, project)
    today = timezone.localdate()
    milestones = list(project.milestones.order_by("sort_order", "id")[:MAX_ROWS])
    for milestone in milestones:
        milestone.overdue = (
            milestone.done_on is None and milestone.due_on is not None and milestone.due_on < today
        )
    resources = Resource.objects.filter(project=project).select_related("partner")
    return render(
        request,
        "alliance/lists_project_detail.html",
        {
            "project": project,
            "milestones": milestones,
            "resources": resources[:MAX_ROWS],
            "owner": person_name(project.owner),
            "manage": manage,
            "next_statuses": [
                (value, label)
                for value, label in Project.Status.choices
                if value in services.PROJECT_TRANSITIONS[project.status]
            ]
            if manage
            else [],
            "live": project.status in services.LIVE_PROJECT,
            "milestone_form": MilestoneForm(prefix="milestone"),
            "own": partner_of(request.user),
            "tab": "projects",
        },
    )


@_action("alliance_project")
def milestone_add(request, pk):
    project = _visible_project(request, pk)
    form = MilestoneForm(request.POST, prefix="milestone")
    if not form.is_valid():
        raise ValidationError(_("Give the milestone a title, and its due date as a date."))
    services.milestone_add(project=project, by=request.user, **form.cleaned_data)
    messages.success(request, _("The milestone has been added."))
    return redirect("alliance_project", pk=project.pk)


@_action("alliance_project")
def milestone_done(request, pk, milestone_pk):
    project = _visible_project(request, pk)
    milestone = get_object_or_404(Milestone, pk=milestone_pk, project=project)
    services.milestone_done(milestone=milestone, by=request.user)
    messages.success(request, _("The milestone is marked done."))
    return redirect("alliance_project", pk=project.pk)


@_action("alliance_project")
def project_status(request, pk):
    project = _visible_project(request, pk)
    services.project_status_set(
        project=project, by=request.user, status=request.POST.get("status", "")
    )
    messages.success(request, _("The project's state has been changed."))
    return redirect("alliance_project", pk=project.pk)


urlpatterns = [
    path("partners/", partner_list, name="alliance_partners"),
    path("partners/<int:pk>/", partner_detail, name="alliance_partner"),
    path("agreements/<int:pk>/signed/", agreement_file, name="alliance_agreement_file"),
    path("my-unit/", my_unit, name="alliance_my_unit"),
    path("my-unit/resources/new/", resource_new, name="alliance_resource_new"),
    path("my-unit/resources/<int:pk>/", resource_edit, name="alliance_resource_edit"),
    path(
        "my-unit/resources/<int:pk>/withdraw/",
        resource_withdraw,
        name="alliance_resource_withdraw",
    ),
    path("needs/", need_list, name="alliance_needs"),
    path("needs/new/", need_new, name="alliance_need_new"),
    path("needs/<int:pk>/", need_detail, name="alliance_need"),
    path("needs/<int:pk>/match/", need_match, name="alliance_need_match"),
    path("resources/", resource_list, name="alliance_resources"),
    path("projects/", project_list, name="alliance_projects"),
    path("projects/<int:pk>/", project_detail, name="alliance_project"),
    path("projects/<int:pk>/milestones/", milestone_add, name="alliance_milestone_add"),
    path(
        "projects/<int:pk>/milestones/<int:milestone_pk>/done/",
        milestone_done,
        name="alliance_milestone_done",
    ),
    path("projects/<int:pk>/status/", project_status, name="alliance_project_status"),
]
