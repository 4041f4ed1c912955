"""Filtered lists on the site (needs, resources, projects, partner units, service
requests): a page of a queryset narrowed by choice filters from the query
string, and what ``portal/filter_form.html`` needs to show the filters. An
unknown value is ignored, as if the filter were not set."""

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from portal.selectors import PER_PAGE


@dataclass(frozen=True)
class ChoiceFilter:
    name: str  # the query-string parameter and the field it filters
    label: str
    choices: list  # (value, label) pairs
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
