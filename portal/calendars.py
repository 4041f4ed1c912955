"""Calendars: the public calendar of a unit (its public activities and whatever
the apps add, as a page and as an iCalendar feed) and a person's private feed
(whatever the apps add: invited branch meetings, signed-up shifts, accepted
tasks, joint meetings).

Events come from *sources*: functions registered with ``unit_source`` (called
as ``source(unit, start=, end=, request=, limit=)``) or ``personal_source``
(``source(user, start=, end=, request=, limit=)``), each returning
``CalendarItem``s in a fixed number of queries. This module registers the
portal's activities; each app registers its own in its ``calendar_sources.py``
(loaded from its ``AppConfig.ready``), so this module imports none of them.

Feeds are built with the ``icalendar`` package. Every event has a UID that
stays the same for the life of the item, so a moved or cancelled meeting
updates the entry in the subscriber's calendar app (with a higher SEQUENCE)
instead of adding a second one. Cancelled meetings stay in the feeds with
STATUS:CANCELLED. Each read is a fixed number of queries however many events
there are."""

import datetime as dt
from dataclasses import dataclass
from itertools import groupby
from zoneinfo import ZoneInfo

import icalendar
from django.db.models import CharField, Count, OuterRef, Subquery
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from wagtail.models import Page, Revision

from portal.links import page_full_url
from portal.publishing import ActivityPage
from portal.restrictions import public

SHANGHAI = ZoneInfo("Asia/Shanghai")
TZID = "Asia/Shanghai"
PRODID = "-//Tongxin//Party-building portal calendar//ZH"
# What a feed covers: from this long ago ...
FEED_PAST = dt.timedelta(days=90)
# ... up to this far ahead, and at most this many events.
FEED_AHEAD = dt.timedelta(days=400)
MAX_EVENTS = 500
# How far ahead the HTML calendar page looks.
PAGE_AHEAD_DAYS = 60
DESCRIPTION_CHARS = 500
# How often calendar apps are asked to fetch a feed again.
REFRESH = dt.timedelta(hours=1)


@dataclass
class CalendarItem:
    """One event, from a meeting or an activity, in local (Asia/Shanghai) time."""

    uid: str
    kind: str  # "meeting", "activity", "shift" or "task": the page styles each
    label: str  # e.g. "Themed party day (主题党日)" or "Activity"
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    place: str
    description: str
    sequence: int
    cancelled: bool
    url: str | None  # absolute, for feeds
    stamp: dt.datetime
    link: str | None = None  # an activity's page, for the calendar page
    unit_title: str = ""

    @property
    def day(self) -> dt.date:
        return self.starts_at.date()


def local_time(moment):
    return timezone.localtime(moment, SHANGHAI) if moment else None


def short_text(text):
    return Truncator((text or "").strip()).chars(DESCRIPTION_CHARS)


def _window(now=None):
    now = now or timezone.now()
    return now - FEED_PAST, now + FEED_AHEAD


def full_url(page, request, subpage=""):
    """The page's absolute URL on PUBLIC_BASE_URL (site root paths are cached on
    the request, so this costs no query per item)."""
    url = page_full_url(page, request)
    if url and subpage:
        url = url.rstrip("/") + "/" + subpage.lstrip("/")
    return url


# --- Reads ------------------------------------------------------------------------------------


def public_units(unit: Page):
    """Live, public pages at and under ``unit`` (a subquery)."""
    return public(Page.objects.live()).descendant_of(unit, inclusive=True).values("pk")


def public_activities(unit: Page, *, start, end):
    """Live, public activities under ``unit``, each with ``revision_count``
    (their iCalendar SEQUENCE: it goes up with every edit)."""
    revisions = (
        Revision.objects.filter(
            content_type_id=OuterRef("content_type_id"),
            object_id=Cast(OuterRef("pk"), output_field=CharField()),
        )
        .order_by()
        .values("object_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        public(ActivityPage.objects.live())
        .descendant_of(unit)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .annotate(revision_count=Subquery(revisions))
        .defer("body")
        .order_by("starts_at", "id")
    )


def activity_item(page, request=None) -> CalendarItem:
    return CalendarItem(
        uid=f"activity-{page.pk}@tongxin",
        kind="activity",
        label=str(page.get_kind_display()),
        title=page.title,
        starts_at=local_time(page.starts_at),
        ends_at=local_time(page.ends_at),
        place=page.place,
        description=short_text(page.summary),
        sequence=getattr(page, "revision_count", None) or 0,
        cancelled=False,
        url=full_url(page, request) if request is not None else None,
        link=page.get_url(request) if request is not None else None,
        stamp=page.last_published_at or page.latest_revision_created_at or timezone.now(),
    )


def _first(items, limit):
    items.sort(key=lambda item: (item.starts_at, item.uid))
    return items[:limit]


# --- Sources ----------------------------------------------------------------------------------

UNIT_SOURCES = []
PERSONAL_SOURCES = []


def unit_source(source):
    """Register ``source(unit, *, start, end, request, limit)`` for units' calendars."""
    if source not in UNIT_SOURCES:
        UNIT_SOURCES.append(source)
    return source


def personal_source(source):
    """Register ``source(user, *, start, end, request, limit)`` for personal feeds."""
    if source not in PERSONAL_SOURCES:
        PERSONAL_SOURCES.append(source)
    return source


@unit_source
def unit_activities(unit, *, start, end, request=None, limit=MAX_EVENTS):
    activities = public_activities(unit, start=start, end=end)[:limit]
    return [activity_item(a, request) for a in activities]


def unit_items(unit: Page, *, start, end, request=None, limit=MAX_EVENTS) -> list[CalendarItem]:
    """The public events of a unit's subtree between ``start`` and ``end``,
    earliest first, from every unit source (a few queries each, however many
    events)."""
    items = []
    for source in UNIT_SOURCES:
        items += source(unit, start=start, end=end, request=request, limit=limit)
    return _first(items, limit)


def personal_items(user, *, start, end, request=None, limit=MAX_EVENTS) -> list[CalendarItem]:
    """A person's events between ``start`` and ``end`` from every personal source."""
    items = []
    for source in PERSONAL_SOURCES:
        items += source(user, start=start, end=end, request=request, limit=limit)
    return _first(items, limit)


# --- iCalendar --------------------------------------------------------------------------------


def _event(item: CalendarItem) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", item.uid)
    event.add("dtstamp", item.stamp.astimezone(dt.UTC))
    event.add("dtstart", item.starts_at)
    if item.ends_at:
        event.add("dtend", item.ends_at)
    event.add("summary", item.title)
    if item.place:
        event.add("location", item.place)
    if item.description:
        event.add("description", item.description)
    event.add("categories", [item.label])
    event.add("sequence", item.sequence)
    event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
    if item.url:
        event.add("url", item.url)
    return event


def build_calendar(name: str, items: list[CalendarItem], *, start, end) -> icalendar.Calendar:
    """A VCALENDAR with a VTIMEZONE for Asia/Shanghai and one VEVENT per item,
    times in Asia/Shanghai local time (DTSTART;TZID=Asia/Shanghai:...)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", TZID)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(REFRESH))
    # Always one VTIMEZONE, even for an empty feed, covering every event; it
    # comes before the events that refer to it.
    last = max([end, *(i.ends_at or i.starts_at for i in items)])
    calendar.add_component(
        icalendar.Timezone.from_tzid(
            TZID,
            first_date=local_time(start).date() - dt.timedelta(days=1),
            last_date=local_time(last).date() + dt.timedelta(days=1),
        )
    )
    for item in items:
        calendar.add_component(_event(item))
    return calendar


def unit_calendar_ics(unit: Page, request=None, now=None) -> bytes:
    start, end = _window(now)
    items = unit_items(unit, start=start, end=end, request=request)
    name = _("%(unit)s · calendar") % {"unit": unit.title}
    return build_calendar(name, items, start=start, end=end).to_ical()


def personal_calendar_ics(user, request=None, now=None) -> bytes:
    start, end = _window(now)
    items = personal_items(user, start=start, end=end, request=request)
    return build_calendar(_("My calendar"), items, start=start, end=end).to_ical()


# --- The calendar page ------------------------------------------------------------------------


def calendar_page_context(unit: Page, request, now=None) -> dict:
    """The unit's public events from today (Asia/Shanghai) for the next
    PAGE_AHEAD_DAYS days, grouped by day: ``days`` is [(date, [items])]."""
    today = timezone.localtime(now or timezone.now(), SHANGHAI).date()
    start = dt.datetime.combine(today, dt.time.min, tzinfo=SHANGHAI)
    end = start + dt.timedelta(days=PAGE_AHEAD_DAYS + 1)
    items = unit_items(unit, start=start, end=end, request=request)
    days = [(day, list(group)) for day, group in groupby(items, key=lambda i: i.day)]
    return {
        "unit": unit,
        "days": days,
        "event_count": len(items),
        "ahead_days": PAGE_AHEAD_DAYS,
        "today": today,
    }
