"""Reads for dispatch: who runs a grid's requests and where they may record
one, the branch a grid's requests go to, the offers waiting for an answer,
who is told when a request escalates or is done, what a completed task
earned, and the resident's contact a volunteer sees while the task is theirs."""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Page

from branches.models import GridBranchPage, GridPage
from portal.models import Role
from portal.names import person_name
from portal.roles import path_q, user_scope
from volunteers.models import CreditEvent, Offer, ServiceRequest

# The most grids the request form lists (a district administrator's whole tree
# is thousands); the rest are reached by recording from a narrower role.
MAX_GRIDS = 200

# --- Who runs requests, and where -------------------------------------------------------------


def runs_requests(user) -> bool:
    """The district, coordinators, secretaries and grid workers: people with a
    list of requests to run (the link on /me/ and the list's "record" button)."""
    scope = user_scope(user)
    return scope.is_district or bool(scope.paths or scope.grid_worker_paths)


def may_record(user) -> bool:
    scope = user_scope(user)
    return runs_requests(user) or Role.CENTRAL_HOUSEHOLD_HEAD in scope.roles


def is_grid_staff(user, request: ServiceRequest) -> bool:
    """The grid's staff: the district, coordinators and the secretary above the
    request's branch, and grid workers of its grid. They run the request and see
    the resident's address and phone in full."""
    scope = user_scope(user)
    return (
        scope.is_district
        or any(request.branch.path.startswith(p) for p in scope.paths)
        or any(request.grid.path.startswith(p) for p in scope.grid_worker_paths)
    )


def recordable_grids(user) -> tuple[list[GridPage], bool]:
    """The grids ``user`` may record a request in, in tree order: a grid
    worker's grids and those below them; a coordinator's grid and below; a
    secretary's branch's grid and below; a central household head's branch's
    grid and below (micro-wishes). At most ``MAX_GRIDS``; the flag says whether
    there were more."""
    scope = user_scope(user)
    step = Page.steplen
    qs = GridPage.objects.live()
    if not scope.is_district:
        staff = set(scope.paths)
        # Coordinators are assigned at grids, secretaries at branches (a branch's grid is its parent).
        at_grids = set(GridPage.objects.filter(path__in=staff).values_list("path", flat=True))
        roots = set(scope.grid_worker_paths) | at_grids | {p[:-step] for p in staff - at_grids}
        member = getattr(user, "member", None) if hasattr(user, "member") else None
        if Role.CENTRAL_HOUSEHOLD_HEAD in scope.roles and member is not None:
            roots.add(
                Page.objects.filter(pk=member.branch_id).values_list("path", flat=True)[0][:-step]
            )
        if not roots:
            return [], False
        qs = qs.filter(path_q("path", sorted(roots)))
    grids = list(qs.order_by("path").only("pk", "title", "path", "depth", "level")[: MAX_GRIDS + 1])
    return grids[:MAX_GRIDS], len(grids) > MAX_GRIDS


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


# --- Offers and tasks ------------------------------------------------------------------------


def places_taken(request: ServiceRequest) -> int:
    """Places filled in the request's current round."""
    return request.offers.filter(status__in=Offer.TAKEN, round=request.round).count()


def open_offers(user, now=None):
    """The offers waiting for ``user``'s answer (not yet expired)."""
    return Offer.objects.filter(
        user=user, status=Offer.Status.OFFERED, expires_at__gt=now or timezone.now()
    )


def holders_at_or_above(grid, role):
    """The users holding ``role`` at ``grid`` or any grid above it."""
    paths = [grid.path[:i] for i in range(4, len(grid.path) + 1, 4)]
    return (
        get_user_model()
        .objects.filter(role_assignments__role=role, role_assignments__page__path__in=paths)
        .distinct()
    )


def coordinators_of(request: ServiceRequest):
    """Who an unanswered urgent request escalates to: the grid's coordinators
    (assigned at the request's grid or any grid above it)."""
    return holders_at_or_above(request.grid, Role.GRID_COORDINATOR)


def reviewers_of(request: ServiceRequest):
    """Who is asked to review a completed request: the person who recorded it,
    else the grid workers of its grid (assigned at it or at a grid above it)."""
    if request.created_by_id:
        return [request.created_by]
    return holders_at_or_above(request.grid, Role.GRID_WORKER)


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
