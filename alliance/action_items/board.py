"""The follow-up board (督办台账): the live action items a user follows, in
four groups (overdue, due within 7 days, open and due later, done in the last
30 days), by owner unit."""

import datetime as dt

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from alliance.access import alliances_run_by, partner_of
from alliance.action_items.selectors import live_actions
from alliance.models import ActionItem, Alliance
from portal.names import full_name_sql
from portal.roles import path_q, user_scope

Status = ActionItem.Status
# "Due soon" on the board: due within this many days from today.
DUE_SOON_DAYS = 7
# "Done" on the board: closed within this many days.
DONE_DAYS = 30
BOARD_GROUPS = ("overdue", "due_soon", "open", "done")


def board_actions(user, alliance: Alliance | None = None) -> QuerySet:
    """The live action items ``user`` follows: those they may update
    (``alliance.access.actions_updatable_by``: their own, their partner unit's,
    their branches' and those of the alliances they run) and those of the
    meetings they convened. The rule is spelled out flat here, with the run
    alliances as a list, because the board counts and pages four groups with it
    and nested subqueries cost more to plan than the rows they return."""
    qs = live_actions()
    scope = user_scope(user)
    if not scope.is_district:
        run = list(alliances_run_by(user).values_list("pk", flat=True))
        q = Q(owner=user) | Q(meeting__convener=user) | Q(meeting__alliance_id__in=run)
        partner = partner_of(user)
        if partner is not None:
            q |= Q(owner_partner=partner)
        if scope.paths:
            q |= path_q("owner_branch__path", scope.paths)
        qs = qs.filter(q)
    if alliance is not None:
        qs = qs.filter(meeting__alliance=alliance)
    return qs


def followup_board(*, user, alliance: Alliance | None = None, today: dt.date | None = None):
    """The action items ``user`` follows, in four groups — ``overdue``,
    ``due_soon`` (within 7 days), ``open`` (later) and ``done`` (closed in the
    last 30 days) — each ordered by owner unit, then due date. Returns a dict of
    unevaluated querysets (the page paginates each). Each item carries what the
    board shows as annotations — ``owner_unit``, ``owner_name`` (as
    ``alliance.names.person_name`` names people) and ``meeting_title`` — so a
    page of 200 builds 200 objects, not a thousand related ones."""
    today = today or timezone.localdate()
    base = (
        board_actions(user, alliance)
        .only("id", "title", "status", "due_on", "done_at", "owner_id", "meeting_id")
        .annotate(
            owner_unit=Coalesce(F("owner_partner__name"), F("owner_branch__title"), Value("")),
            owner_name=Coalesce(
                NullIf(F("owner__partner_contact__name"), Value("")),
                F("owner__member__name"),
                full_name_sql("owner__"),
                F("owner__username"),
                Value(""),
            ),
            meeting_title=F("meeting__title"),
        )
    )
    open_ = base.filter(status=Status.OPEN)
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    since = timezone.now() - dt.timedelta(days=DONE_DAYS)
    order = ("owner_unit", "due_on", "id")
    return {
        "overdue": open_.filter(due_on__lt=today).order_by(*order),
        "due_soon": open_.filter(due_on__gte=today, due_on__lte=soon).order_by(*order),
        "open": open_.filter(due_on__gt=soon).order_by(*order),
        "done": base.filter(status=Status.DONE, done_at__gte=since).order_by(
            "owner_unit", "-done_at", "id"
        ),
    }
