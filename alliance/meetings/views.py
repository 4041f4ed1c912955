"""Joint meetings on the site, phone first: the viewer's meetings, convening,
one meeting (facts, agenda and proposals, answers, attendance and quorum), the
convener's rotating sign-in code and the invitee's sign-in, the .ics
invitation and the printed agenda.

Views stay thin: every write is a service of ``alliance.meetings`` (convening
in ``services``, the agenda in ``agenda``, answers and sign-in in
``attendance``); its refusals come back as a message (ValidationError) or a
403 (PermissionDenied). A meeting the viewer may not see is a 404, whoever
they are."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from alliance.access import alliances_run_by, can_run, joint_meetings_visible_to
from alliance.meetings import agenda, attendance, calendar, rules, services
from alliance.meetings.forms import MAX_MEMBER_CHOICES, ConveneForm, ProposalForm, RescheduleForm
from alliance.meetings.pdf import agenda_pdf
from alliance.models import AgendaItem, Invitation, JointMeeting
from alliance.names import person_name
from portal import codes
from portal.forms import errors_onto
from portal.uploads import private_file_response

PER_PAGE = 20
MAX_ALLIANCES = 200

Response = Invitation.Response


# --- Helpers ----------------------------------------------------------------------------------


def _visible_meeting(request, pk):
    qs = joint_meetings_visible_to(request.user).select_related("alliance", "convener")
    return get_object_or_404(qs, pk=pk)


def _refusal(request, error):
    messages.error(request, " ".join(getattr(error, "messages", None) or [str(error)]))


# --- Pages ------------------------------------------------------------------------------------


@login_required
def meeting_list(request):
    """The viewer's meetings: upcoming (soonest first) or past (latest first)."""
    now = timezone.now()
    past = request.GET.get("when") == "past"
    qs = joint_meetings_visible_to(request.user).select_related("alliance")
    if past:
        qs = qs.filter(ends_at__lt=now).order_by("-starts_at", "-id")
    else:
        qs = qs.filter(ends_at__gte=now).order_by("starts_at", "id")
    mine = Invitation.objects.filter(meeting=OuterRef("pk"), user=request.user)
    qs = qs.annotate(my_response=Subquery(mine.values("response")[:1]))
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    responses = dict(Response.choices)
    for meeting in page:
        meeting.my_response_label = responses.get(meeting.my_response, "")
    return render(
        request,
        "alliance/meeting_list.html",
        {
            "items": page,
            "past": past,
            "may_convene": alliances_run_by(request.user).exists(),
        },
    )


@login_required
def meeting_new(request):
    """The convene form, for the staff of an alliance: the alliance (one of
    theirs), time and place, partner units and members to invite, the agenda."""
    alliances = list(alliances_run_by(request.user).order_by("name")[:MAX_ALLIANCES])
    if not alliances:
        raise PermissionDenied
    chosen = request.POST.get("alliance") or request.GET.get("alliance")
    alliance = next((a for a in alliances if str(a.pk) == chosen), None)
    if alliance is None and len(alliances) == 1:
        alliance = alliances[0]
    form = None
    if alliance is not None:
        if request.method == "POST" and "search_members" not in request.POST:
            form = ConveneForm(request.POST, alliance=alliance)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    meeting = services.meeting_convene(
                        alliance=alliance,
                        by=request.user,
                        title=data["title"],
                        starts_at=data["starts_at"],
                        ends_at=data["ends_at"],
                        place=data["place"],
                        proposals_until=data["proposals_until"],
                        quorum=data["quorum"],
                        partners=data["partners"],
                        members=data["members"],
                        agenda=data["agenda"].splitlines(),
                    )
                except ValidationError as error:
                    errors_onto(form, error)
                else:
                    messages.success(
                        request, _("The meeting is convened and the invitations are sent.")
                    )
                    return redirect("meeting_detail", pk=meeting.pk)
        elif request.method == "POST":
            # "Find": show the members matching the name, keeping what was typed.
            form = ConveneForm(request.POST, alliance=alliance)
            form._errors = {}
        else:
            form = ConveneForm(alliance=alliance)
    return render(
        request,
        "alliance/meeting_new.html",
        {
            "alliances": alliances,
            "alliance": alliance,
            "form": form,
            "max_members": MAX_MEMBER_CHOICES,
        },
    )


def _agenda(meeting, user, runner):
    qs = AgendaItem.objects.filter(meeting=meeting).select_related(
        "proposer_partner", "proposer__member", "proposer__partner_contact"
    )
    if not runner:
        qs = qs.filter(Q(status=AgendaItem.Status.ACCEPTED) | Q(proposer=user))
    items = list(qs.order_by("position", "id")[: rules.MAX_AGENDA + 50])
    accepted = [i for i in items if i.status == AgendaItem.Status.ACCEPTED]
    others = [i for i in items if i.status != AgendaItem.Status.ACCEPTED]
    for item in items:
        item.proposer_name = person_name(item.proposer) if item.proposer else ""
    return accepted, others


@login_required
def meeting_detail(request, pk):
    meeting = _visible_meeting(request, pk)
    user = request.user
    runner = can_run(user, meeting)
    invitation = rules.invitation_of(meeting, user)
    accepted, others = _agenda(meeting, user, runner)
    now = timezone.now()
    scheduled = meeting.status == JointMeeting.Status.SCHEDULED
    context = {
        "meeting": meeting,
        "runner": runner,
        "invitation": invitation,
        "agenda": accepted,
        "proposals": others,
        "total_minutes": sum(i.minutes_allotted for i in accepted),
        "proposals_open": rules.proposals_open(meeting, now),
        "may_propose": scheduled and (runner or (invitation and rules.proposals_open(meeting))),
        "may_answer": invitation is not None and scheduled and now <= meeting.ends_at,
        "sign_in_open": rules.sign_in_open(meeting, now),
        "sign_in_opens": rules.sign_in_window(meeting)[0],
        "over": now > meeting.ends_at,
        "scheduled": scheduled,
        "responses": Response,
        "proposal_form": ProposalForm(),
        "convener_name": person_name(meeting.convener),
        "now": now,
    }
    if runner:
        context["attendance"] = attendance.attendance_counts(meeting)
        invitations = list(
            meeting.invitations.select_related(
                "user__member", "user__partner_contact", "partner"
            ).order_by("partner__name", "id")[: rules.MAX_INVITEES]
        )
        for inv in invitations:
            inv.name = person_name(inv.user)
        context["invitations"] = invitations
    return render(request, "alliance/meeting_detail.html", context)


@login_required
def meeting_ics(request, pk):
    """The invitation file for an invitee (or the meeting's staff)."""
    meeting = _visible_meeting(request, pk)
    invitation = rules.invitation_of(meeting, request.user)
    if invitation is None and not can_run(request.user, meeting):
        raise Http404
    body = calendar.meeting_ics(meeting, invitation, request=request)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8; method=REQUEST")
    response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
    return response


@require_POST
@login_required
def meeting_propose(request, pk):
    meeting = _visible_meeting(request, pk)
    form = ProposalForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("meeting_detail", pk=meeting.pk)
    data = form.cleaned_data
    try:
        item = agenda.agenda_propose(
            meeting=meeting,
            by=request.user,
            title=data["title"],
            background=data["background"],
            minutes_allotted=data["minutes_allotted"],
            attachment=data["attachment"] or None,
        )
    except ValidationError as error:
        _refusal(request, error)
    except PermissionDenied as error:
        _refusal(request, error)
    else:
        if item.status == AgendaItem.Status.ACCEPTED:
            messages.success(request, _("The item is on the agenda."))
        else:
            messages.success(request, _("Your proposal is sent; the convener decides on it."))
    return redirect("meeting_detail", pk=meeting.pk)


@require_POST
@login_required
def meeting_agenda_decide(request, pk, item_pk):
    meeting = _visible_meeting(request, pk)
    item = get_object_or_404(
        AgendaItem.objects.select_related("proposer"), meeting=meeting, pk=item_pk
    )
    item.meeting = meeting
    accept = request.POST.get("accept") == "1"
    try:
        agenda.agenda_decide(item=item, by=request.user, accept=accept)
    except ValidationError as error:
        _refusal(request, error)
    else:
        messages.success(
            request, _("Put on the agenda.") if accept else _("The proposal is declined.")
        )
    return redirect("meeting_detail", pk=meeting.pk)


@require_POST
@login_required
def meeting_agenda_move(request, pk, item_pk):
    meeting = _visible_meeting(request, pk)
    item = get_object_or_404(AgendaItem, meeting=meeting, pk=item_pk)
    item.meeting = meeting
    try:
        agenda.agenda_move(item=item, by=request.user, up=request.POST.get("dir") == "up")
    except ValidationError as error:
        _refusal(request, error)
    return redirect(reverse("meeting_detail", args=[meeting.pk]) + "#agenda")


@require_POST
@login_required
def meeting_rsvp(request, pk):
    meeting = _visible_meeting(request, pk)
    try:
        invitation = attendance.invitation_rsvp(
            meeting=meeting,
            user=request.user,
            response=request.POST.get("response", ""),
            deputy_name=request.POST.get("deputy_name", ""),
        )
    except ValidationError as error:
        _refusal(request, error)
    else:
        if invitation.response == Response.DEPUTY:
            text = _("Noted: %(name)s attends in your place.") % {"name": invitation.deputy_name}
        elif invitation.response == Response.ATTEND:
            text = _("Noted: you attend.")
        else:
            text = _("Noted: you cannot attend.")
        messages.success(request, text)
    return redirect("meeting_detail", pk=meeting.pk)


def _signed_in_message(request, invitation, repeated):
    when = timezone.localtime(invitation.signed_in_at).strftime("%H:%M")
    text = _("Already signed in at %(time)s.") if repeated else _("Signed in at %(time)s.")
    messages.success(request, text % {"time": when})


@login_required
def meeting_sign_in(request, pk):
    """Where the convener's QR code leads (one button confirms), and where the
    6-digit code typed on the meeting's page is sent."""
    meeting = _visible_meeting(request, pk)
    token = request.POST.get("t") or request.GET.get("t", "")
    if request.method == "POST":
        try:
            invitation, repeated = attendance.meeting_sign_in(
                meeting=meeting,
                user=request.user,
                token=token,
                digits=request.POST.get("code", ""),
            )
        except ValidationError as error:
            _refusal(request, error)
        except PermissionDenied as error:
            _refusal(request, error)
        else:
            _signed_in_message(request, invitation, repeated)
        return redirect("meeting_detail", pk=meeting.pk)
    valid = False
    if token:
        try:
            codes.verify_token(meeting.pk, token, purpose=rules.TOKEN_PURPOSE)
            valid = True
        except ValidationError as error:
            _refusal(request, error)
    return render(
        request,
        "alliance/meeting_sign_in.html",
        {
            "meeting": meeting,
            "token": token,
            "valid": valid,
            "invitation": rules.invitation_of(meeting, request.user),
        },
    )


@login_required
def meeting_code(request, pk):
    """The convener's phone screen: a QR code and a 6-digit code that change
    every 30 seconds (the page reloads itself), with the count signed in."""
    meeting = _visible_meeting(request, pk)
    if not can_run(request.user, meeting):
        raise PermissionDenied
    scan = reverse("meeting_sign_in", args=[meeting.pk])
    return render(
        request,
        "alliance/meeting_code.html",
        {
            "meeting": meeting,
            **codes.screen(meeting.pk, "in", scan, purpose=rules.TOKEN_PURPOSE),
            "attendance": attendance.attendance_counts(meeting),
            "sign_in_open": rules.sign_in_open(meeting),
            "sign_in_opens": rules.sign_in_window(meeting)[0],
        },
    )


@require_POST
@login_required
def meeting_mark_present(request, pk, invitation_pk):
    meeting = _visible_meeting(request, pk)
    invitation = get_object_or_404(
        Invitation.objects.select_related("user__member", "user__partner_contact"),
        meeting=meeting,
        pk=invitation_pk,
    )
    try:
        attendance.meeting_sign_in_record(meeting=meeting, by=request.user, invitation=invitation)
    except ValidationError as error:
        _refusal(request, error)
    else:
        messages.success(
            request,
            _("%(name)s is recorded as present.") % {"name": person_name(invitation.user)},
        )
    return redirect(reverse("meeting_detail", args=[meeting.pk]) + "#attendance")


@login_required
def meeting_reschedule(request, pk):
    meeting = _visible_meeting(request, pk)
    if not can_run(request.user, meeting):
        raise PermissionDenied
    if request.method == "POST":
        form = RescheduleForm(request.POST)
        if form.is_valid():
            try:
                services.meeting_reschedule(meeting=meeting, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                errors_onto(form, error)
            else:
                messages.success(request, _("The meeting is moved and the invitees are told."))
                return redirect("meeting_detail", pk=meeting.pk)
    else:
        form = RescheduleForm(
            initial={
                "starts_at": timezone.localtime(meeting.starts_at),
                "ends_at": timezone.localtime(meeting.ends_at),
                "place": meeting.place,
                "proposals_until": timezone.localtime(meeting.proposals_until),
            }
        )
    return render(request, "alliance/meeting_reschedule.html", {"meeting": meeting, "form": form})


@require_POST
@login_required
def meeting_cancel(request, pk):
    meeting = _visible_meeting(request, pk)
    try:
        services.meeting_cancel(
            meeting=meeting, by=request.user, reason=request.POST.get("reason", "")
        )
    except ValidationError as error:
        _refusal(request, error)
    else:
        messages.success(request, _("The meeting is cancelled and the invitees are told."))
    return redirect("meeting_detail", pk=meeting.pk)


@login_required
def meeting_attachment(request, pk, item_pk):
    """An agenda item's attachment, for those who may see the item."""
    meeting = _visible_meeting(request, pk)
    item = get_object_or_404(AgendaItem.objects.exclude(attachment=""), meeting=meeting, pk=item_pk)
    visible = (
        item.status == AgendaItem.Status.ACCEPTED
        or item.proposer_id == request.user.pk
        or can_run(request.user, meeting)
    )
    if not visible:
        raise Http404
    return private_file_response(item.attachment, download_name=f"agenda-{item.pk}")


@never_cache
@login_required
def agenda_pdf_view(request, meeting_id):
    meeting = _visible_meeting(request, meeting_id)
    response = HttpResponse(agenda_pdf(meeting), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="agenda-{meeting.pk}.pdf"'
    return response
