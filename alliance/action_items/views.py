"""Action items on the site: an item's page (facts, the progress timeline, the
progress form with evidence for those who answer for it, and for the staff
turning it into a service request or a project), its evidence files, and the
follow-up board (督办台账).

Every write is a service in ``alliance.action_items.services``; a refusal
comes back as a message (ValidationError) or a 403 (PermissionDenied). An item
the viewer may not see is a 404."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from alliance.access import actions_updatable_by, alliances_run_by, can_run, partner_of
from alliance.action_items import services
from alliance.action_items.board import BOARD_GROUPS, followup_board
from alliance.action_items.forms import ProgressForm, ToRequestForm
from alliance.action_items.selectors import is_live
from alliance.meetings.rules import is_invited
from alliance.models import ActionItem, ActionProgress, Alliance
from alliance.names import person_name
from portal.listing import ChoiceFilter
from portal.uploads import private_file_response
from volunteers.dispatch.selectors import recordable_grids

BOARD_PER_PAGE = 50
MAX_ROWS = 200  # progress entries and alliances listed on one page


def _visible_action(request, pk) -> ActionItem:
    """The action item if the user may see it: they may update it, they run its
    meeting, or they were invited and its minutes are published."""
    action = get_object_or_404(
        ActionItem.objects.select_related(
            "meeting__alliance", "meeting__minutes", "agenda_item", "owner_partner",
            "owner_branch", "owner__partner_contact", "owner__member", "service_request",
            "project",
        ),
        pk=pk,
    )  # fmt: skip
    user = request.user
    if actions_updatable_by(user, ActionItem.objects.filter(pk=pk)).exists():
        return action
    if can_run(user, action.meeting):
        return action
    if is_invited(user, action.meeting) and is_live(action):
        return action
    raise Http404


def _action_context(request, action, *, progress_form=None, request_form=None):
    user = request.user
    live = is_live(action)
    is_open = action.status == ActionItem.Status.OPEN
    may_update = (
        live
        and is_open
        and actions_updatable_by(user, ActionItem.objects.filter(pk=action.pk)).exists()
    )
    staff = can_run(user, action.meeting)
    may_convert = staff and live and is_open
    progress = list(
        action.progress.select_related("author__partner_contact", "author__member").order_by(
            "-created_at", "-id"
        )[:MAX_ROWS]
    )
    for entry in progress:
        entry.author_name = person_name(entry.author)
    grids = recordable_grids(user)[0] if may_convert and not action.service_request_id else []
    if may_convert and request_form is None and grids:
        start = timezone.localtime().replace(minute=0, second=0, microsecond=0) + dt.timedelta(
            hours=2
        )
        initial = {"window_start": start, "window_end": start + dt.timedelta(hours=2)}
        branch_grid = action.owner_branch.get_parent() if action.owner_branch_id else None
        if branch_grid is not None and str(branch_grid.pk) in {str(g.pk) for g in grids}:
            initial["grid"] = str(branch_grid.pk)
        request_form = ToRequestForm(initial=initial, grids=grids)
    today = timezone.localdate()
    return {
        "action": action,
        "meeting": action.meeting,
        "owner_name": person_name(action.owner),
        "live": live,
        "overdue": live and is_open and action.due_on < today,
        "progress": progress,
        "may_update": may_update,
        "may_convert": may_convert,
        "progress_form": progress_form or (ProgressForm(label_suffix="") if may_update else None),
        "request_form": request_form if grids else None,
        "may_see_request": action.service_request_id
        and (staff or action.service_request.created_by_id == user.pk),
    }


@never_cache
@login_required
def action_detail(request, pk):
    """An action item: facts, the progress timeline and, for those who may
    update it, the progress form (with evidence); conversion for the staff."""
    action = _visible_action(request, pk)
    form, status = None, 200
    if request.method == "POST":
        form = ProgressForm(request.POST, request.FILES, label_suffix="")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.action_progress(
                    action=action, by=request.user, note=data["note"],
                    evidence=data["evidence"] or None, done=data["done"],
                )  # fmt: skip
            except ValidationError as error:
                form.add_error(None, error.messages)
                status = 400
            else:
                messages.success(
                    request,
                    _("The item is closed as done.") if data["done"] else _("Progress recorded."),
                )
                return redirect("alliance_action", pk=action.pk)
        else:
            status = 400
    return render(
        request,
        "alliance/action_detail.html",
        _action_context(request, action, progress_form=form),
        status=status,
    )


@require_POST
@login_required
def action_request(request, pk):
    action = _visible_action(request, pk)
    grids, _more = recordable_grids(request.user)
    form = ToRequestForm(request.POST, grids=grids)
    if form.is_valid():
        try:
            created = services.action_to_request(
                action=action, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _("The service request has been recorded."))
            return redirect("request_detail", pk=created.pk)
    context = _action_context(request, action, request_form=form)
    return render(request, "alliance/action_detail.html", context, status=400)


@require_POST
@login_required
def action_project(request, pk):
    action = _visible_action(request, pk)
    try:
        project = services.action_to_project(
            action=action, by=request.user, need_title=request.POST.get("need_title", "")
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("The project “%(title)s” has been created.") % {"title": project.title}
        )
    return redirect("alliance_action", pk=action.pk)


@login_required
def action_evidence(request, pk):
    """An evidence file, to those who may see its action item (not a public link)."""
    progress = get_object_or_404(ActionProgress.objects.exclude(evidence=""), pk=pk)
    _visible_action(request, progress.action_id)
    return private_file_response(progress.evidence, download_name=f"evidence-{progress.pk}")


# --- The follow-up board ----------------------------------------------------------------------


def _board_alliances(user):
    partner = partner_of(user)
    q = Q(pk__in=alliances_run_by(user).values("pk")) | Q(meetings__convener=user)
    if partner is not None:
        q |= Q(partners=partner)
    return Alliance.objects.filter(q).distinct().order_by("name")[:MAX_ROWS]


def _page_url(request, param, number):
    query = request.GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"


@never_cache
@login_required
def followup(request):
    """The follow-up board (督办台账): overdue, due soon, open and recently done
    action items the user follows, by owner unit; 50 per group and page."""
    alliances = list(_board_alliances(request.user))
    alliance = None
    if request.GET.get("alliance", "").isdigit():
        alliance = next((a for a in alliances if a.pk == int(request.GET["alliance"])), None)
    board = followup_board(user=request.user, alliance=alliance)
    today = timezone.localdate()
    titles = {
        "overdue": _("Overdue"),
        "due_soon": _("Due within 7 days"),
        "open": _("Open, due later"),
        "done": _("Done in the last 30 days"),
    }
    groups = []
    for key in BOARD_GROUPS:
        param = f"{key}_page"
        page = Paginator(board[key], BOARD_PER_PAGE).get_page(request.GET.get(param))
        page.object_list = list(page.object_list)
        groups.append(
            {
                "key": key,
                "title": titles[key],
                "page": page,
                "previous": _page_url(request, param, page.previous_page_number())
                if page.has_previous()
                else "",
                "next": _page_url(request, param, page.next_page_number())
                if page.has_next()
                else "",
            }
        )
    choices = [(str(a.pk), a.name) for a in alliances]
    chosen = str(alliance.pk) if alliance else ""
    return render(
        request,
        "alliance/followup.html",
        {
            "groups": groups,
            "alliances": alliances,
            "alliance": alliance,
            "today": today,
            "filters": [ChoiceFilter("alliance", _("Alliance"), choices, chosen)],
        },
    )
