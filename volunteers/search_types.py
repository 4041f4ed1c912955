"""Searchable duties, shifts, service records and service requests. Open duties
and their shifts are public (anyone may sign up from /volunteer/); the others
only for their branch's secretary, coordinators and the district. A service
record (one person's check-in at a shift) is seen by those and by the person; a
service request by those, by whoever recorded it and by the grid workers of its
grid (the resident's address is indexed masked, their phone not at all)."""

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.search_types import private_scope
from portal.i18n import in_every_language
from portal.masking import mask_address, mask_name
from portal.names import person_name
from search.registry import SearchType, register
from volunteers.models import CheckIn, Duty, Offer, ServiceRequest, Shift


def _kind(duty) -> str:
    """The duty's kind in both languages: 志愿 and "volunteer" both find an activity."""
    return in_every_language(Duty.Kind(duty.kind).label)


def _duty_document(duty) -> dict:
    shift = min(duty.shifts.all(), key=lambda s: s.starts_at, default=None)
    return {
        "title": duty.title,
        # The branch's name is in the body: a duty is not what 网格 or 支部 looks for.
        "body": " ".join(filter(None, [duty.description, duty.place, duty.branch.title])),
        "keywords": " ".join(filter(None, [_kind(duty), str(duty.required_skill or "")])),
        "url": reverse("volunteer_shift", args=[shift.pk]) if shift else "",
        "date": shift.starts_at if shift else duty.created_at,
        "status": "open" if duty.published else "closed",
        **private_scope(duty.branch, duty.group_id),
        "public": duty.published,
    }


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _shift_document(shift) -> dict:
    duty = shift.duty
    return {
        "title": f"{duty.title} {_when(shift.starts_at)}",
        "body": " ".join(filter(None, [duty.place, duty.branch.title])),
        "keywords": _kind(duty),
        "url": reverse("volunteer_shift", args=[shift.pk]),
        "date": shift.starts_at,
        "status": "cancelled" if shift.cancelled else "open",
        **private_scope(duty.branch, duty.group_id),
        "public": duty.published and not shift.cancelled,
    }


def _service_document(record) -> dict:
    duty = record.shift.duty
    return {
        "title": f"{person_name(record.user)} · {duty.title}",
        "body": " ".join(
            filter(None, [duty.place, duty.branch.title, _when(record.shift.starts_at)])
        ),
        "keywords": " ".join(
            filter(None, [str(_("Service record")), str(_("walk-in")) if record.walk_in else ""])
        ),
        "url": reverse("volunteer_shift", args=[record.shift_id]),
        "date": record.checked_in_at,
        "status": "review" if record.needs_review else ("done" if record.checked_out_at else "on"),
        **private_scope(duty.branch, duty.group_id),
        "owner_id": record.user_id,
    }


register(
    SearchType(
        name="duty",
        label=_("Duties"),
        model=Duty,
        queryset=lambda: Duty.objects.select_related("branch", "required_skill").prefetch_related(
            "shifts"
        ),
        document=_duty_document,
    )
)
register(
    SearchType(
        name="shift",
        label=_("Shifts"),
        model=Shift,
        queryset=lambda: Shift.objects.select_related("duty__branch"),
        document=_shift_document,
        # Ended shifts are history: members and residents find the upcoming ones.
        past_is_history=True,
    )
)
register(
    SearchType(
        name="service",
        label=_("Service records"),
        model=CheckIn,
        queryset=lambda: CheckIn.objects.select_related("shift__duty__branch", "user__member"),
        document=_service_document,
    )
)


def _request_document(request) -> dict:
    return {
        "title": request.title,
        "body": " ".join(
            filter(
                None,
                [
                    request.description,
                    in_every_language(ServiceRequest.Category(request.category).label),
                    # Not the grid's name: every grid is a 网格, and a request is not
                    # what 网格 looks for (the grid is a filter and on the page).
                    mask_address(request.address),
                    mask_name(request.requester_name),
                    # The people who took it (the list's "people"), by name.
                    *(
                        person_name(offer.user)
                        for offer in request.offers.all()
                        if offer.status in Offer.TAKEN
                    ),
                ],
            )
        ),
        "keywords": " ".join(
            [
                in_every_language(ServiceRequest.Category(request.category).label),
                # 微心愿, 督办事项, 批量导入; the usual source (网格员上报) says nothing.
                ""
                if request.source == ServiceRequest.Source.GRID_WORKER
                else in_every_language(ServiceRequest.Source(request.source).label),
                in_every_language(ServiceRequest.Urgency(request.urgency).label),
            ]
        ),
        "url": request_url(request.pk),
        "date": request.created_at,
        "status": request.status,
        # The grid is the grid worker's key; the branch the secretary's and the
        # coordinators'. Volunteers offered a request find it in their task list,
        # not here: a document has one owner, the person who recorded it.
        "grid_path": request.grid.path,
        "unit_path": request.branch.path,
        "owner_id": request.created_by_id,
    }


def request_url(pk) -> str:
    """Where a request's hit leads: its page, which checks who may see it."""
    return reverse("request_detail", args=[pk])


register(
    SearchType(
        name="request",
        label=_("Service requests"),
        model=ServiceRequest,
        queryset=lambda: ServiceRequest.objects.select_related("grid", "branch").prefetch_related(
            "offers__user__member"
        ),
        document=_request_document,
        in_units=lambda ids: ServiceRequest.objects.filter(
            Q(grid_id__in=ids) | Q(branch_id__in=ids)
        ),
        grid_workers=True,
    )
)
