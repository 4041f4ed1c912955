"""Writes for the grid's side of dispatch (居民点单、社区派单、评价): recording a
resident's request, offering it to volunteers (chosen, or the best-ranked:
matching.py), expiring unanswered offers (and what that escalates), and
reviewing, returning or cancelling it. Each status change goes through the
request's lifecycle (lifecycle.py) and is recorded as a RequestEvent; the
volunteer's answers and tasks are in task_services.py."""

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from branches.models import GridPage
from portal import scheduling
from portal.i18n import in_language_of
from portal.models import Role
from portal.names import person_name
from portal.notify import notify_on_commit
from portal.roles import can_access, user_scope
from volunteers.dispatch.lifecycle import Status, request_locked, request_move, request_note
from volunteers.dispatch.matching import Candidate, rank_candidates
from volunteers.dispatch.selectors import branch_for_grid, coordinators_of, places_taken
from volunteers.models import Offer, RequestEvent, RequestPhoto, ServiceRequest


def _require_manager(user, request: ServiceRequest) -> None:
    """Dispatching, returning and cancelling: the district, the coordinators and
    secretary of the request's branch, and grid workers of its grid."""
    scope = user_scope(user)
    if not (scope.is_district or scope.paths or scope.grid_worker_paths) or not can_access(
        user, request
    ):
        raise PermissionDenied(_("Only the people who run this grid may do this."))


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
    photos=(),
) -> ServiceRequest:
    """Record a resident's need, with its ``photos`` (checked uploads); refused,
    with per-field messages, when it is incomplete or the grid is outside the
    recorder's scope."""
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
    for i, photo in enumerate(photos):
        RequestPhoto.objects.create(request=request, image=photo, sort_order=i)
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
    request = request_locked(request)
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
        request_move(request=request, to=Status.DISPATCHED, actor=by, note=note)
    else:
        request_note(request=request, actor=by, note=note)
    return offers


def request_dispatch_auto(
    *, request: ServiceRequest, by=None, extra: int = 2, how: str = ""
) -> list[Offer]:
    """Offer the request to the best-ranked candidates: as many as places still
    open, plus ``extra`` (the first acceptances fill the places)."""
    taken = places_taken(request)
    waiting = request.offers.filter(status=Offer.Status.OFFERED).count()
    wanted = max(0, request.people_needed - taken + extra - waiting)
    if not wanted:
        return []
    candidates = rank_candidates(request, limit=wanted)
    users = get_user_model().objects.in_bulk([c.user_id for c in candidates])
    return offers_send(
        request=request,
        users=[users[c.user_id] for c in candidates],
        by=by,
        reasons=_offer_reasons(candidates),
        how=" ".join(filter(None, [how, _("Automatic dispatch.")])),
    )


def request_dispatch_chosen(
    *, request: ServiceRequest, by, user_ids, candidates: int
) -> list[Offer]:
    """Offer the request to the people of ``user_ids`` the dispatcher chose from
    its ``candidates`` best-ranked candidates: only those still among them are
    offered it (the list may have changed since it was shown)."""
    ranked = {c.user_id: c for c in rank_candidates(request, limit=candidates)}
    people = list(get_user_model().objects.filter(pk__in=[pk for pk in user_ids if pk in ranked]))
    return offers_send(
        request=request, users=people, by=by, reasons=_offer_reasons(ranked.values())
    )


def _offer_reasons(candidates: Iterable[Candidate]) -> dict[int, dict]:
    """Each candidate's score and reasons, kept with the offer made to them."""
    return {
        c.user_id: {"score": c.score, "reasons": {"reasons": c.reasons, "factors": c.factors}}
        for c in candidates
    }


def offers_expire(*, now=None) -> int:
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
            taken = places_taken(request)
            if taken >= request.people_needed or request.status != Status.DISPATCHED:
                continue
            unanswered = ngettext(
                "%(n)d offer was not answered in time.",
                "%(n)d offers were not answered in time.",
                count,
            ) % {"n": count}
            if request.urgency == ServiceRequest.Urgency.URGENT and not taken:
                request_move(
                    request=request,
                    to=Status.ESCALATED,
                    note=f"{unanswered} {_('Nobody accepted in time.')}",
                )
                for coordinator in coordinators_of(request):
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
                request_note(
                    request=request,
                    note=unanswered
                    if waiting
                    else f"{unanswered} {_('No one else is free to take it.')}",
                )
    return expired


# --- Review, return, cancel -------------------------------------------------------------------


@transaction.atomic
def request_review(*, request: ServiceRequest, by, satisfied: bool, comment: str = ""):
    """The requester or a grid worker reviews a completed request; an
    unsatisfied review reopens it for dispatch."""
    request = request_locked(request)
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
    request_move(request=request, to=Status.REVIEWED, actor=by, note=comment)
    if not satisfied:
        request.completed_at = None
        request.accepted_at = None
        request.round += 1
        request.save(update_fields=["round"])
        request_move(
            request=request,
            to=Status.RETURNED,
            actor=by,
            note=_("Reopened: %(c)s") % {"c": comment},
        )
    return request


@transaction.atomic
def request_return(*, request: ServiceRequest, by, reason: str) -> ServiceRequest:
    """Send a request back to the grid (e.g. it cannot be served as asked)."""
    request = request_locked(request)
    _require_manager(by, request)
    if not (reason or "").strip():
        raise ValidationError(_("Give the reason."))
    _withdraw_all(request, reason=reason.strip())
    request_move(request=request, to=Status.RETURNED, actor=by, note=reason.strip())
    return request


@transaction.atomic
def request_cancel(*, request: ServiceRequest, by, reason: str) -> ServiceRequest:
    request = request_locked(request)
    _require_manager(by, request)
    if not (reason or "").strip():
        raise ValidationError(_("Give the reason."))
    _withdraw_all(request, reason=reason.strip())
    request_move(request=request, to=Status.CANCELLED, actor=by, note=reason.strip())
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
