"""Minutes and action items on the site: drafting, comments, approval, the
printed minutes and agenda, action item progress and the follow-up board.

Phone-first pages; every write is a service in ``alliance.minutes``, whose
refusals come back as a message (ValidationError) or a 403 (PermissionDenied).
Partners see the minutes of meetings they were invited to, once circulated;
drafts are the staff's."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from alliance import minutes as svc
from alliance.access import (
    actions_updatable_by,
    alliances_run_by,
    can_run,
    joint_meetings_visible_to,
    partner_of,
)
from alliance.followup import BOARD_GROUPS, followup_board
from alliance.meetings import person_name
from alliance.models import (
    ActionItem,
    ActionProgress,
    AgendaItem,
    Alliance,
    JointMeeting,
    Minutes,
    MinutesComment,
    MinutesVersion,
)
from alliance.pdf import agenda_pdf, minutes_pdf
from portal import uploads
from portal.forms import LocalDateTimeInput
from portal.uploads import UploadField, private_file_response
from volunteers.models import ServiceRequest
from volunteers.request_views import recordable_grids

State = Minutes.State
# Blank action rows offered per agenda item in the editor.
NEW_ROWS = 2
BOARD_PER_PAGE = 50
MAX_ROWS = 200  # comments and progress entries listed on one page

TRANSITIONS = {
    svc.CIRCULATE: (svc.minutes_circulate, gettext_lazy("The minutes are out for comments.")),
    svc.REVISE: (svc.minutes_revise, gettext_lazy("The minutes are back in draft for revision.")),
    svc.APPROVE: (svc.minutes_approve, gettext_lazy("The minutes are approved.")),
    svc.PUBLISH: (
        svc.minutes_publish,
        gettext_lazy("The minutes are published; the action items are live."),
    ),
}
BUTTONS = {
    svc.CIRCULATE: gettext_lazy("Circulate for comments"),
    svc.REVISE: gettext_lazy("Back to draft to revise"),
    svc.APPROVE: gettext_lazy("Approve the minutes"),
    svc.PUBLISH: gettext_lazy("Publish"),
}


def _meeting(request, meeting_id) -> JointMeeting:
    qs = joint_meetings_visible_to(request.user).select_related("alliance", "convener")
    return get_object_or_404(qs, pk=meeting_id)


def _minutes(meeting) -> Minutes | None:
    return Minutes.objects.filter(meeting=meeting).first()


def _messages_of(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [m for messages_ in error.message_dict.values() for m in messages_]
    return error.messages


# --- The minutes page -------------------------------------------------------------------------


def _people_choices(meeting):
    people = svc.owner_people(meeting).select_related("partner_contact", "member")
    return [(str(u.pk), person_name(u)) for u in people[:MAX_ROWS]]


def _unit_choices(meeting):
    partners, branches = svc.owner_units(meeting)
    return [(f"p{p.pk}", p.name) for p in partners] + [(f"b{b.pk}", b.title) for b in branches]


def _row(prefix, *, action=None, data=None, errors=None):
    """One action row of the editor, from the database or from what was posted."""
    if data is not None:
        get = lambda name: data.get(f"{prefix}-{name}", "")  # noqa: E731
        return {
            "prefix": prefix,
            "id": action.pk if action else None,
            "title": get("title"),
            "unit": get("unit"),
            "owner": get("owner"),
            "due_on": get("due_on"),
            "expected_result": get("expected_result"),
            "delete": bool(get("delete")),
            "errors": errors or [],
        }
    unit = ""
    if action is not None:
        unit = (
            f"p{action.owner_partner_id}"
            if action.owner_partner_id
            else f"b{action.owner_branch_id}"
        )
    return {
        "prefix": prefix,
        "id": action.pk if action else None,
        "title": action.title if action else "",
        "unit": unit,
        "owner": str(action.owner_id or "") if action else "",
        "due_on": action.due_on.isoformat() if action else "",
        "expected_result": action.expected_result if action else "",
        "delete": False,
        "errors": errors or [],
    }


def _editor_rows(minutes, data=None, errors=None, comments=None):
    """Per agenda item: the entry and its action rows (existing + blank)."""
    errors = errors or {}
    actions = {}
    for action in ActionItem.objects.filter(meeting_id=minutes.meeting_id).order_by("due_on", "id"):
        actions.setdefault(action.agenda_item_id, []).append(action)
    rows = []
    for entry in minutes.entries.select_related("agenda_item"):
        item = entry.agenda_item
        existing = [
            _row(f"action-{a.pk}", action=a, data=data, errors=errors.get(f"action-{a.pk}"))
            for a in actions.get(item.pk, [])
        ]
        blank = [
            _row(f"new-{item.pk}-{n}", data=data, errors=errors.get(f"new-{item.pk}-{n}"))
            for n in range(NEW_ROWS)
        ]
        rows.append(
            {
                "entry": entry,
                "item": item,
                "discussion": data.get(f"discussion-{item.pk}", "") if data else entry.discussion,
                "resolutions": data.get(f"resolutions-{item.pk}", "")
                if data
                else entry.resolutions,
                "actions": existing,
                "new_actions": blank,
                "open_new": any(r["title"] or r["errors"] for r in blank),
                "comments": (comments or {}).get(item.pk, []),
            }
        )
    return rows


def _posted_action(data, prefix, **extra) -> dict:
    unit = data.get(f"{prefix}-unit", "")
    return {
        "key": prefix,
        "title": data.get(f"{prefix}-title", ""),
        "owner_partner": unit[1:] if unit.startswith("p") else None,
        "owner_branch": unit[1:] if unit.startswith("b") else None,
        "owner": data.get(f"{prefix}-owner") or None,
        "due_on": data.get(f"{prefix}-due_on", ""),
        "expected_result": data.get(f"{prefix}-expected_result", ""),
        "delete": bool(data.get(f"{prefix}-delete")),
        **extra,
    }


def _parse_editor(minutes, data):
    """The ``minutes_save`` arguments from the posted editor."""
    entries, actions = {}, []
    item_ids = list(minutes.entries.values_list("agenda_item_id", flat=True))
    for item_id in item_ids:
        entries[item_id] = {
            "discussion": data.get(f"discussion-{item_id}", ""),
            "resolutions": data.get(f"resolutions-{item_id}", ""),
        }
    for action_id in ActionItem.objects.filter(meeting_id=minutes.meeting_id).values_list(
        "pk", flat=True
    ):
        if f"action-{action_id}-title" in data:
            actions.append(_posted_action(data, f"action-{action_id}", id=action_id))
    for item_id in item_ids:
        for n in range(NEW_ROWS):
            prefix = f"new-{item_id}-{n}"
            fields = ("title", "unit", "owner", "due_on", "expected_result")
            if any(data.get(f"{prefix}-{f}", "").strip() for f in fields):
                actions.append(_posted_action(data, prefix, agenda_item=item_id))
    return {"summary": data.get("summary", ""), "entries": entries, "actions": actions}


def _read_rows(content, comments):
    """Per item of a version's content, with its comments, for the read-only view."""
    return [
        {**item, "comments": comments.get(item["agenda_item"], [])}
        for item in content.get("items", [])
    ]


def _comments_by_item(minutes):
    comments = {}
    qs = (
        MinutesComment.objects.filter(minutes=minutes)
        .select_related("author__partner_contact", "author__member")
        .order_by("created_at", "id")[:MAX_ROWS]
    )
    for comment in qs:
        comment.author_name = person_name(comment.author)
        comments.setdefault(comment.agenda_item_id, []).append(comment)
    return comments


def _versions(minutes, staff):
    qs = minutes.versions.select_related("author__partner_contact", "author__member")
    if not staff:
        qs = qs.exclude(state=State.DRAFT)
    versions = list(qs.order_by("-number")[:MAX_ROWS])
    for version in versions:
        version.author_name = person_name(version.author)
    return versions


STEPS = [State.DRAFT, State.CIRCULATED, State.APPROVED, State.PUBLISHED]


def _state_steps(minutes):
    current = STEPS.index(minutes.state)
    return [
        {"label": State(s).label, "current": i == current, "done": i < current}
        for i, s in enumerate(STEPS)
    ]


@never_cache
@login_required
def minutes_page(request, meeting_id):
    """The minutes of a meeting: the structured editor for the staff while in
    draft, otherwise the minutes with comments per item; the state bar with the
    actions the user may take, and the versions."""
    meeting = _meeting(request, meeting_id)
    minutes = _minutes(meeting)
    staff = can_run(request.user, meeting)
    if not svc.may_read(request.user, minutes, meeting):
        revising = minutes is not None and minutes.versions.exclude(state=State.DRAFT).exists()
        return render(
            request,
            "alliance/minutes_pending.html",
            {"meeting": meeting, "minutes": minutes, "revising": revising},
        )
    context = {"meeting": meeting, "minutes": minutes, "staff": staff}
    if minutes is None:
        return render(request, "alliance/minutes_page.html", context)

    editing = staff and minutes.state == State.DRAFT
    errors, status, data = {}, 200, None
    if request.method == "POST":
        if not editing:
            raise PermissionDenied
        data = request.POST
        try:
            svc.minutes_save(minutes=minutes, by=request.user, **_parse_editor(minutes, data))
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
            messages.error(request, _("The minutes were not saved: correct the marked rows."))
            status = 400
        else:
            messages.success(request, _("Saved as version %(n)s.") % {"n": minutes.version})
            return redirect("alliance_minutes", meeting_id=meeting.pk)

    latest = minutes.versions.order_by("-number").first()
    context.update(
        {
            "editing": editing,
            "steps": _state_steps(minutes),
            "buttons": [(a, BUTTONS[a]) for a in svc.allowed_actions(request.user, minutes)],
            "versions": _versions(minutes, staff),
            "comments": _comments_by_item(minutes),
            "may_comment": svc.may(request.user, minutes, svc.COMMENT),
            "form_errors": errors.get("", []) + errors.get("entries", []),
        }
    )
    if editing:
        context.update(
            {
                "summary": data.get("summary", "") if data is not None else minutes.summary,
                "rows": _editor_rows(minutes, data, errors, context["comments"]),
                "units": _unit_choices(meeting),
                "people": _people_choices(meeting),
                "today": timezone.localdate().isoformat(),
            }
        )
    else:
        content = latest.content if latest else svc.minutes_content(minutes)
        live = minutes.state == State.PUBLISHED
        items = _read_rows(content, context["comments"])
        context.update({"content": content, "items": items, "live": live})
    return render(request, "alliance/minutes_page.html", context, status=status)


@require_POST
@login_required
def minutes_start(request, meeting_id):
    meeting = _meeting(request, meeting_id)
    try:
        svc.minutes_start(meeting=meeting, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(_messages_of(error)))
    else:
        messages.success(request, _("The draft minutes are ready to write."))
    return redirect("alliance_minutes", meeting_id=meeting.pk)


@require_POST
@login_required
def minutes_transition(request, meeting_id, action):
    meeting = _meeting(request, meeting_id)
    minutes = get_object_or_404(Minutes, meeting=meeting)
    if action not in TRANSITIONS:
        raise Http404
    service, done = TRANSITIONS[action]
    try:
        service(minutes=minutes, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(_messages_of(error)))
    else:
        messages.success(request, str(done))
    return redirect("alliance_minutes", meeting_id=meeting.pk)


@require_POST
@login_required
def minutes_comment(request, meeting_id):
    meeting = _meeting(request, meeting_id)
    minutes = get_object_or_404(Minutes, meeting=meeting)
    item = get_object_or_404(AgendaItem, meeting=meeting, pk=request.POST.get("agenda_item") or 0)
    try:
        svc.minutes_comment(
            minutes=minutes, by=request.user, agenda_item=item, body=request.POST.get("body", "")
        )
    except ValidationError as error:
        messages.error(request, " ".join(_messages_of(error)))
    else:
        messages.success(request, _("Your comment has been added."))
    return redirect(reverse("alliance_minutes", args=[meeting.pk]) + f"#item-{item.pk}")


@never_cache
@login_required
def minutes_version(request, meeting_id, number):
    meeting = _meeting(request, meeting_id)
    minutes = get_object_or_404(Minutes, meeting=meeting)
    staff = can_run(request.user, meeting)
    if not svc.may_read(request.user, minutes, meeting):
        raise Http404
    version = get_object_or_404(
        minutes.versions.select_related("author__partner_contact", "author__member"), number=number
    )
    if version.state == State.DRAFT and not staff:
        raise Http404
    comments = {}
    for comment in (
        MinutesComment.objects.filter(minutes=minutes, version=number)
        .select_related("author__partner_contact", "author__member")
        .order_by("created_at", "id")[:MAX_ROWS]
    ):
        comment.author_name = person_name(comment.author)
        comments.setdefault(comment.agenda_item_id, []).append(comment)
    return render(
        request,
        "alliance/minutes_version.html",
        {
            "meeting": meeting,
            "minutes": minutes,
            "version": version,
            "author": person_name(version.author),
            "content": version.content,
            "items": _read_rows(version.content, comments),
            "versions": _versions(minutes, staff),
        },
    )


@never_cache
@login_required
def minutes_pdf_view(request, meeting_id):
    meeting = _meeting(request, meeting_id)
    minutes = get_object_or_404(Minutes, meeting=meeting)
    if not svc.may_read(request.user, minutes, meeting):
        raise Http404
    version = None
    if request.GET.get("version", "").isdigit():
        version = get_object_or_404(minutes.versions, number=int(request.GET["version"]))
        if version.state == State.DRAFT and not can_run(request.user, meeting):
            raise Http404
    number = version.number if version else minutes.version
    content = minutes_pdf(minutes, svc.minutes_verify_url(minutes, number), version=version)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="minutes-{meeting.pk}-v{number}.pdf"'
    return response


@never_cache
@login_required
def agenda_pdf_view(request, meeting_id):
    meeting = _meeting(request, meeting_id)
    response = HttpResponse(agenda_pdf(meeting), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="agenda-{meeting.pk}.pdf"'
    return response


def minutes_verify(request, pk, token):
    """The public check of printed minutes: title, date, version, genuine."""
    number = svc.verify_token_version(pk, token)
    version = None
    if number is not None:
        version = (
            MinutesVersion.objects.filter(minutes_id=pk, number=number)
            .select_related("minutes__meeting")
            .first()
        )
    context = {"version": version}
    if version is not None:
        meeting = version.minutes.meeting
        context.update({"title": meeting.title, "starts_at": meeting.starts_at})
    return render(request, "alliance/minutes_verify.html", context, status=200 if version else 404)


# --- Action items -----------------------------------------------------------------------------


class ProgressForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("What has been done"),
        max_length=svc.MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": gettext_lazy("Say what has been done.")},
    )
    evidence = UploadField(
        kind=uploads.ANY,
        label=gettext_lazy("Evidence (photo or document)"),
        required=False,
        help_text=gettext_lazy(
            "Optional: a photo, PDF, Word, Excel or PowerPoint file, up to 10 MB."
        ),
    )
    done = forms.BooleanField(label=gettext_lazy("This item is done"), required=False)


class ToRequestForm(forms.Form):
    grid = forms.ChoiceField(label=gettext_lazy("Grid"))
    category = forms.ChoiceField(
        label=gettext_lazy("Category"),
        choices=ServiceRequest.Category.choices,
        initial=ServiceRequest.Category.OTHER,
    )
    window_start = forms.DateTimeField(label=gettext_lazy("Starts at"), widget=LocalDateTimeInput())
    window_end = forms.DateTimeField(label=gettext_lazy("Ends at"), widget=LocalDateTimeInput())
    people_needed = forms.IntegerField(
        label=gettext_lazy("People needed"), min_value=1, max_value=20, initial=1
    )

    def __init__(self, *args, grids=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.grids = {str(g.pk): g for g in grids}
        self.fields["grid"].choices = [(str(g.pk), g.title) for g in grids]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", _("The end must be after the start."))
        if cleaned.get("grid"):
            cleaned["grid"] = self.grids[cleaned["grid"]]
        return cleaned


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
    if svc.is_invited(user, action.meeting) and svc.is_live(action):
        return action
    raise Http404


def _action_context(request, action, *, progress_form=None, request_form=None):
    user = request.user
    live = svc.is_live(action)
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
                svc.action_progress(
                    action=action, by=request.user, note=data["note"],
                    evidence=data["evidence"] or None, done=data["done"],
                )  # fmt: skip
            except ValidationError as error:
                form.add_error(None, _messages_of(error))
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
            created = svc.action_to_request(action=action, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, _messages_of(error))
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
        project = svc.action_to_project(
            action=action, by=request.user, need_title=request.POST.get("need_title", "")
        )
    except ValidationError as error:
        messages.error(request, " ".join(_messages_of(error)))
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
    return render(
        request,
        "alliance/followup.html",
        {"groups": groups, "alliances": alliances, "alliance": alliance, "today": today},
    )


urlpatterns = [
    path("followup/", followup, name="alliance_followup"),
    path("meetings/<int:meeting_id>/minutes/", minutes_page, name="alliance_minutes"),
    path("meetings/<int:meeting_id>/minutes/start/", minutes_start, name="alliance_minutes_start"),
    path(
        "meetings/<int:meeting_id>/minutes/comment/",
        minutes_comment,
        name="alliance_minutes_comment",
    ),
    path(
        "meetings/<int:meeting_id>/minutes/state/<str:action>/",
        minutes_transition,
        name="alliance_minutes_transition",
    ),
    path(
        "meetings/<int:meeting_id>/minutes/versions/<int:number>/",
        minutes_version,
        name="alliance_minutes_version",
    ),
    path("meetings/<int:meeting_id>/minutes.pdf", minutes_pdf_view, name="alliance_minutes_pdf"),
    path("meetings/<int:meeting_id>/agenda.pdf", agenda_pdf_view, name="alliance_agenda_pdf"),
    path("minutes/verify/<int:pk>/<str:token>/", minutes_verify, name="alliance_minutes_verify"),
    path("actions/<int:pk>/", action_detail, name="alliance_action"),
    path("actions/<int:pk>/request/", action_request, name="alliance_action_request"),
    path("actions/<int:pk>/project/", action_project, name="alliance_action_project"),
    path("actions/progress/<int:pk>/evidence/", action_evidence, name="alliance_action_evidence"),
]
