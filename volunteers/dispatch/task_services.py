"""Writes for the volunteer's side of dispatch (接单、服务、办结): answering an
offer (accept or decline), checking in at the task and completing it, and the
credit a completed task posts to the ledgers (volunteers/ledgers.py). The
request moves along its lifecycle (lifecycle.py) as its places fill and its
tasks are done.

Concurrency: an accept locks the volunteer's row, then the request's row
(PostgreSQL SELECT … FOR UPDATE; SQLite runs writers one at a time), so a place
is never filled twice and a volunteer never takes two overlapping tasks."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.i18n import in_language_of
from portal.names import person_name
from portal.notify import notify_on_commit
from volunteers.dispatch.lifecycle import Status, request_locked, request_move
from volunteers.dispatch.selectors import places_taken, reviewers_of, task_minutes
from volunteers.duties.selectors import overlapping_work
from volunteers.duties.services import EARLY_CHECK_IN
from volunteers.ledgers import approved_registration, ledger_minutes, ledger_post, points_for
from volunteers.models import CreditEvent, Duty, Offer, ServiceRequest, SignUp

# --- Answering an offer ------------------------------------------------------------------------


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
    taken = places_taken(request)
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
            request_move(request=request, to=Status.ACCEPTED, actor=user)
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
    request = request_locked(offer.request)
    if request.status == Status.ACCEPTED:
        request_move(request=request, to=Status.IN_SERVICE, actor=user)
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
    request = request_locked(offer.request)
    open_places = request.offers.filter(
        status__in=(Offer.Status.ACCEPTED, Offer.Status.IN_SERVICE)
    ).exists()
    if not open_places and request.status in (Status.ACCEPTED, Status.IN_SERVICE):
        request.completed_at = now
        request_move(request=request, to=Status.COMPLETED, actor=user, note=note)
        for reviewer in reviewers_of(request):
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


def task_credit_post(*, offer: Offer) -> CreditEvent | None:
    """The same ledgers as duties: hours, points (the volunteer-activity rule)
    and the registration record when the task is in the community the person
    registered with. Once per task."""
    if CreditEvent.objects.filter(offer=offer).exists():
        return None
    minutes = ledger_minutes(task_minutes(offer))
    request = offer.request
    registration = approved_registration(user_id=offer.user_id, branch_id=request.branch_id)
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
    ledger_post(event=event)
    return event
