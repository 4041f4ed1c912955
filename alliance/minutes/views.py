"""The minutes of a joint meeting on the site: the structured editor while in
draft, comments per agenda item while circulated, the state bar (circulate,
revise, approve, publish), the versions, the printed minutes and the public
check of a printed copy.

Phone-first pages; every write is a service in ``alliance.minutes.services``,
whose refusals come back as a message (ValidationError) or a 403
(PermissionDenied). Partners see the minutes of meetings they were invited to,
once circulated; drafts are the staff's."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from alliance.access import can_run, joint_meetings_visible_to
from alliance.minutes import editor, permissions, services, versions
from alliance.minutes.pdf import minutes_pdf
from alliance.models import AgendaItem, JointMeeting, Minutes, MinutesComment, MinutesVersion
from alliance.names import person_name

State = Minutes.State
MAX_ROWS = 200  # comments and versions listed on one page

TRANSITIONS = {
    permissions.CIRCULATE: (
        services.minutes_circulate,
        gettext_lazy("The minutes are out for comments."),
    ),
    permissions.REVISE: (
        services.minutes_revise,
        gettext_lazy("The minutes are back in draft for revision."),
    ),
    permissions.APPROVE: (services.minutes_approve, gettext_lazy("The minutes are approved.")),
    permissions.PUBLISH: (
        services.minutes_publish,
        gettext_lazy("The minutes are published; the action items are live."),
    ),
}
BUTTONS = {
    permissions.CIRCULATE: gettext_lazy("Circulate for comments"),
    permissions.REVISE: gettext_lazy("Back to draft to revise"),
    permissions.APPROVE: gettext_lazy("Approve the minutes"),
    permissions.PUBLISH: gettext_lazy("Publish"),
}


def _meeting(request, meeting_id) -> JointMeeting:
    qs = joint_meetings_visible_to(request.user).select_related("alliance", "convener")
    return get_object_or_404(qs, pk=meeting_id)


def _minutes(meeting) -> Minutes | None:
    return Minutes.objects.filter(meeting=meeting).first()


def _read_rows(content, comments):
    """Per item of a version's content, with its comments, for the read-only view."""
    return [
        {**item, "comments": comments.get(item["agenda_item"], [])}
        for item in content.get("items", [])
    ]


def _comments_by_item(minutes, version=None):
    """The comments on the minutes (on one version, if given), by agenda item."""
    comments = {}
    qs = MinutesComment.objects.filter(minutes=minutes)
    if version is not None:
        qs = qs.filter(version=version)
    qs = qs.select_related("author__partner_contact", "author__member").order_by(
        "created_at", "id"
    )[:MAX_ROWS]
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
    if not permissions.may_read(request.user, minutes, meeting):
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
            services.minutes_save(
                minutes=minutes, by=request.user, **editor.save_arguments(minutes, data)
            )
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
            "buttons": [
                (a, BUTTONS[a]) for a in permissions.allowed_actions(request.user, minutes)
            ],
            "versions": _versions(minutes, staff),
            "comments": _comments_by_item(minutes),
            "may_comment": permissions.may(request.user, minutes, permissions.COMMENT),
            "form_errors": errors.get("", []) + errors.get("entries", []),
        }
    )
    if editing:
        context.update(
            {
                "summary": data.get("summary", "") if data is not None else minutes.summary,
                "rows": editor.editor_rows(minutes, data, errors, context["comments"]),
                "units": editor.unit_choices(meeting),
                "people": editor.people_choices(meeting),
                "today": timezone.localdate().isoformat(),
            }
        )
    else:
        content = latest.content if latest else versions.minutes_content(minutes)
        live = minutes.state == State.PUBLISHED
        items = _read_rows(content, context["comments"])
        context.update({"content": content, "items": items, "live": live})
    return render(request, "alliance/minutes_page.html", context, status=status)


@require_POST
@login_required
def minutes_start(request, meeting_id):
    meeting = _meeting(request, meeting_id)
    try:
        services.minutes_start(meeting=meeting, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
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
        messages.error(request, " ".join(error.messages))
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
        services.minutes_comment(
            minutes=minutes, by=request.user, agenda_item=item, body=request.POST.get("body", "")
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your comment has been added."))
    return redirect(reverse("alliance_minutes", args=[meeting.pk]) + f"#item-{item.pk}")


@never_cache
@login_required
def minutes_version(request, meeting_id, number):
    meeting = _meeting(request, meeting_id)
    minutes = get_object_or_404(Minutes, meeting=meeting)
    staff = can_run(request.user, meeting)
    if not permissions.may_read(request.user, minutes, meeting):
        raise Http404
    version = get_object_or_404(
        minutes.versions.select_related("author__partner_contact", "author__member"), number=number
    )
    if version.state == State.DRAFT and not staff:
        raise Http404
    comments = _comments_by_item(minutes, version=number)
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
    if not permissions.may_read(request.user, minutes, meeting):
        raise Http404
    version = None
    if request.GET.get("version", "").isdigit():
        version = get_object_or_404(minutes.versions, number=int(request.GET["version"]))
        if version.state == State.DRAFT and not can_run(request.user, meeting):
            raise Http404
    number = version.number if version else minutes.version
    content = minutes_pdf(minutes, versions.minutes_verify_url(minutes, number), version=version)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="minutes-{meeting.pk}-v{number}.pdf"'
    return response


def minutes_verify(request, pk, token):
    """The public check of printed minutes: title, date, version, genuine."""
    number = versions.verify_token_version(pk, token)
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
