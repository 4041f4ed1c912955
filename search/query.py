"""``search()``: the one entry point every part of the portal uses."""

import re
from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from portal.crypto import keyed_hash
from portal.models import Role
from portal.roles import user_scope
from portal.validators import is_mobile, normalise_mobile
from search.backends import get_backend
from search.base import SearchQuery, SearchResults, Visibility
from search.registry import get_type, grid_worker_types, history_types
from search.text import query_grams, query_tokens

PER_PAGE = 20
# The page-cache tag of anonymous search pages (portal.page_cache), bumped by
# every change to the index (search.tasks.index_changed).
SEARCH_TAG = "search"
MAX_PAGES = 50  # never page deeper than 1,000 hits
_ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
# Roles that may find a record by its full ID number or phone.
LOOKUP_ROLES = {Role.DISTRICT_ADMIN, Role.GRID_COORDINATOR, Role.BRANCH_SECRETARY}


@dataclass
class SearchPage:
    results: SearchResults
    page: int
    num_pages: int
    per_page: int
    query: SearchQuery


def visibility_for(user) -> Visibility:
    scope = user_scope(user)
    return Visibility(
        everything=scope.is_district,
        paths=scope.paths,
        group_ids=scope.group_ids,
        user_id=user.pk if getattr(user, "is_authenticated", False) else None,
        may_lookup_private=scope.is_district or bool(scope.roles & LOOKUP_ROLES),
        grid_worker_paths=scope.grid_worker_paths,
        grid_worker_types=grid_worker_types() if scope.grid_worker_paths else (),
    )


def _lookup_hash(text: str, visibility: Visibility) -> str:
    if not visibility.may_lookup_private:
        return ""
    compact = normalise_mobile(text.strip())
    if _ID_NUMBER.match(compact) or is_mobile(compact):
        return keyed_hash(compact)
    return ""


def _history(visibility: Visibility) -> dict:
    """Past shifts (and any type whose past is history) are for staff: a member or
    resident searching 楼道清理 wants the shifts they can still sign up for, not a
    year of ended ones. Staff see everything, newest first as usual."""
    if visibility.everything or visibility.paths or not history_types():
        return {}
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return {"history_types": history_types(), "history_before": today}


def search(
    *,
    user,
    text: str,
    doc_types: tuple[str, ...] = (),
    grid_path: str = "",
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    status: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> SearchPage:
    """Search every registered record type for ``text``, returning only what
    ``user`` may see: hits with highlighted snippets, facet counts per type and a
    total. Bad input (empty, punctuation, operators, very long) gives no hits,
    never an error."""
    visibility = visibility_for(user)
    text = (text or "")[:10_000]
    page = min(max(1, page), MAX_PAGES)
    query = SearchQuery(
        text=text,
        tokens=query_tokens(text),
        grams=query_grams(text),
        **_history(visibility),
        visibility=visibility,
        doc_types=tuple(doc_types),
        grid_path=grid_path,
        date_from=date_from,
        date_to=date_to,
        status=status,
        lookup_hash=_lookup_hash(text, visibility),
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    results = get_backend().search(query)
    _links_for(user, results)
    num_pages = max(1, min(MAX_PAGES, -(-results.total // per_page)))
    return SearchPage(
        results=results, page=page, num_pages=num_pages, per_page=per_page, query=query
    )


def _links_for(user, results: SearchResults) -> None:
    """Hits link into the admin only for those who may open it: anyone else
    (a member finding their own record) goes to the type's owner page, or gets
    no link, never an admin URL that sends them round the sign-in page."""
    if user is not None and user.has_perm("wagtailadmin.access_admin"):
        return
    admin = reverse("wagtailadmin_home")
    for hit in results.hits:
        if hit.url.startswith(admin):
            name = get_type(hit.doc_type).owner_url_name
            hit.url = reverse(name) if name else ""
