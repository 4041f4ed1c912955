"""Reads about action items (督办事项): which ones are live (their minutes are
published), who answers for one, the overdue ones, and their addresses in
messages."""

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation

from alliance.models import ActionItem, Minutes
from portal.models import Role, RoleAssignment


def live_actions(qs: QuerySet | None = None) -> QuerySet:
    """Action items whose minutes are published (drafted ones do not count yet)."""
    qs = ActionItem.objects.all() if qs is None else qs
    return qs.filter(meeting__minutes__state=Minutes.State.PUBLISHED)


def is_live(action: ActionItem) -> bool:
    """Whether ``action`` counts yet (``live_actions``)."""
    return live_actions(ActionItem.objects.filter(pk=action.pk)).exists()


def overdue_actions(today: dt.date | None = None) -> QuerySet:
    """Live, open action items past their due date."""
    today = today or timezone.localdate()
    return live_actions().filter(status=ActionItem.Status.OPEN, due_on__lt=today)


def unit_people(action: ActionItem) -> list:
    """Who answers for ``action``: its owner person, the owner partner's
    contacts with an account and the owner branch's secretaries (active
    accounts, each once)."""
    people = {}
    if action.owner_id is not None:
        people[action.owner_id] = action.owner
    if action.owner_partner_id is not None:
        for contact in action.owner_partner.contacts.all():
            if contact.user_id is not None:
                people.setdefault(contact.user_id, contact.user)
    if action.owner_branch_id is not None:
        for assignment in RoleAssignment.objects.filter(
            role=Role.BRANCH_SECRETARY, page_id=action.owner_branch_id
        ).select_related("user"):
            people.setdefault(assignment.user_id, assignment.user)
    return [p for p in people.values() if p.is_active]


def action_url(action: ActionItem) -> str:
    """An action item's address, in the site's language (for messages)."""
    with translation.override(settings.LANGUAGE_CODE):
        return reverse("alliance_action", args=[action.pk])


def followup_url() -> str:
    """The follow-up board's address, in the site's language (for messages)."""
    with translation.override(settings.LANGUAGE_CODE):
        return reverse("alliance_followup")
