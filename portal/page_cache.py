"""The full-page cache of anonymous public pages, and its exact invalidation.

Who is served from it: a GET or HEAD with no session and no messages cookie
(so nobody is signed in and nothing is waiting to be said to them), for a page
that asked to be cached (``cached_page``), with only the query parameters
listings understand. A response is stored only if it is a 200 that sets no
cookie and used no CSRF token; a signed-in person's page is never stored,
never served from the cache and is marked ``Cache-Control: private``.

Invalidation is by *tags* with change times. A cached page carries the tags of
what it shows, for example::

    page:<path>       a page's own fields, for the page and each ancestor
                      (titles in the breadcrumbs, the unit header)
    children:<path>   the live pages under a unit: child units, the latest
                      publications, listings, activities
    events:<path>     records a unit's calendar shows (meetings, shifts), of
                      the unit or any unit under it
    badges:<path>     the unit's members who show a public role badge
    site              images, documents and sites, which any page may show

A plain view is cached the same way with ``cached_view`` and tags of its own
(the search page: ``search``, bumped by every change to the index).

A write bumps the tags it changes to the current time, after its transaction
commits (Wagtail's page signals here; each app names the records its pages
show with ``shown_on_unit_pages``). An entry is served only if it started
rendering after the last change of every tag it carries (by more than
``TONGXIN_PAGE_CACHE_CLOCK_SKEW`` seconds, what the web machines' clocks may
differ by), so what a publish, an unpublish, a move, an edit or a badge
opt-in changes is visible on the next request, in every process that shares
the cache. Entries also expire after ``TONGXIN_PAGE_CACHE_SECONDS``, which
bounds what changes with time alone (a calendar's window, "upcoming").

Several processes need a shared cache (``CACHE_URL``, Redis): a process's
local memory would not see another's invalidations, so the cache is on only
when ``TONGXIN_PAGE_CACHE`` is (see the settings).

With the cache on, the middleware also gives every other request its Wagtail
site (``request._wagtail_site``, which Wagtail otherwise looks up with a query
each time it routes a page or builds a page's URL) from what this process found
for the same host before, as long as neither the ``site`` tag nor the site's
root page (``page:<path>``) changed since: one cache round trip instead of a
2 ms query on every signed-in page."""

import copy
import functools
import hashlib
import time
import zlib

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from wagtail.models import Site

CHILDREN = "children"
EVENTS = "events"
BADGES = "badges"
SITE = "site"
ENTRY_PREFIX = "tongxin:page:"
TAG_PREFIX = "tongxin:tag:"
# Query parameters of the cached pages (listing filters and pages); a request
# with any other is served fresh and not stored, so random query strings
# cannot fill the cache.
QUERY_KEYS = frozenset({"page", "kind", "from", "to"})
# ... and those of every view decorated with ``cached_view``: a request with
# others is not even looked up.
LOOKUP_KEYS = set(QUERY_KEYS)
# Response headers that belong to one request, not to the page.
NOT_STORED_HEADERS = frozenset({"x-request-id", "set-cookie"})
STEP = 4  # the length of one level of a Wagtail page's path


def _path_prefixes(path: str) -> list[str]:
    """The paths of a page and each of its ancestors, from the root down."""
    return [path[:end] for end in range(STEP, len(path) + 1, STEP)]


def page_tags(page, shows=()) -> list[str]:
    """The tags of a page that shows its own and its ancestors' fields and the
    parts of the unit named in ``shows``."""
    return [
        *(f"page:{path}" for path in _path_prefixes(page.path)),
        *(f"{part}:{page.path}" for part in shows),
        SITE,
    ]


# --- Writes ------------------------------------------------------------------------


def tags_bump(tags) -> None:
    """Mark ``tags`` changed now, once the current transaction commits. Tag
    times are kept without expiry (a tag evicted before its pages would let a
    stale page be served: give Redis ``maxmemory-policy volatile-lru``)."""
    tags = list(tags)
    if tags:
        transaction.on_commit(
            lambda: cache.set_many({TAG_PREFIX + tag: time.time() for tag in tags}, timeout=None)
        )


def page_changed(page) -> None:
    """A page was published, unpublished, moved, deleted, restricted or edited
    live: its own pages (and those under it, by their breadcrumbs) and every
    listing above it."""
    ancestors = _path_prefixes(page.path)[:-1]
    tags_bump([f"page:{page.path}", *(f"{CHILDREN}:{path}" for path in ancestors)])


def unit_records_changed(unit, part: str) -> None:
    """Records shown in ``part`` of ``unit``'s pages changed. Calendars show the
    events of every unit under them, so events reach each ancestor too."""
    if unit is None:
        return
    paths = _path_prefixes(unit.path) if part == EVENTS else [unit.path]
    tags_bump(f"{part}:{path}" for path in paths)


def shown_on_unit_pages(model, *, part: str, units) -> None:
    """Register records public unit pages show: a save or delete of a ``model``
    changes ``part`` of the pages of each unit ``units(record)`` returns."""

    def changed(sender, instance, raw=False, **kwargs):
        if raw:
            return
        for unit in units(instance):
            unit_records_changed(unit, part)

    uid = f"page_cache:{model._meta.label}:{part}"
    post_save.connect(changed, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(changed, sender=model, weak=False, dispatch_uid=uid)


def site_changed(**kwargs) -> None:
    if not kwargs.get("raw"):
        tags_bump([SITE])


# --- Reads -------------------------------------------------------------------------


def cached_page(*shows):
    """Decorate a page's ``serve`` (or a routable page's route): an anonymous
    visitor's response may be stored, tagged with what the page shows."""

    def decorate(method):
        @functools.wraps(method)
        def serve(page, request, *args, **kwargs):
            response = method(page, request, *args, **kwargs)
            response.page_cache_tags = page_tags(page, shows)
            return response

        return serve

    return decorate


def cached_view(tags, *, query_keys=()):
    """Decorate a plain view: an anonymous visitor's response may be stored,
    tagged ``tags``, when its query parameters are among ``query_keys``."""
    keys = frozenset(query_keys)
    LOOKUP_KEYS.update(keys)

    def decorate(view):
        @functools.wraps(view)
        def cached(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response.page_cache_tags = list(tags)
            response.page_cache_query_keys = keys
            return response

        return cached

    return decorate


def _anonymous(request) -> bool:
    return (
        settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
    )


def _entry_key(request) -> str:
    """One entry per release, host and path with its query (the language is in
    the path): a new release (``RELEASE``) starts with an empty page cache."""
    where = f"{settings.TONGXIN_RELEASE}|{request.get_host()}|{request.get_full_path()}"
    return ENTRY_PREFIX + hashlib.sha256(where.encode()).hexdigest()


def _changed_since(started: float, tags) -> bool:
    """Whether any of ``tags`` changed after (or within the clock skew of) ``started``."""
    changed = cache.get_many([TAG_PREFIX + tag for tag in tags])
    skew = settings.TONGXIN_PAGE_CACHE_CLOCK_SKEW
    return any(started <= at + skew for at in changed.values())


def _fresh(entry) -> HttpResponse | None:
    started, tags, status, headers, content = entry
    if _changed_since(started, tags):
        return None
    response = HttpResponse(zlib.decompress(content), status=status)
    for name, value in headers:
        response[name] = value
    return response


def _storable(request, response) -> bool:
    return (
        request.method == "GET"
        and set(request.GET) <= getattr(response, "page_cache_query_keys", QUERY_KEYS)
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        # The page holds a CSRF token: it belongs to this visitor.
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not getattr(getattr(request, "user", None), "is_authenticated", False)
        and "private" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
    )


def _public_headers(response) -> None:
    """What a proxy or CDN in front needs: the page is the same for everyone
    without a cookie (the language is in the path, so no Accept-Language), and
    it may keep it ``TONGXIN_PROXY_CACHE_SECONDS`` (0: it must ask every time)."""
    vary = [v.strip() for v in response.get("Vary", "").split(",") if v.strip()]
    response["Vary"] = ", ".join(
        ["Cookie"] + [v for v in vary if v.lower() not in ("cookie", "accept-language")]
    )
    patch_cache_control(
        response, public=True, max_age=0, s_maxage=settings.TONGXIN_PROXY_CACHE_SECONDS
    )


# What this process found per (host, port): (when it looked, the site or None).
_sites: dict[tuple[str, int], tuple[float, object]] = {}
SITES_KEPT = 64  # hosts remembered at most (ALLOWED_HOSTS may be a wildcard)


def _attach_site(request) -> None:
    try:
        where = (request.get_host(), request.get_port())
    except DisallowedHost:
        return  # Django answers 400 further down
    found = _sites.get(where)
    if found is not None:
        at, site = found
        tags = [SITE] + ([f"page:{site.root_page.path}"] if site is not None else [])
        if time.time() - at > settings.TONGXIN_PAGE_CACHE_SECONDS or _changed_since(at, tags):
            found = None
    if found is None:
        if len(_sites) >= SITES_KEPT:
            _sites.clear()
        found = _sites[where] = (time.time(), Site._find_for_request(request))
    # A copy per request: what a request caches on it (``specific``) stays its own.
    request._wagtail_site = copy.deepcopy(found[1])


class PageCacheMiddleware:
    """Serve anonymous visitors from the page cache; store what may be stored;
    mark signed-in responses private. Sits above the session, authentication
    and locale middleware, so a hit costs none of them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _anonymous(request):
            if settings.TONGXIN_PAGE_CACHE:
                _attach_site(request)
            response = self.get_response(request)
            if "Cache-Control" not in response:
                patch_cache_control(response, private=True)
            return response
        lookup = (
            settings.TONGXIN_PAGE_CACHE
            and request.method in ("GET", "HEAD")
            and set(request.GET) <= LOOKUP_KEYS
        )
        key = _entry_key(request) if lookup else None
        if key:
            entry = cache.get(key)
            if entry is not None and (response := _fresh(entry)) is not None:
                response["X-Page-Cache"] = "hit"
                return response
        if settings.TONGXIN_PAGE_CACHE:
            _attach_site(request)
        started = time.time()
        response = self.get_response(request)
        tags = getattr(response, "page_cache_tags", None)
        if tags is None:
            return response
        if not _storable(request, response):
            patch_cache_control(response, private=True)
            return response
        _public_headers(response)
        if key:
            headers = [
                (name, value)
                for name, value in response.items()
                if name.lower() not in NOT_STORED_HEADERS
            ]
            # Pages compress about tenfold, for a fraction of a millisecond.
            content = zlib.compress(response.content, 1)
            entry = (started, tags, response.status_code, headers, content)
            cache.set(key, entry, timeout=settings.TONGXIN_PAGE_CACHE_SECONDS)
            response["X-Page-Cache"] = "miss"
        return response
