"""The three lists on the site (三张清单, phone first): needs, resources and
projects, each filtered and paged. Secretaries and grid workers raise needs
(optionally from a resident's service request); a need's page suggests
resources through the search index, and confirming a match makes a project,
whose people add milestones and move it on.

Every write is a service in ``alliance.lists.services``: a refusal comes back
as a message (ValidationError) or a 403 (PermissionDenied)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.access import partner_of
from alliance.lists import selectors, services
from alliance.lists.forms import MilestoneForm, MilestoneRows, NeedForm
from alliance.models import Kind, Milestone, Need, Project, Resource
from alliance.web import post_action
from portal.forms import errors_onto
from portal.listing import filtered_page
from portal.names import person_name
from portal.roles import visible_to
from volunteers.dispatch.selectors import recordable_grids
from volunteers.models import ServiceRequest

# The most branches the need form lists (a district has hundreds).
MAX_BRANCHES = 300
# Rows shown on one page of a project (each list has a handful).
MAX_ROWS = 100
# A resident's request category → the kind of need it most likely is.
CATEGORY_KINDS = {
    ServiceRequest.Category.ELDERLY: Kind.VOLUNTEERS,
    ServiceRequest.Category.ENVIRONMENT: Kind.VOLUNTEERS,
    ServiceRequest.Category.EMERGENCY: Kind.GOODS,
    ServiceRequest.Category.PAPERWORK: Kind.EXPERTISE,
    ServiceRequest.Category.MEDIATION: Kind.EXPERTISE,
}


# --- Needs ------------------------------------------------------------------------------------


@login_required
def need_list(request):
    """The needs the user may see, newest first, by state and type."""
    qs = selectors.needs_visible_to(request.user).select_related("branch", "grid")
    filters = [("status", _("State"), Need.Status.choices), ("kind", _("Type"), Kind.choices)]
    return render(
        request,
        "alliance/lists_needs.html",
        {
            **filtered_page(request, qs, filters),
            "may_raise": selectors.raisable_branches(request.user).exists(),
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
    branches = list(selectors.raisable_branches(request.user)[:MAX_BRANCHES])
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
        selectors.needs_visible_to(request.user).select_related(
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
    runs = selectors.runs_branch(user, need.branch)
    partner = partner_of(user)
    suggestions = []
    if need.status == Need.Status.OPEN and (runs or partner is not None):
        suggestions = selectors.resource_suggestions(need=need, user=user)
        for resource in suggestions:
            resource.confirmable = runs or (
                partner is not None and resource.partner_id == partner.pk
            )
    projects = selectors.projects_visible_to(user, need.projects.select_related("owner__member"))
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


@post_action("alliance_need")
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
    qs = selectors.resources_listed_for(request.user).select_related("partner")
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
    qs = selectors.projects_visible_to(request.user).select_related("need__branch", "owner__member")
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
        selectors.projects_visible_to(request.user).select_related(
            "need__branch", "need__grid", "owner__member"
        ),
        pk=pk,
    )


@login_required
def project_detail(request, pk):
    project = _visible_project(request, pk)
    manage = selectors.can_manage_project(request.user, project)
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
                if value in selectors.PROJECT_TRANSITIONS[project.status]
            ]
            if manage
            else [],
            "live": project.status in selectors.LIVE_PROJECT,
            "milestone_form": MilestoneForm(prefix="milestone"),
            "own": partner_of(request.user),
            "tab": "projects",
        },
    )


@post_action("alliance_project")
def milestone_add(request, pk):
    project = _visible_project(request, pk)
    form = MilestoneForm(request.POST, prefix="milestone")
    if not form.is_valid():
        raise ValidationError(_("Give the milestone a title, and its due date as a date."))
    services.milestone_add(project=project, by=request.user, **form.cleaned_data)
    messages.success(request, _("The milestone has been added."))
    return redirect("alliance_project", pk=project.pk)


@post_action("alliance_project")
def milestone_done(request, pk, milestone_pk):
    project = _visible_project(request, pk)
    milestone = get_object_or_404(Milestone, pk=milestone_pk, project=project)
    services.milestone_done(milestone=milestone, by=request.user)
    messages.success(request, _("The milestone is marked done."))
    return redirect("alliance_project", pk=project.pk)


@post_action("alliance_project")
def project_status(request, pk):
    project = _visible_project(request, pk)
    services.project_status_set(
        project=project, by=request.user, status=request.POST.get("status", "")
    )
    messages.success(request, _("The project's state has been changed."))
    return redirect("alliance_project", pk=project.pk)
