"""Writes for volunteer dispatch: recording a request, offering it, accepting,
serving, completing and reviewing it. Every status change is recorded (who,
when, why) as a RequestEvent.

Concurrency: an accept locks the volunteer's row, then the request's row
(PostgreSQL SELECT … FOR UPDATE; SQLite runs writers one at a time), so a place
is never filled twice and a volunteer never takes two overlapping tasks.

Lifecycle::

    new → dispatched → accepted → in_service → completed → reviewed
     ↑         ↓            ↓                       ↓ (unsatisfied)
     └── returned / escalated / cancelled ←─────────┘
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import GridBranchPage, GridPage
from portal import scheduling
from portal.models import Role
from portal.notify import notify_on_commit
from portal.roles import can_access, user_scope
from volunteers.models import (
    CommunityRegistration,
    CreditEvent,
    Duty,
    Offer,
    RequestEvent,
    ServiceRequest,
    SignUp,
)
from volunteers.services import _post, overlapping_work, points_for

Status = ServiceRequest.Status

# Which status may follow which (anything may be cancelled while open).
TRANSITIONS = {
    Status.NEW: {Status.DISPATCHED, Status.CANCELLED},
    Status.DISPATCHED: {Status.ACCEPTED, Status.RETURNED, Status.ESCALATED, Status.CANCELLED},
    Status.ACCEPTED: {Status.IN_SERVICE, Status.COMPLETED, Status.RETURNED, Status.CANCELLED},
    Status.IN_SERVICE: {Status.COMPLETED, Status.CANCELLED},
    Status.COMPLETED: {Status.REVIEWED},
    Status.REVIEWED: {Status.DISPATCHED, Status.RETURNED},
    Status.RETURNED: {Status.DISPATCHED, Status.CANCELLED},
    Status.ESCALATED: {Status.DISPATCHED, Status.RETURNED, Status.CANCELLED},
    Status.CANCELLED: set(),
}


def _move(request: ServiceRequest, to: str, *, actor=None, note: str = "") -> None:
    """Change the status and record it (call with the request locked)."""
    if to not in TRANSITIONS[request.status]:
        raise ValidationError(
            _("A request that is %(now)s cannot become %(to)s.")
            % {"now": request.get_status_display(), "to": Status(to).label}
        )
    RequestEvent.objects.create(
        request=request, from_status=request.status, to_status=to, actor=actor, note=note[:300]
    )
    request.status = to
    request.save(update_fields=["status", "accepted_at", "completed_at"])


def _locked(request: ServiceRequest) -> ServiceRequest:
    return ServiceRequest.objects.select_for_update().get(pk=request.pk)


def _require_manager(user, request: ServiceRequest) -> None:
    """Dispatching, returning and cancelling: the district, the coordinators and
    secretary of the request's branch, and grid workers of its grid."""
    scope = user_scope(user)
    if not (scope.is_district or scope.paths or scope.grid_worker_paths) or not can_access(
        user, request
    ):
        raise PermissionDenied(_("Only the people who run this grid may do this."))


def branch_for_grid(grid: GridPage) -> GridBranchPage:
    """The branch responsible for a grid: the one under the grid's third-level
    grid (itself, or its ancestor for micro and dedicated grids below it)."""
    for page in [grid, *reversed(grid.get_ancestors().specific())]:
        if isinstance(page, GridPage) and page.level == GridPage.Level.THIRD:
            branch = GridBranchPage.objects.child_of(page).first()
            if branch is not None:
                return branch
    raise ValidationError(
        {"grid": _("Choose a third-level grid or a grid below one: it has no party branch.")}
    )


@transaction.atomic
def request_create(
    *,
    by,
    grid: GridPage,
    title: str,
    category: str,
    window_start,
    window_end,
    source: str = ServiceRequest.Source.GRID_WORKER,
    description: str = "",
    address: str = "",
    requester_name: str = "",
    requester_phone: str = "",
    urgency: str = ServiceRequest.Urgency.NORMAL,
    people_needed: int = 1,
    skills=(),
    latitude=None,
    longitude=None,
    offer_minutes: int = 30,
) -> ServiceRequest:
    """Record a resident's need; refused, with per-field messages, when it is
    incomplete or the grid is outside the recorder's scope."""
    scope = user_scope(by)
    branch = branch_for_grid(grid)
    # A secretary's path is their branch, which sits below the grid it serves.
    in_scope = (
        scope.is_district
        or any(path.startswith(p) for path in (grid.path, branch.path) for p in scope.paths)
        or any(grid.path.startswith(p) for p in scope.grid_worker_paths)
    )
    is_wish_taker = source == ServiceRequest.Source.MICRO_WISH and (
        Role.CENTRAL_HOUSEHOLD_HEAD in scope.roles
    )
    if not (in_scope or is_wish_taker):
        raise PermissionDenied(_("You may record requests only in your own grid."))
    request = ServiceRequest(
        title=(title or "").strip(),
        description=(description or "").strip(),
        category=category,
        source=source,
        grid=grid,
        branch=branch,
        address=(address or "").strip(),
        requester_name=(requester_name or "").strip(),
        requester_phone=(requester_phone or "").strip(),
        latitude=latitude,
        longitude=longitude,
        window_start=window_start,
        window_end=window_end,
        urgency=urgency,
        people_needed=people_needed,
        offer_minutes=offer_minutes,
        created_by=by,
    )
    request.full_clean(exclude=["skills"])
    request.save()
    request.skills.set(skills)
    RequestEvent.objects.create(request=request, to_status=Status.NEW, actor=by)
    return request


# --- Offers ----------------------------------------------------------------------------------


def _offer_message(offer: Offer) -> dict:
    request = offer.request
    when = timezone.localtime(request.window_start).strftime("%m-%d %H:%M")
    return {
        "subject": _("A task for you: %(title)s") % {"title": request.title},
        "body": _("%(title)s, %(when)s, %(grid)s. Please answer within %(minutes)d minutes.")
        % {
            "title": request.title,
            "when": when,
            "grid": request.grid.title,
            "minutes": request.offer_minutes,
        },
        "url": reverse("my_tasks"),
    }


@transaction.atomic
def offers_send(*, request: ServiceRequest, users, by=None, reasons=None) -> list[Offer]:
    """Offer the request to ``users`` (each told by a background task). People
    who already hold a live offer for it are skipped."""
    request = _locked(request)
    if by is not None:
        _require_manager(by, request)
    if request.status not in (
        Status.NEW,
        Status.DISPATCHED,
        Status.RETURNED,
        Status.ESCALATED,
        Status.REVIEWED,
    ):
        raise ValidationError(
            _("A request that is %(now)s cannot be offered.")
            % {"now": request.get_status_display()}
        )
    expires = timezone.now() + dt.timedelta(minutes=request.offer_minutes)
    offers = []
    for user in users:
        try:
            with transaction.atomic():
                offer = Offer.objects.create(
                    request=request,
                    round=request.round,
                    user=user,
                    offered_by=by,
                    expires_at=expires,
                    **(reasons or {}).get(user.pk, {}),
                )
        except IntegrityError:
            continue  # already offered or taken
        offers.append(offer)
        notify_on_commit(user, **_offer_message(offer))
    if offers:
        scheduling.run_at(expires)  # the worker expires unanswered offers then
    if offers and request.status != Status.DISPATCHED:
        _move(request, Status.DISPATCHED, actor=by, note=_("Offered to %(n)d") % {"n": len(offers)})
    return offers


def _taken(request: ServiceRequest) -> int:
    """Places filled in the request's current round."""
    return request.offers.filter(status__in=Offer.TAKEN, round=request.round).count()


def request_dispatch_auto(*, request: ServiceRequest, by=None, extra: int = 2) -> list[Offer]:
    """Offer the request to the best-ranked candidates: as many as places still
    open, plus ``extra`` (the first acceptances fill the places)."""
    from volunteers.matching import rank_candidates

    taken = _taken(request)
    waiting = request.offers.filter(status=Offer.Status.OFFERED).count()
    wanted = max(0, request.people_needed - taken + extra - waiting)
    if not wanted:
        return []
    candidates = rank_candidates(request, limit=wanted)
    users = get_user_model().objects.in_bulk([c.user_id for c in candidates])
    reasons = {
        c.user_id: {"score": c.score, "reasons": {"reasons": c.reasons, "factors": c.factors}}
        for c in candidates
    }
    return offers_send(
        request=request, users=[users[c.user_id] for c in candidates], by=by, reasons=reasons
    )


@transaction.atomic
def offer_accept(*, offer: Offer, user) -> Offer:
    """Take a place: refused when the offer is not the user's, has expired or
    been withdrawn, the places are filled, or the user already has work at an
    overlapping time. Filling the last place withdraws the other offers."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    request = ServiceRequest.objects.select_for_update().get(pk=offer.request_id)
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if offer.user_id != user.pk:
        raise PermissionDenied(_("This offer was made to someone else."))
    if offer.status in Offer.TAKEN:
        return offer
    now = timezone.now()
    if offer.status != Offer.Status.OFFERED or offer.expires_at <= now:
        raise ValidationError(_("This offer is no longer open."))
    taken = _taken(request)
    if taken >= request.people_needed:
        raise ValidationError(_("All places of this task have been taken. Thank you!"))
    clash = overlapping_work(
        user,
        request.window_start,
        request.window_end,
        signups=(SignUp.Status.CONFIRMED,),
        except_offer=offer,
    )
    if clash is not None:
        raise ValidationError(
            _("You already have %(what)s at %(time)s, which overlaps this task.")
            % {"what": clash[0], "time": timezone.localtime(clash[1]).strftime("%m-%d %H:%M")}
        )
    offer.status, offer.answered_at = Offer.Status.ACCEPTED, now
    offer.save(update_fields=["status", "answered_at"])
    if taken + 1 == request.people_needed:
        request.offers.filter(status=Offer.Status.OFFERED).update(
            status=Offer.Status.WITHDRAWN, answered_at=now
        )
        if request.status in (Status.DISPATCHED, Status.ESCALATED):
            request.accepted_at = now
            _move(request, Status.ACCEPTED, actor=user)
    return offer


@transaction.atomic
def offer_decline(*, offer: Offer, user, reason: str = "") -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if offer.user_id != user.pk:
        raise PermissionDenied(_("This offer was made to someone else."))
    if offer.status != Offer.Status.OFFERED:
        raise ValidationError(_("This offer is no longer open."))
    offer.status, offer.answered_at = Offer.Status.DECLINED, timezone.now()
    offer.save(update_fields=["status", "answered_at"])
    return offer


def _coordinators_of(request: ServiceRequest):
    """Who an unanswered urgent request escalates to: the grid's coordinators
    (assigned at the request's grid or any grid above it)."""
    paths = [request.grid.path[:i] for i in range(4, len(request.grid.path) + 1, 4)]
    return (
        get_user_model()
        .objects.filter(
            role_assignments__role=Role.GRID_COORDINATOR, role_assignments__page__path__in=paths
        )
        .distinct()
    )


def offers_expire(now=None) -> int:
    """Expire unanswered offers whose time is up; offer the request to the next
    candidates; an urgent request with no one in time goes to the grid's
    coordinators. Returns how many offers expired. Safe to run at any time."""
    now = now or timezone.now()
    expired = 0
    due = (
        Offer.objects.filter(status=Offer.Status.OFFERED, expires_at__lte=now)
        .values_list("request_id", flat=True)
        .distinct()
    )
    for request_id in list(due):
        with transaction.atomic():
            request = ServiceRequest.objects.select_for_update().get(pk=request_id)
            count = request.offers.filter(status=Offer.Status.OFFERED, expires_at__lte=now).update(
                status=Offer.Status.EXPIRED
            )
            expired += count
            taken = _taken(request)
            if taken >= request.people_needed or request.status != Status.DISPATCHED:
                continue
            if request.urgency == ServiceRequest.Urgency.URGENT and not taken:
                _move(request, Status.ESCALATED, note=_("Nobody accepted in time."))
                for coordinator in _coordinators_of(request):
                    notify_on_commit(
                        coordinator,
                        subject=_("Urgent request unanswered: %(title)s")
                        % {"title": request.title},
                        body=_("Nobody accepted %(title)s in %(grid)s in time. Please arrange it.")
                        % {"title": request.title, "grid": request.grid.title},
                        url=reverse("request_detail", args=[request.pk]),
                    )
                continue
            request_dispatch_auto(request=request, extra=0)
    return expired


# --- Serving and completing --------------------------------------------------------------------


def _own_task(offer: Offer, user) -> Offer:
    offer = Offer.objects.select_for_update().select_related("request").get(pk=offer.pk)
    if offer.user_id != user.pk:
        raise PermissionDenied(_("This task is someone else's."))
    return offer


@transaction.atomic
def task_start(*, offer: Offer, user) -> Offer:
    """Check in at the task (the time counts from here)."""
    offer = _own_task(offer, user)
    if offer.status == Offer.Status.IN_SERVICE:
        return offer
    if offer.status != Offer.Status.ACCEPTED:
        raise ValidationError(_("Only an accepted task can be started."))
    offer.status, offer.started_at = Offer.Status.IN_SERVICE, timezone.now()
    offer.save(update_fields=["status", "started_at"])
    request = _locked(offer.request)
    if request.status == Status.ACCEPTED:
        _move(request, Status.IN_SERVICE, actor=user)
    return offer


@transaction.atomic
def task_complete(*, offer: Offer, user, note: str = "", photo=None) -> Offer:
    """Finish a task: needs a check-in (started, so check-out is now) or a
    photo and a note. When every place is done the request is completed; each
    completed task posts one credit event to the ledgers."""
    offer = _own_task(offer, user)
    if offer.status == Offer.Status.COMPLETED:
        return offer
    if offer.status not in (Offer.Status.ACCEPTED, Offer.Status.IN_SERVICE):
        raise ValidationError(_("Only an accepted task can be completed."))
    note = (note or "").strip()
    if offer.started_at is None and not (photo and note):
        raise ValidationError(
            _("Check in when you start, or add a photo and a note of what was done.")
        )
    now = timezone.now()
    offer.status, offer.finished_at = Offer.Status.COMPLETED, now
    offer.completion_note, offer.completion_photo = note, photo
    offer.save(update_fields=["status", "finished_at", "completion_note", "completion_photo"])
    task_credit_post(offer=offer)
    request = _locked(offer.request)
    open_places = request.offers.filter(
        status__in=(Offer.Status.ACCEPTED, Offer.Status.IN_SERVICE)
    ).exists()
    if not open_places and request.status in (Status.ACCEPTED, Status.IN_SERVICE):
        request.completed_at = now
        _move(request, Status.COMPLETED, actor=user, note=note)
    return offer


def task_minutes(offer: Offer) -> int:
    """Time served: from check-in to completion, else the request's window
    (capped at 8 hours)."""
    if offer.started_at and offer.finished_at:
        minutes = int((offer.finished_at - offer.started_at).total_seconds() // 60)
    else:
        request = offer.request
        minutes = int((request.window_end - request.window_start).total_seconds() // 60)
    return max(0, min(minutes, 8 * 60))


def task_credit_post(*, offer: Offer) -> CreditEvent | None:
    """The same ledgers as duties: hours, points (the volunteer-activity rule)
    and the registration record when the task is in the community the person
    registered with. Once per task."""
    if CreditEvent.objects.filter(offer=offer).exists():
        return None
    minutes = task_minutes(offer)
    request = offer.request
    registration = CommunityRegistration.objects.filter(
        member__user_id=offer.user_id,
        branch_id=request.branch_id,
        status=CommunityRegistration.Status.APPROVED,
    ).first()
    event = CreditEvent.objects.create(
        user_id=offer.user_id,
        offer=offer,
        revision=0,
        kind=CreditEvent.Kind.CREDIT,
        year=timezone.localtime(request.window_start).year,
        minutes=minutes,
        points=points_for(Duty.Kind.ACTIVITY, minutes),
        registration=registration if minutes else None,
        services=1 if registration and minutes else 0,
    )
    _post(event)
    return event


# --- Review, return, cancel -------------------------------------------------------------------


@transaction.atomic
def request_review(*, request: ServiceRequest, by, satisfied: bool, comment: str = ""):
    """The requester or a grid worker reviews a completed request; an
    unsatisfied review reopens it for dispatch."""
    request = _locked(request)
    scope = user_scope(by)
    allowed = request.created_by_id == by.pk or (
        (scope.is_district or scope.paths or scope.grid_worker_paths) and can_access(by, request)
    )
    if not allowed:
        raise PermissionDenied(_("Only the person who recorded it or the grid's staff may review."))
    comment = (comment or "").strip()
    if not satisfied and not comment:
        raise ValidationError(_("Say what was not right, so that it can be put right."))
    if request.status != Status.COMPLETED:
        raise ValidationError(_("Only a completed request can be reviewed."))
    request.satisfied, request.review_comment = satisfied, comment
    request.save(update_fields=["satisfied", "review_comment"])
    _move(request, Status.REVIEWED, actor=by, note=comment)
    if not satisfied:
        request.completed_at = None
        request.accepted_at = None
        request.round += 1
        request.save(update_fields=["round"])
        _move(request, Status.RETURNED, actor=by, note=_("Reopened: %(c)s") % {"c": comment})
    return request


@transaction.atomic
def request_return(*, request: ServiceRequest, by, reason: str) -> ServiceRequest:
    """Send a request back to the grid (e.g. it cannot be served as asked)."""
    request = _locked(request)
    _require_manager(by, request)
    if not (reason or "").strip():
        raise ValidationError(_("Give the reason."))
    request.offers.filter(status=Offer.Status.OFFERED).update(status=Offer.Status.WITHDRAWN)
    _move(request, Status.RETURNED, actor=by, note=reason.strip())
    return request


@transaction.atomic
def request_cancel(*, request: ServiceRequest, by, reason: str) -> ServiceRequest:
    request = _locked(request)
    _require_manager(by, request)
    if not (reason or "").strip():
        raise ValidationError(_("Give the reason."))
    request.offers.filter(
        Q(status=Offer.Status.OFFERED)
        | Q(status__in=(Offer.Status.ACCEPTED, Offer.Status.IN_SERVICE))
    ).update(status=Offer.Status.WITHDRAWN)
    _move(request, Status.CANCELLED, actor=by, note=reason.strip())
    return request
