"""Dispatch from a phone (居民点单、社区派单、党员接单、评价): grid workers record
residents' needs, the grid's staff offer them to ranked volunteers, volunteers
answer and serve them on their task list, and the recorder reviews the result.

The views stay thin: every write is a service (``services`` for the request,
``task_services`` for the volunteer's task), whose refusals come back as a
message (ValidationError) or a 403 (PermissionDenied)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from portal.audit import audit_record, audit_records
from portal.forms import errors_onto
from portal.listing import filtered_page
from portal.masking import mask_address, mask_name, mask_phone
from portal.models import AuditEntry
from portal.names import person_name
from portal.roles import visible_to
from portal.uploads import private_file_response
from volunteers.dispatch import services, task_services
from volunteers.dispatch.forms import MAX_PHOTOS, CompleteForm, RequestForm, initial_window
from volunteers.dispatch.matching import rank_candidates
from volunteers.dispatch.selectors import (
    CONTACT_AFTER,
    MAX_GRIDS,
    is_grid_staff,
    may_record,
    open_offers,
    recordable_grids,
    runs_requests,
    task_contact,
    task_credit_summary,
)
from volunteers.duties.services import EARLY_CHECK_IN
from volunteers.models import Offer, RequestPhoto, ServiceRequest

PER_PAGE = 20
# Candidates shown to the dispatcher, and the most people offered in one go.
CANDIDATES = 10
MAX_CHOSEN = 20
# Events and offers listed on one request (a request has a handful of each).
MAX_ROWS = 100

Status = ServiceRequest.Status
# Statuses in which the request can be offered (see services.offers_send).
OFFERABLE = (Status.NEW, Status.DISPATCHED, Status.RETURNED, Status.ESCALATED)
RETURNABLE = (Status.DISPATCHED, Status.ACCEPTED, Status.ESCALATED)
# Offers whose answered_at is the person's own reply.
REPLIED = (*Offer.TAKEN, Offer.Status.DECLINED)


# --- Pages ------------------------------------------------------------------------------------


@login_required
def request_list(request):
    """The requests the user may see, newest first, filtered by status and category."""
    qs = visible_to(request.user, ServiceRequest.objects.all()).select_related("grid")
    filters = [
        ("status", _("State"), Status.choices),
        ("category", _("Category"), ServiceRequest.Category.choices),
    ]
    return render(
        request,
        "volunteers/request_list.html",
        {**filtered_page(request, qs, filters), "may_record": may_record(request.user)},
    )


@login_required
def request_new(request):
    """The phone form a grid worker records a resident's need with."""
    if not may_record(request.user):
        raise PermissionDenied
    grids, more = recordable_grids(request.user)
    wishes_only = not runs_requests(request.user)
    if request.method == "POST":
        form = RequestForm(request.POST, request.FILES, grids=grids, wishes_only=wishes_only)
        status = 200
        if form.is_valid():
            try:
                created = services.request_create(by=request.user, **form.request_fields())
            except ValidationError as error:
                errors_onto(form, error)
            except PermissionDenied as error:
                # Refused by the service: say so on the form, keeping what was typed.
                form.add_error(None, str(error) or _("You may not record a request here."))
                status = 403
            else:
                messages.success(request, _("The request has been recorded."))
                return redirect("request_detail", pk=created.pk)
    else:
        status = 200
        initial = initial_window()
        initial["micro_wish"] = wishes_only or request.GET.get("wish") == "1"
        form = RequestForm(initial=initial, grids=grids, wishes_only=wishes_only)
    return render(
        request,
        "volunteers/request_new.html",
        {
            "form": form,
            "has_grids": bool(grids),
            "more_grids": more,
            "max_grids": MAX_GRIDS,
            "photos_lost": form.is_bound and bool(request.FILES) and bool(form.errors),
        },
        status=status,
    )


def _visible_request(user, pk) -> ServiceRequest:
    """The request, or 404 when it is outside what the user may see."""
    return get_object_or_404(
        visible_to(user, ServiceRequest.objects.all()).select_related(
            "grid", "branch", "created_by__member", "created_by__phone_record"
        ),
        pk=pk,
    )


# What a volunteer's view of their task's contact reveals (audit log's "field").
CONTACT_FIELDS = "address,requester_name,requester_phone,dispatcher_phone"


@login_required
def request_detail(request, pk):
    sr = _visible_request(request.user, pk)
    user = request.user
    staff = is_grid_staff(user, sr)
    if staff and (sr.address or sr.requester_phone):
        audit_record(
            actor=user,
            action=AuditEntry.Action.REVEAL,
            obj=sr,
            field="address,requester_phone",
            detail="request_detail",
            request=request,
        )
    offers = sr.offers.select_related(
        "user__member", "offered_by__member", "offered_by__phone_record"
    ).order_by("-round", "offered_at", "id")
    if not staff:
        offers = offers.filter(user=user)
    offers = list(offers[:MAX_ROWS])
    for offer in offers:
        offer.name = person_name(offer.user)
        # Only a person's own answer is a reply (not a withdrawal or expiry).
        offer.replied_at = offer.answered_at if offer.status in REPLIED else None
    # The volunteer who took it sees the resident's and the dispatcher's contact
    # from accepting it until a day after completing it (selectors.contact_until).
    contact = None
    if not staff:
        contact = next(filter(None, (task_contact(o) for o in offers)), None)
    if contact is not None:
        audit_record(
            actor=user,
            action=AuditEntry.Action.REVEAL,
            obj=sr,
            field=CONTACT_FIELDS,
            detail="task_contact request_detail",
            request=request,
        )
    full = staff or contact is not None
    events = list(sr.events.select_related("actor__member").order_by("at", "id")[:MAX_ROWS])
    for event in events:
        event.actor_name = person_name(event.actor) if event.actor else _("System")
    # Counted over everyone's offers (a volunteer's list holds only their own).
    taken = sr.offers.filter(status__in=Offer.TAKEN, round=sr.round).count()
    candidates = []
    can_offer = staff and sr.status in OFFERABLE and taken < sr.people_needed
    if can_offer:
        candidates = rank_candidates(sr, limit=CANDIDATES)
    return render(
        request,
        "volunteers/request_detail.html",
        {
            "sr": sr,
            "staff": staff,
            "contact": contact,
            "full": full,
            "contact_after": CONTACT_AFTER,
            "took_it": any(o.status in Offer.TAKEN for o in offers),
            "address": sr.address if full else mask_address(sr.address),
            "phone": sr.requester_phone if full else mask_phone(sr.requester_phone),
            "resident": sr.requester_name if full else mask_name(sr.requester_name),
            "recorder": person_name(sr.created_by) if sr.created_by else "",
            "photos": sr.photos.order_by("sort_order")[: MAX_PHOTOS * 2],
            "events": events,
            "offers": offers,
            "taken": taken,
            "waiting": sum(1 for o in offers if o.status == Offer.Status.OFFERED),
            "can_offer": can_offer,
            "candidates": candidates,
            "can_return": staff and sr.status in RETURNABLE,
            "can_cancel": staff and sr.status in ServiceRequest.OPEN,
            "can_review": sr.status == Status.COMPLETED and (staff or sr.created_by_id == user.pk),
            "statuses": Status,
        },
    )


@login_required
def request_photo(request, pk, photo_pk):
    """A photo of a request, for those who may see the request (a 404 otherwise)."""
    sr = _visible_request(request.user, pk)
    photo = get_object_or_404(RequestPhoto.objects.exclude(image=""), request=sr, pk=photo_pk)
    return private_file_response(photo.image, download_name=f"request-{sr.pk}-{photo.pk}")


@login_required
def offer_photo(request, pk, offer_pk):
    """The photo a volunteer finished a task with: for the grid's staff and the
    volunteer, as the request's page lists the offers."""
    sr = _visible_request(request.user, pk)
    offer = get_object_or_404(sr.offers.exclude(completion_photo=""), pk=offer_pk)
    if offer.user_id != request.user.pk and not is_grid_staff(request.user, sr):
        raise Http404
    return private_file_response(offer.completion_photo, download_name=f"task-{offer.pk}")


# --- Actions on a request ---------------------------------------------------------------------


def _action(back):
    """A POST by a signed-in user: a refusal (ValidationError) becomes a
    message and the user goes back to ``back``; PermissionDenied is a 403."""

    def decorate(view):
        @require_POST
        @login_required
        @wraps(view)
        def wrapper(request, pk):
            try:
                return view(request, pk)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect(back, pk=pk) if back == "request_detail" else redirect(back)

        return wrapper

    return decorate


def _managed_request(request, pk) -> ServiceRequest:
    sr = _visible_request(request.user, pk)
    if not is_grid_staff(request.user, sr):
        raise PermissionDenied(_("Only the people who run this grid may do this."))
    return sr


@_action("request_detail")
def request_dispatch(request, pk):
    """Offer the request to the chosen candidates, or to the best-ranked ones ("auto")."""
    sr = _managed_request(request, pk)
    if "auto" in request.POST:
        offers = services.request_dispatch_auto(request=sr, by=request.user)
    else:
        chosen = {int(v) for v in request.POST.getlist("candidate") if v.isdigit()}
        if not chosen:
            raise ValidationError(_("Choose at least one person to offer the task to."))
        if len(chosen) > MAX_CHOSEN:
            raise ValidationError(
                _("Offer it to at most %(n)d people at a time.") % {"n": MAX_CHOSEN}
            )
        offers = services.request_dispatch_chosen(
            request=sr, by=request.user, user_ids=chosen, candidates=CANDIDATES
        )
    if offers:
        messages.success(
            request,
            ngettext(
                "Offered to %(n)d person: %(names)s.",
                "Offered to %(n)d people: %(names)s.",
                len(offers),
            )
            % {"n": len(offers), "names": "、".join(person_name(o.user) for o in offers)},
        )
    else:
        messages.warning(
            request,
            _(
                "No one new was offered the task: enough offers are waiting, or no one else is free."
            ),
        )
    return redirect("request_detail", pk=sr.pk)


@_action("request_detail")
def request_review(request, pk):
    sr = _visible_request(request.user, pk)
    satisfied = request.POST.get("satisfied") == "yes"
    services.request_review(
        request=sr, by=request.user, satisfied=satisfied, comment=request.POST.get("comment", "")
    )
    if satisfied:
        messages.success(request, _("Thank you: the request is reviewed and closed."))
    else:
        messages.info(request, _("The request has been reopened so that it can be put right."))
    return redirect("request_detail", pk=sr.pk)


@_action("request_detail")
def request_return(request, pk):
    sr = _managed_request(request, pk)
    services.request_return(request=sr, by=request.user, reason=request.POST.get("reason", ""))
    messages.success(request, _("The request has been returned."))
    return redirect("request_detail", pk=sr.pk)


@_action("request_detail")
def request_cancel(request, pk):
    sr = _managed_request(request, pk)
    services.request_cancel(request=sr, by=request.user, reason=request.POST.get("reason", ""))
    messages.success(request, _("The request has been cancelled."))
    return redirect("request_detail", pk=sr.pk)


# --- The volunteer's tasks --------------------------------------------------------------------


@login_required
def my_tasks(request):
    """The volunteer's offers: open ones to answer, tasks taken, and history."""
    now = timezone.now()
    mine = Offer.objects.filter(user=request.user).select_related("request__grid")
    waiting = list(
        open_offers(request.user, now)
        .select_related("request__grid")
        .order_by("expires_at", "id")[:MAX_ROWS]
    )
    taken = list(
        mine.filter(status__in=(Offer.Status.ACCEPTED, Offer.Status.IN_SERVICE))
        .select_related(
            "request__created_by__member",
            "request__created_by__phone_record",
            "offered_by__member",
            "offered_by__phone_record",
        )
        .order_by("request__window_start", "id")[:MAX_ROWS]
    )
    for offer in waiting:
        offer.address = mask_address(offer.request.address)
    for offer in taken:
        offer.check_in_opens = offer.request.window_start - EARLY_CHECK_IN
        offer.contact = task_contact(offer, now)
        offer.address = (
            offer.contact.address if offer.contact else mask_address(offer.request.address)
        )
    # Each showing of a task's contact is audited: one entry per request, one query.
    audit_records(
        actor=request.user,
        action=AuditEntry.Action.REVEAL,
        objs=[offer.request for offer in taken if offer.contact],
        field=CONTACT_FIELDS,
        detail="task_contact my_tasks",
        request=request,
    )
    history = Paginator(
        mine.exclude(pk__in=[o.pk for o in waiting + taken]).order_by("-offered_at", "-id"),
        PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "volunteers/my_tasks.html",
        {
            "open_offers": waiting,
            "taken": taken,
            "items": history,
            "statuses": Offer.Status,
            "now": now,
        },
    )


def _offer(pk) -> Offer:
    return get_object_or_404(Offer.objects.select_related("request"), pk=pk)


@_action("my_tasks")
def task_accept(request, pk):
    offer = task_services.offer_accept(offer=_offer(pk), user=request.user)
    messages.success(
        request, _("You have taken “%(title)s”. Thank you!") % {"title": offer.request.title}
    )
    return redirect("my_tasks")


@_action("my_tasks")
def task_decline(request, pk):
    offer = task_services.offer_decline(
        offer=_offer(pk), user=request.user, reason=request.POST.get("reason", "")
    )
    messages.info(request, _("You declined “%(title)s”.") % {"title": offer.request.title})
    return redirect("my_tasks")


@_action("my_tasks")
def task_start(request, pk):
    offer = task_services.task_start(offer=_offer(pk), user=request.user)
    messages.success(
        request,
        _("Checked in at %(time)s.")
        % {"time": timezone.localtime(offer.started_at).strftime("%H:%M")},
    )
    return redirect("my_tasks")


@_action("my_tasks")
def task_complete(request, pk):
    offer = _offer(pk)
    if offer.user_id != request.user.pk:
        raise PermissionDenied(_("This task is someone else's."))
    form = CompleteForm(request.POST, request.FILES)
    if not form.is_valid():
        raise ValidationError([m for errors in form.errors.values() for m in errors])
    offer = task_services.task_complete(
        offer=offer,
        user=request.user,
        note=form.cleaned_data["note"],
        photo=form.cleaned_data["photo"] or None,
    )
    done = _("“%(title)s” is done. Thank you!") % {"title": offer.request.title}
    credited, earned = task_credit_summary(offer)
    # A task that earned nothing says why, as a warning rather than a thank-you alone.
    (messages.success if earned else messages.warning)(request, f"{done} {credited}".strip())
    return redirect("my_tasks")
