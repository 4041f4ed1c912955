"""A service request's lifecycle: which status may follow which, and the line
in the request's history (who, when, why: a RequestEvent) that every change
and every round of offers leaves. The writes of services.py (the request and
its offers) and task_services.py (the volunteer's tasks) move a request only
through ``request_move``, with its row locked (``request_locked``).

Lifecycle::

    new → dispatched → accepted → in_service → completed → reviewed
     ↑         ↓            ↓                       ↓ (unsatisfied)
     └── returned / escalated / cancelled ←─────────┘
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from volunteers.models import RequestEvent, ServiceRequest

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


def request_locked(request: ServiceRequest) -> ServiceRequest:
    """The request's row, locked until the transaction ends."""
    return ServiceRequest.objects.select_for_update().get(pk=request.pk)


def request_move(*, request: ServiceRequest, to: str, actor=None, note: str = "") -> None:
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


def request_note(*, request: ServiceRequest, actor=None, note: str) -> None:
    """A line in the request's history that does not change its status (another
    round of offers while it is dispatched, offers that went unanswered)."""
    RequestEvent.objects.create(
        request=request,
        from_status=request.status,
        to_status=request.status,
        actor=actor,
        note=note[:300],
    )
