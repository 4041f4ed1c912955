"""What the public may see of the page tree: Wagtail's view restrictions, read
once per request.

``public(queryset)`` is ``queryset.public()`` without its query of the
restriction table on every call (a unit page asks three times: its child
units, its latest publications, its calendar); ``ViewRestrictionsReadOnce``
answers a page's own ``get_view_restrictions()`` (Wagtail asks it before
serving a page, with two queries) from the same read when nothing on the
page's path is restricted or an alias. Within a request the paths are read
once (``RequestIdMiddleware`` opens the request's scope); outside one (tasks,
commands) they are read each time."""

from contextvars import ContextVar
from functools import reduce
from operator import or_

from django.db.models import BooleanField, Q, Value
from wagtail.models import Page, PageViewRestriction

# The restricted paths read in this request; None outside a request.
_request_paths: ContextVar[dict | None] = ContextVar("restricted_paths", default=None)


def request_scope_open():
    """Start a request's scope; returns the token ``request_scope_close`` takes."""
    return _request_paths.set({})


def request_scope_close(token) -> None:
    _request_paths.reset(token)


def _paths() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The paths of the pages that have a view restriction (each covers its
    subtree), and of the pages that are aliases (whose restrictions are their
    source's): one query."""
    scope = _request_paths.get()
    if scope is not None and "paths" in scope:
        return scope["paths"]
    flag = BooleanField()
    restricted = PageViewRestriction.objects.order_by().values_list(
        "page__path", Value(False, flag)
    )
    aliases = (
        Page.objects.filter(alias_of__isnull=False)
        .order_by()
        .values_list("path", Value(True, flag))
    )
    found = list(restricted.union(aliases))
    paths = (
        tuple(path for path, alias in found if not alias),
        tuple(path for path, alias in found if alias),
    )
    if scope is not None:
        scope["paths"] = paths
    return paths


def restricted_paths() -> tuple[str, ...]:
    """The paths of the pages that have a view restriction (each covers its subtree)."""
    return _paths()[0]


class ViewRestrictionsReadOnce:
    """For a page class (before ``Page`` in its bases): no view restriction
    applies to a page with no restricted page and no alias on its path, and
    that is known without a query; otherwise Wagtail's own answer."""

    def get_view_restrictions(self):
        restricted, aliases = _paths()
        if not any(self.path.startswith(path) for path in restricted + aliases):
            return PageViewRestriction.objects.none()
        return super().get_view_restrictions()


def public(queryset):
    """The pages of ``queryset`` that no view restriction covers."""
    paths = restricted_paths()
    if not paths:
        return queryset
    return queryset.exclude(reduce(or_, (Q(path__startswith=path) for path in paths)))
