"""Filtered lists on the site: a page of a queryset narrowed by filters from the
query string. ``filtered_page`` serves the lists with choice filters (needs,
resources, projects, partner units, service requests) and what
``portal/filter_form.html`` needs to show them; ``publication_listing`` a unit's
publications by category and date. An unknown value is ignored, as if the filter
were not set."""

import datetime as dt
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

PER_PAGE = 20  # the site's one page size


@dataclass(frozen=True)
class ChoiceFilter:
    """A select in ``portal/filter_form.html``."""

    name: str  # the query-string parameter and the field it filters
    label: str
    choices: list  # (value, label) pairs
    value: str = ""
    all_label: str = ""  # the empty choice ("All" if not given)


@dataclass(frozen=True)
class DateFilter:
    """A date input in ``portal/filter_form.html``."""

    name: str
    label: str
    value: str = ""


def filtered_page(
    request, qs: QuerySet, filters, *, order_by=("-created_at", "-id"), per_page=PER_PAGE
) -> dict:
    """``filters`` are ``(name, label, choices)``. Returns ``items`` (the page),
    ``filters`` (each with its chosen value) and ``filtered`` (any set)."""
    chosen = []
    for name, label, choices in filters:
        value = request.GET.get(name, "")
        if value not in dict(choices):
            value = ""
        if value:
            qs = qs.filter(**{name: value})
        chosen.append(ChoiceFilter(name, label, list(choices), value))
    items: Page = Paginator(qs.order_by(*order_by), per_page).get_page(request.GET.get("page"))
    return {"items": items, "filters": chosen, "filtered": any(f.value for f in chosen)}


def _day(value, end=False):
    try:
        day = parse_date(value or "")
    except ValueError:  # well formed but impossible, e.g. 2026-13-45
        day = None
    if day is None:
        return None
    moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    return timezone.make_aware(moment)


def publication_listing(request, items: QuerySet, *, kinds) -> dict:
    """A page of a unit's publications ``items``: ?kind= (one of ``kinds``, the
    category choices), ?from= / ?to= (YYYY-MM-DD, on the publication date) and
    ?page=. Bad values are reported and ignored, never an error page."""
    errors = []
    kind = request.GET.get("kind", "")
    if kind in dict(kinds):
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
    return {
        "items": Paginator(items, PER_PAGE).get_page(request.GET.get("page")),
        "filters": [ChoiceFilter("kind", _("Category"), kinds, kind, _("All categories"))],
        "dates": [
            DateFilter("from", _("From"), start if start_at else ""),
            DateFilter("to", _("To"), end if end_at else ""),
        ],
        "filter_errors": errors,
    }
