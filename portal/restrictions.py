"""What the public may see of the page tree: Wagtail's view restrictions, read
once per request.

``public(queryset)`` is ``queryset.public()`` without its query of the
restriction table on every call (a unit page asks three times: its child
units, its latest publications, its calendar). Within a request the
restricted paths are read once (``RequestIdMiddleware`` opens the request's
scope); outside one (tasks, commands) they are read each time."""

from contextvars import ContextVar
from functools import reduce
from operator import or_

from django.db.models import Q
from wagtail.models import PageViewRestriction

# The restricted paths read in this request; None outside a request.
_request_paths: ContextVar[dict | None] = ContextVar("restricted_paths", default=None)


def request_scope_open():
    """Start a request's scope; returns the token ``request_scope_close`` takes."""
    return _request_paths.set({})


def request_scope_close(token) -> None:
    _request_paths.reset(token)


def restricted_paths() -> tuple[str, ...]:
    """The paths of the pages that have a view restriction (each covers its subtree)."""
    scope = _request_paths.get()
    if scope is not None and "paths" in scope:
        return scope["paths"]
    paths = tuple(PageViewRestriction.objects.values_list("page__path", flat=True).distinct())
    if scope is not None:
        scope["paths"] = paths
    return paths


def public(queryset):
    """The pages of ``queryset`` that no view restriction covers."""
    paths = restricted_paths()
    if not paths:
        return queryset
    return queryset.exclude(reduce(or_, (Q(path__startswith=path) for path in paths)))
