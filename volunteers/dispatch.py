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
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from branches.models import GridBranchPage, GridPage
from portal import scheduling
from portal.i18n import in_language_of
from portal.models import Role
from portal.names import person_name
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
from volunteers.services import (
    EARLY_CHECK_IN,
    _post,
    ledger_minutes,
    overlapping_work,
    points_for,
)

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
def offers_send(
    *, request: ServiceRequest, users, by=None, reasons=None, how: str = ""
) -> list[Offer]:
    """Offer the request to ``users`` (each told by a background task). People
    who already hold a live offer for it are skipped. Every round of offers is
    a line in the request's history (who was offered it; ``how`` says why)."""
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
        with in_language_of(user):
            notify_on_commit(user, **_offer_message(offer))
    if not offers:
        return offers
    scheduling.run_at(expires)  # the worker expires unanswered offers then
    note = " ".join(
        filter(
            None,
            [
                _("Round %(n)s") % {"n": request.round} if request.round > 1 else "",
                how,
                _("Offered to %(names)s.")
                % {"names": "、".join(person_name(o.user) for o in offers)},
            ],
        )
    )
    if request.status != Status.DISPATCHED:
        _move(request, Status.DISPATCHED, actor=by, note=note)
    else:
        _note(request, actor=by, note=note)
    return offers


def _note(request: ServiceRequest, *, actor=None, note: str) -> None:
    """A line in the request's history that does not change its status (another
    round of offers while it is dispatched, offers that went unanswered)."""
    RequestEvent.objects.create(
        request=request,
        from_status=request.status,
        to_status=request.status,
        actor=actor,
        note=note[:300],
    )


def _taken(request: ServiceRequest) -> int:
    """Places filled in the request's current round."""
    return request.offers.filter(status__in=Offer.TAKEN, round=request.round).count()


def request_dispatch_auto(
    *, request: ServiceRequest, by=None, extra: int = 2, how: str = ""
) -> list[Offer]:
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
        request=request,
        users=[users[c.user_id] for c in candidates],
        by=by,
        reasons=reasons,
        how=" ".join(filter(None, [how, _("Automatic dispatch.")])),
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
    _check_open(offer, now)
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
        # Withdrawn, not answered: the others never replied (no reply time).
        request.offers.filter(status=Offer.Status.OFFERED).update(status=Offer.Status.WITHDRAWN)
        if request.status in (Status.DISPATCHED, Status.ESCALATED):
            request.accepted_at = now
            _move(request, Status.ACCEPTED, actor=user)
    return offer


@transaction.atomic
def offer_decline(*, offer: Offer, user, reason: str = "") -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if offer.user_id != user.pk:
        raise PermissionDenied(_("This offer was made to someone else."))
    _check_open(offer, timezone.now())
    offer.status, offer.answered_at = Offer.Status.DECLINED, timezone.now()
    offer.save(update_fields=["status", "answered_at"])
    return offer


def open_offers(user, now=None):
    """The offers waiting for ``user``'s answer (not yet expired)."""
    return Offer.objects.filter(
        user=user, status=Offer.Status.OFFERED, expires_at__gt=now or timezone.now()
    )


def _check_open(offer: Offer, now) -> None:
    """Refuse an answer to an offer that is no longer open, saying why."""
    if offer.status == Offer.Status.EXPIRED or (
        offer.status == Offer.Status.OFFERED and offer.expires_at <= now
    ):
        raise ValidationError(
            _("This offer expired at %(time)s without an answer; it has gone to someone else.")
            % {"time": timezone.localtime(offer.expires_at).strftime("%m-%d %H:%M")}
        )
    if offer.status == Offer.Status.WITHDRAWN:
        raise ValidationError(
            _("This offer was withdrawn: the places were filled or the request was called off.")
        )
    if offer.status != Offer.Status.OFFERED:
        raise ValidationError(_("This offer is no longer open."))


def _holders_at_or_above(grid, role):
    """The users holding ``role`` at ``grid`` or any grid above it."""
    paths = [grid.path[:i] for i in range(4, len(grid.path) + 1, 4)]
    return (
        get_user_model()
        .objects.filter(role_assignments__role=role, role_assignments__page__path__in=paths)
        .distinct()
    )


def _coordinators_of(request: ServiceRequest):
    """Who an unanswered urgent request escalates to: the grid's coordinators
    (assigned at the request's grid or any grid above it)."""
    return _holders_at_or_above(request.grid, Role.GRID_COORDINATOR)


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
            unanswered = ngettext(
                "%(n)d offer was not answered in time.",
                "%(n)d offers were not answered in time.",
                count,
            ) % {"n": count}
            if request.urgency == ServiceRequest.Urgency.URGENT and not taken:
                _move(
                    request,
                    Status.ESCALATED,
                    note=f"{unanswered} {_('Nobody accepted in time.')}",
                )
                for coordinator in _coordinators_of(request):
                    with in_language_of(coordinator):
                        notify_on_commit(
                            coordinator,
                            subject=_("Urgent request unanswered: %(title)s")
                            % {"title": request.title},
                            body=_(
                                "Nobody accepted %(title)s in %(grid)s in time. Please arrange it."
                            )
                            % {"title": request.title, "grid": request.grid.title},
                            url=reverse("request_detail", args=[request.pk]),
                        )
                continue
            if not request_dispatch_auto(request=request, extra=0, how=unanswered):
                waiting = request.offers.filter(status=Offer.Status.OFFERED).exists()
                _note(
                    request,
                    note=unanswered
                    if waiting
                    else f"{unanswered} {_('No one else is free to take it.')}",
                )
    return expired


# --- Serving and completing --------------------------------------------------------------------


def _own_task(offer: Offer, user) -> Offer:
    offer = Offer.objects.select_for_update().select_related("request").get(pk=offer.pk)
    if offer.user_id != user.pk:
        raise PermissionDenied(_("This task is someone else's."))
    return offer


@transaction.atomic
def task_start(*, offer: Offer, user, now=None) -> Offer:
    """Check in at the task. As for a shift, check-in is open from 30 minutes
    before the time window to its end; outside it, it is refused and says when
    (a task done already is finished with a photo and a note instead)."""
    offer = _own_task(offer, user)
    if offer.status == Offer.Status.IN_SERVICE:
        return offer
    if offer.status != Offer.Status.ACCEPTED:
        raise ValidationError(_("Only an accepted task can be started."))
    now = now or timezone.now()
    request = offer.request
    opens, closes = request.window_start - EARLY_CHECK_IN, request.window_end
    if not opens <= now <= closes:
        message = _("Check-in for this task is open from %(opens)s to %(closes)s.") % {
            "opens": timezone.localtime(opens).strftime("%m-%d %H:%M"),
            "closes": timezone.localtime(closes).strftime("%m-%d %H:%M"),
        }
        if now > closes:
            message += " " + _(
                "If you have done it, finish it with a photo and a note of what was done."
            )
        raise ValidationError(message)
    offer.status, offer.started_at = Offer.Status.IN_SERVICE, now
    offer.save(update_fields=["status", "started_at"])
    request = _locked(offer.request)
    if request.status == Status.ACCEPTED:
        _move(request, Status.IN_SERVICE, actor=user)
    return offer


@transaction.atomic
def task_complete(*, offer: Offer, user, note: str = "", photo=None, now=None) -> Offer:
    """Finish a task: needs a check-in (started, so check-out is now) or a
    photo and a note. When every place is done the request is completed and the
    person who recorded it is asked to review it; each completed task posts one
    credit event to the ledgers (``task_credit_summary`` says what it earned)."""
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
    now = now or timezone.now()
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
        for reviewer in _reviewers_of(request):
            with in_language_of(reviewer):
                notify_on_commit(
                    reviewer,
                    subject=_("Done, waiting for your review: %(title)s")
                    % {"title": request.title},
                    body=_(
                        "%(who)s has completed %(title)s. Ask the resident whether they are "
                        "satisfied and review it."
                    )
                    % {"who": person_name(user), "title": request.title},
                    url=reverse("request_detail", args=[request.pk]),
                )
    return offer


def _reviewers_of(request: ServiceRequest):
    """Who is asked to review a completed request: the person who recorded it,
    else the grid workers of its grid (assigned at it or at a grid above it)."""
    if request.created_by_id:
        return [request.created_by]
    return _holders_at_or_above(request.grid, Role.GRID_WORKER)


# Longest service one task credits.
MAX_TASK_MINUTES = 8 * 60


def task_minutes(offer: Offer) -> int:
    """Time served, by the duties' rule: from the later of check-in and the
    window's start to the earlier of completion and the window's end. A task
    finished with a photo and a note (no check-in) counts its window. At most
    8 hours."""
    request = offer.request
    start, end = request.window_start, request.window_end
    if offer.started_at and offer.finished_at:
        start, end = max(offer.started_at, start), min(offer.finished_at, end)
    minutes = int((end - start).total_seconds() // 60)
    return max(0, min(minutes, MAX_TASK_MINUTES))


def task_credit_summary(offer: Offer) -> tuple[str, bool]:
    """What a completed task earned, as a sentence for its volunteer, and whether
    it earned anything: a task that earns nothing always says why."""
    event = CreditEvent.objects.filter(offer=offer, kind=CreditEvent.Kind.CREDIT).first()
    if event is None:
        return "", False
    request = offer.request
    if not event.minutes:
        local = timezone.localtime
        return (
            _(
                "No service hours or points were credited: only the time between check-in "
                "and completion within the task's time (%(start)s–%(end)s) counts, to the "
                "nearest tenth of an hour, and you checked in at %(checked_in)s and finished "
                "at %(done)s."
            )
            % {
                "start": local(request.window_start).strftime("%m-%d %H:%M"),
                "end": local(request.window_end).strftime("%m-%d %H:%M"),
                "checked_in": local(offer.started_at).strftime("%m-%d %H:%M")
                if offer.started_at
                else "—",
                "done": local(offer.finished_at).strftime("%m-%d %H:%M"),
            },
            False,
        )
    hours = f"{event.minutes / 60:.1f}".removesuffix(".0")
    if not event.points:
        return (
            _(
                "%(hours)s hours of service credited, and no points: the district's points "
                "rule for volunteer activities gives none."
            )
            % {"hours": hours},
            True,
        )
    return (
        _("%(hours)s hours of service and %(points)s points credited.")
        % {"hours": hours, "points": f"{event.points:f}".removesuffix(".0")},
        True,
    )


def task_credit_post(*, offer: Offer) -> CreditEvent | None:
    """The same ledgers as duties: hours, points (the volunteer-activity rule)
    and the registration record when the task is in the community the person
    registered with. Once per task."""
    if CreditEvent.objects.filter(offer=offer).exists():
        return None
    minutes = ledger_minutes(task_minutes(offer))
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
    _withdraw_all(request, reason=reason.strip())
    _move(request, Status.RETURNED, actor=by, note=reason.strip())
    return request


@transaction.atomic
def request_cancel(*, request: ServiceRequest, by, reason: str) -> ServiceRequest:
    request = _locked(request)
    _require_manager(by, request)
    if not (reason or "").strip():
        raise ValidationError(_("Give the reason."))
    _withdraw_all(request, reason=reason.strip())
    _move(request, Status.CANCELLED, actor=by, note=reason.strip())
    return request


def _withdraw_all(request: ServiceRequest, *, reason: str) -> None:
    """Returning or cancelling a request withdraws its open offers and the tasks
    taken and not yet done (their volunteers no longer see the resident's
    contact), and tells the volunteers who had taken it."""
    live = (Offer.Status.OFFERED, Offer.Status.ACCEPTED, Offer.Status.IN_SERVICE)
    offers = list(request.offers.filter(status__in=live).select_related("user"))
    request.offers.filter(pk__in=[o.pk for o in offers]).update(status=Offer.Status.WITHDRAWN)
    for offer in offers:
        if offer.status == Offer.Status.OFFERED:
            continue
        with in_language_of(offer.user):
            notify_on_commit(
                offer.user,
                subject=_("Task withdrawn: %(title)s") % {"title": request.title},
                body=_("%(title)s has been withdrawn: %(reason)s")
                % {"title": request.title, "reason": reason},
                url=reverse("my_tasks"),
            )


# --- Who sees the resident's contact -----------------------------------------------------------

# How long after completing a task its volunteer still sees the contact.
CONTACT_AFTER = dt.timedelta(days=1)


def contact_until(offer: Offer):
    """Until when the person who took a task sees the resident's address, name
    and phone and the dispatcher's name and phone: from accepting it until a day
    after completing it (while it is not completed, a day after its time window
    ends). None for an offer that is not, or no longer, their task: offered,
    declined, expired or withdrawn (the places were filled, or the request was
    returned or cancelled)."""
    if offer.status in (Offer.Status.ACCEPTED, Offer.Status.IN_SERVICE):
        return offer.request.window_end + CONTACT_AFTER
    if offer.status == Offer.Status.COMPLETED and offer.finished_at:
        return offer.finished_at + CONTACT_AFTER
    return None


@dataclass(frozen=True)
class TaskContact:
    address: str
    resident: str
    phone: str
    dispatcher: str
    dispatcher_phone: str
    until: dt.datetime


def phone_of(user) -> str:
    """A staff member's phone for volunteers to call back: the mobile number
    their account signs in with, else their member record's."""
    for related in ("phone_record", "member"):
        record = getattr(user, related, None) if hasattr(user, related) else None
        if record is not None and record.phone:
            return record.phone
    return ""


def task_contact(offer: Offer, now=None) -> TaskContact | None:
    """The contact the volunteer of ``offer`` sees in full now (the view audits
    each showing), or None outside ``contact_until``. The dispatcher is the
    person who offered the task, else (offered automatically) its recorder."""
    until = contact_until(offer)
    if until is None or (now or timezone.now()) >= until:
        return None
    request = offer.request
    dispatcher = offer.offered_by or request.created_by
    return TaskContact(
        address=request.address,
        resident=request.requester_name,
        phone=request.requester_phone,
        dispatcher=person_name(dispatcher) if dispatcher else "",
        dispatcher_phone=phone_of(dispatcher) if dispatcher else "",
        until=until,
    )
