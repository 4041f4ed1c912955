"""Joint meetings on the site, phone first: the viewer's meetings, convening,
one meeting (facts, agenda and proposals, answers, attendance and quorum), the
convener's rotating sign-in code and the invitee's sign-in, and the .ics
invitation.

Views stay thin: every write is a service in ``alliance.meetings``; its
refusals come back as a message (ValidationError) or a 403 (PermissionDenied).
A meeting the viewer may not see is a 404, whoever they are."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from alliance import meetings
from alliance.access import alliances_run_by, can_run, joint_meetings_visible_to
from alliance.meetings import person_name
from alliance.models import AgendaItem, Invitation, JointMeeting
from portal import codes, uploads
from portal.forms import LocalDateTimeInput, ModelMultipleChoiceField, errors_onto
from portal.uploads import UploadField, private_file_response

PER_PAGE = 20
# Members listed on the convene form at once (a search narrows the list).
MAX_MEMBER_CHOICES = 200
MAX_ALLIANCES = 200

Response = Invitation.Response


# --- Forms ------------------------------------------------------------------------------------


def _datetime_field(label, required_message):
    return forms.DateTimeField(
        label=label,
        widget=LocalDateTimeInput(),
        error_messages={
            "required": required_message,
            "invalid": gettext_lazy("Give a date and time, e.g. 2026-05-01 09:00."),
        },
    )


class PartnerChoices(ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        if obj.accounts:
            return _("%(name)s (%(n)d contact accounts)") % {"name": obj.name, "n": obj.accounts}
        return _("%(name)s (no contact account: nobody is invited)") % {"name": obj.name}


class MemberChoices(ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.member.name} · {obj.member.branch.title}"


class ConveneForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("Meeting title"),
        max_length=150,
        error_messages={"required": gettext_lazy("Give the meeting a title.")},
    )
    starts_at = _datetime_field(
        gettext_lazy("Starts at"), gettext_lazy("Give the start of the meeting.")
    )
    ends_at = _datetime_field(gettext_lazy("Ends at"), gettext_lazy("Give the end of the meeting."))
    place = forms.CharField(
        label=gettext_lazy("Place"),
        max_length=200,
        error_messages={"required": gettext_lazy("Give the place of the meeting.")},
    )
    proposals_until = _datetime_field(
        gettext_lazy("Agenda proposals until"),
        gettext_lazy("Give the deadline for agenda proposals."),
    )
    quorum = forms.IntegerField(
        label=gettext_lazy("Quorum"),
        min_value=0,
        max_value=meetings.MAX_INVITEES,
        initial=0,
        required=False,
        help_text=gettext_lazy("People who must be signed in for decisions (0: none)."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    partners = PartnerChoices(
        label=gettext_lazy("Partner units"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Every contact of a ticked unit who has an account is invited."),
    )
    find = forms.CharField(
        label=gettext_lazy("Find members by name"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Find members by name")}),
    )
    members = MemberChoices(
        label=gettext_lazy("Members to invite"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    agenda = forms.CharField(
        label=gettext_lazy("Agenda"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "One item per line. Open action items of earlier meetings are added as follow-ups."
        ),
    )

    def __init__(self, *args, alliance, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.alliance = alliance
        self.fields["partners"].queryset = alliance.partners.annotate(
            accounts=Count("contacts", filter=Q(contacts__user__isnull=False))
        ).order_by("name")
        everyone = meetings.member_choices(alliance)
        self.fields["members"].queryset = everyone
        # Render a bounded list: the search hits (or the first members) plus
        # whoever is ticked already; validation still accepts any member.
        query = (self.data.get("find") or "").strip() if self.is_bound else ""
        shown = everyone.filter(member__name__icontains=query) if query else everyone
        shown = list(shown[: MAX_MEMBER_CHOICES + 1])
        self.more_members = len(shown) > MAX_MEMBER_CHOICES
        shown = shown[:MAX_MEMBER_CHOICES]
        ticked = [v for v in (self.data.getlist("members") if self.is_bound else []) if v.isdigit()]
        known = {u.pk for u in shown}
        extra = [u for u in everyone.filter(pk__in=ticked) if u.pk not in known]
        field = self.fields["members"]
        field.widget.choices = [(u.pk, field.label_from_instance(u)) for u in extra + shown]
        self.member_count = len(shown) + len(extra)

    def clean(self):
        cleaned = super().clean()
        cleaned["quorum"] = cleaned.get("quorum") or 0
        return cleaned


class ProposalForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("Item"),
        max_length=150,
        error_messages={"required": gettext_lazy("Give the item a title.")},
    )
    background = forms.CharField(
        label=gettext_lazy("Background"),
        max_length=meetings.MAX_BACKGROUND,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    minutes_allotted = forms.IntegerField(
        label=gettext_lazy("Minutes needed"),
        min_value=1,
        max_value=meetings.MAX_MINUTES_ALLOTTED,
        initial=15,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": gettext_lazy("Give the time needed in minutes (1–240)."),
            "invalid": gettext_lazy("Give the time needed in minutes (1–240)."),
            "min_value": gettext_lazy("Give the time needed in minutes (1–240)."),
            "max_value": gettext_lazy("Give the time needed in minutes (1–240)."),
        },
    )
    attachment = UploadField(
        kind=uploads.ANY,
        label=gettext_lazy("Attachment"),
        required=False,
        help_text=gettext_lazy("Optional: PDF, Word, Excel, PowerPoint or a picture, up to 10 MB."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class RescheduleForm(forms.Form):
    starts_at = _datetime_field(
        gettext_lazy("Starts at"), gettext_lazy("Give the start of the meeting.")
    )
    ends_at = _datetime_field(gettext_lazy("Ends at"), gettext_lazy("Give the end of the meeting."))
    place = forms.CharField(
        label=gettext_lazy("Place"),
        max_length=200,
        error_messages={"required": gettext_lazy("Give the place of the meeting.")},
    )
    proposals_until = _datetime_field(
        gettext_lazy("Agenda proposals until"),
        gettext_lazy("Give the deadline for agenda proposals."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


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
                    meeting = meetings.meeting_convene(
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
    items = list(qs.order_by("position", "id")[: meetings.MAX_AGENDA + 50])
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
    invitation = meetings.invitation_of(meeting, user)
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
        "proposals_open": meetings.proposals_open(meeting, now),
        "may_propose": scheduled and (runner or (invitation and meetings.proposals_open(meeting))),
        "may_answer": invitation is not None and scheduled and now <= meeting.ends_at,
        "sign_in_open": meetings.sign_in_open(meeting, now),
        "sign_in_opens": meetings.sign_in_window(meeting)[0],
        "over": now > meeting.ends_at,
        "scheduled": scheduled,
        "responses": Response,
        "proposal_form": ProposalForm(),
        "convener_name": person_name(meeting.convener),
        "now": now,
    }
    if runner:
        context["attendance"] = meetings.attendance(meeting)
        invitations = list(
            meeting.invitations.select_related(
                "user__member", "user__partner_contact", "partner"
            ).order_by("partner__name", "id")[: meetings.MAX_INVITEES]
        )
        for inv in invitations:
            inv.name = person_name(inv.user)
        context["invitations"] = invitations
    return render(request, "alliance/meeting_detail.html", context)


@login_required
def meeting_ics(request, pk):
    """The invitation file for an invitee (or the meeting's staff)."""
    meeting = _visible_meeting(request, pk)
    invitation = meetings.invitation_of(meeting, request.user)
    if invitation is None and not can_run(request.user, meeting):
        raise Http404
    body = meetings.meeting_ics(meeting, invitation, request=request)
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
        item = meetings.agenda_propose(
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
        meetings.agenda_decide(item=item, by=request.user, accept=accept)
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
        meetings.agenda_move(item=item, by=request.user, up=request.POST.get("dir") == "up")
    except ValidationError as error:
        _refusal(request, error)
    return redirect(reverse("meeting_detail", args=[meeting.pk]) + "#agenda")


@require_POST
@login_required
def meeting_rsvp(request, pk):
    meeting = _visible_meeting(request, pk)
    try:
        invitation = meetings.rsvp(
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
            invitation, repeated = meetings.sign_in(
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
            codes.verify_token(meeting.pk, token, purpose=meetings.TOKEN_PURPOSE)
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
            "invitation": meetings.invitation_of(meeting, request.user),
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
            **codes.screen(meeting.pk, "in", scan, purpose=meetings.TOKEN_PURPOSE),
            "attendance": meetings.attendance(meeting),
            "sign_in_open": meetings.sign_in_open(meeting),
            "sign_in_opens": meetings.sign_in_window(meeting)[0],
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
        meetings.sign_in_record(meeting=meeting, by=request.user, invitation=invitation)
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
                meetings.meeting_reschedule(meeting=meeting, by=request.user, **form.cleaned_data)
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
        meetings.meeting_cancel(
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


urlpatterns = [
    path("meetings/", meeting_list, name="meeting_list"),
    path("meetings/new/", meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/invite.ics", meeting_ics, name="meeting_ics"),
    path("meetings/<int:pk>/propose/", meeting_propose, name="meeting_propose"),
    path(
        "meetings/<int:pk>/agenda/<int:item_pk>/decide/",
        meeting_agenda_decide,
        name="meeting_agenda_decide",
    ),
    path(
        "meetings/<int:pk>/agenda/<int:item_pk>/move/",
        meeting_agenda_move,
        name="meeting_agenda_move",
    ),
    path(
        "meetings/<int:pk>/agenda/<int:item_pk>/attachment/",
        meeting_attachment,
        name="meeting_attachment",
    ),
    path("meetings/<int:pk>/rsvp/", meeting_rsvp, name="meeting_rsvp"),
    path("meetings/<int:pk>/sign-in/", meeting_sign_in, name="meeting_sign_in"),
    path("meetings/<int:pk>/code/", meeting_code, name="meeting_code"),
    path(
        "meetings/<int:pk>/present/<int:invitation_pk>/",
        meeting_mark_present,
        name="meeting_mark_present",
    ),
    path("meetings/<int:pk>/reschedule/", meeting_reschedule, name="meeting_reschedule"),
    path("meetings/<int:pk>/cancel/", meeting_cancel, name="meeting_cancel"),
]
