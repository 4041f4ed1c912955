"""Following action items up to the end (督办): who answers for an item, the
overdue ones and their daily reminders, and the follow-up board."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from alliance.access import alliances_run_by, partner_of
from alliance.minutes import REMINDER_HOUR, live_actions, unit_people
from alliance.models import ActionItem, Alliance
from portal.i18n import in_language_of
from portal.names import full_name_sql
from portal.notify import notify_on_commit
from portal.roles import path_q, user_scope
from portal.scheduling import run_at

Status = ActionItem.Status
# "Due soon" on the board: due within this many days from today.
DUE_SOON_DAYS = 7
# "Done" on the board: closed within this many days.
DONE_DAYS = 30
BOARD_GROUPS = ("overdue", "due_soon", "open", "done")


def overdue_actions(today: dt.date | None = None) -> QuerySet:
    """Live, open action items past their due date."""
    today = today or timezone.localdate()
    return live_actions().filter(status=Status.OPEN, due_on__lt=today)


def remind_overdue(today: dt.date | None = None) -> int:
    """Remind those who answer for each overdue action item, at most once a day
    per item however often this runs (``reminded_on`` is written with the
    messages, in one transaction). Returns how many items were reminded."""
    today = today or timezone.localdate()
    due = list(
        overdue_actions(today)
        .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today))
        .values_list("pk", flat=True)
    )
    reminded = 0
    for pk in due:
        with transaction.atomic():
            action = (
                ActionItem.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("meeting", "owner", "owner_partner", "owner_branch")
                .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today), pk=pk)
                .first()
            )
            if action is None:
                continue  # reminded meanwhile, or another worker holds it
            url = _action_url(action)
            days = (today - action.due_on).days
            for person in unit_people(action):
                with in_language_of(person):
                    notify_on_commit(
                        person,
                        subject=_("Overdue action item: %(title)s") % {"title": action.title},
                        body=_(
                            "The action item “%(title)s” of %(meeting)s was due on %(due)s "
                            "(%(days)d days ago). Please post its progress, or close it when done."
                        )
                        % {
                            "title": action.title,
                            "meeting": action.meeting.title,
                            "due": formats.date_format(action.due_on, "DATE_FORMAT"),
                            "days": days,
                        },
                        url=url,
                    )
            action.reminded_on = today
            action.save(update_fields=["reminded_on"])
            reminded += 1
    if reminded:
        # Still overdue tomorrow unless closed: come back then.
        tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(REMINDER_HOUR))
        run_at(timezone.make_aware(tomorrow))
    return reminded


def _action_url(action: ActionItem) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return reverse("alliance_action", args=[action.pk])


# --- The follow-up board --------------------------------------------------------------------


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
    ``alliance.minutes.person_name`` names people) and ``meeting_title`` — so a
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
