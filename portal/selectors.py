"""Reads for publishing: a member's notice feed and the years a year selector
offers. Each is a fixed number of queries however many items there are. A unit's
listing is ``PublicationPage.under`` filtered by ``portal.listing.publication_listing``."""

import datetime as dt

from django.db.models import Exists, Max, Min, OuterRef, Q
from django.utils import timezone
from wagtail.models import Page

from portal.publishing import LIST_FIELDS, NoticeBoardPage, NoticePage, NoticeRead


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
