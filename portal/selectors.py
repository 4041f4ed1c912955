"""Reads for publishing: unit listings and a member's notice feed. Each is a
fixed number of queries however many items there are."""

import datetime as dt

from django.core.paginator import Paginator
from django.db.models import Exists, Max, Min, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from wagtail.models import Page

from portal.publishing import Kind, NoticeBoardPage, NoticePage, NoticeRead, PublicationPage

PER_PAGE = 20
LIST_FIELDS = (
    "id",
    "title",
    "url_path",
    "path",
    "depth",
    "kind",
    "summary",
    "pinned",
    "first_published_at",
    "last_published_at",
    "cover",
)


def _day(value, end=False):
    try:
        day = parse_date(value or "")
    except ValueError:  # well formed but impossible, e.g. 2026-13-45
        day = None
    if day is None:
        return None
    moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    return timezone.make_aware(moment)


def publications_under(unit: Page):
    """Live, public items anywhere under a unit, pinned first, newest first."""
    return (
        PublicationPage.objects.live()
        .public()
        .descendant_of(unit)
        .select_related("cover")
        .only(*LIST_FIELDS)
        .order_by("-pinned", "-first_published_at", "-id")
    )


def publication_listing(request, *, unit: Page) -> dict:
    """Context of a unit's listing: ?kind=notice|news|activity, ?from= / ?to=
    (YYYY-MM-DD, on the publication date) and ?page=. Bad values are reported and
    ignored, never an error page."""
    items = publications_under(unit)
    errors = []
    kind = request.GET.get("kind", "")
    if kind in Kind.values:
        items = items.filter(kind=kind)
    elif kind:
        errors.append(_("Unknown category; showing every category."))
        kind = ""
    start, end = request.GET.get("from", ""), request.GET.get("to", "")
    start_at, end_at = _day(start), _day(end, end=True)
    if start and start_at is None or end and end_at is None:
        errors.append(_("Dates are written like 2026-11-25; that filter was ignored."))
    if start_at and end_at and start_at > end_at:
        errors.append(_("The start date is after the end date; the dates were ignored."))
        start_at = end_at = None
    if start_at:
        items = items.filter(first_published_at__gte=start_at)
    if end_at:
        items = items.filter(first_published_at__lte=end_at)
    page = Paginator(items, PER_PAGE).get_page(request.GET.get("page"))
    return {
        "unit": unit,
        "items": page,
        "kinds": Kind.choices,
        "kind": kind,
        "date_from": start if start_at else "",
        "date_to": end if end_at else "",
        "filter_errors": errors,
    }


def feed_units(member) -> list[Page]:
    """The units whose notices a member gets: the district, the grids above their
    branch, their branch and their building group."""
    home = member.building_group or member.branch
    if home is None:
        return []
    return list(Page.objects.ancestor_of(home, inclusive=True).filter(depth__gte=2))


def member_feed(user, member):
    """Notices of the member's units and the district notice board, pinned
    first, newest first, each with ``is_read``; and the unread count."""
    units = feed_units(member) if member else []
    if not units:
        return NoticePage.objects.none(), 0
    boards = NoticeBoardPage.objects.child_of(units[0]).only("path", "depth")
    where = Q(pk__in=[])
    for unit in [*units, *boards]:
        where |= Q(path__startswith=unit.path, depth=unit.depth + 1)
    notices = (
        NoticePage.objects.live()
        .filter(where)
        .annotate(is_read=Exists(NoticeRead.objects.filter(notice=OuterRef("pk"), user=user)))
        .only(*LIST_FIELDS, "requires_receipt")
        .order_by("-pinned", "-first_published_at", "-id")
    )
    unread = notices.filter(is_read=False).count()
    return notices, unread


def data_years(queryset, field: str, *, also=()) -> list[int]:
    """The years a year selector offers, newest first: from the year of the
    earliest ``field`` in ``queryset`` to that of the latest (two indexed
    look-ups, however many rows), plus the years in ``also`` (this year, the
    one asked for) — not a fixed span with empty years in it."""
    bounds = queryset.order_by().aggregate(first=Min(field), last=Max(field))
    years = {year for year in also if year}
    if bounds["first"] is not None:
        first, last = (_year(bounds[key]) for key in ("first", "last"))
        years.update(range(first, last + 1))
    return sorted(years, reverse=True)


def _year(value) -> int:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).year if timezone.is_aware(value) else value.year
    return value.year
