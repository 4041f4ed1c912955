"""Searchable duties: open ones are public (anyone may sign up from /volunteer/),
the others only for their branch's secretary, coordinators and the district."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from branches.search_types import private_scope
from search.registry import SearchType, register
from volunteers.models import Duty


def _document(duty) -> dict:
    shift = min(duty.shifts.all(), key=lambda s: s.starts_at, default=None)
    return {
        "title": duty.title,
        # The branch's name is in the body: a duty is not what 网格 or 支部 looks for.
        "body": " ".join(filter(None, [duty.description, duty.place, duty.branch.title])),
        "keywords": " ".join(
            filter(None, [str(duty.get_kind_display()), str(duty.required_skill or "")])
        ),
        "url": reverse("volunteer_shift", args=[shift.pk]) if shift else "",
        "date": shift.starts_at if shift else duty.created_at,
        "status": "open" if duty.published else "closed",
        **private_scope(duty.branch, duty.group_id),
        "public": duty.published,
    }


register(
    SearchType(
        name="duty",
        label=_("Duties"),
        model=Duty,
        queryset=lambda: Duty.objects.select_related("branch", "required_skill").prefetch_related(
            "shifts"
        ),
        document=_document,
    )
)
