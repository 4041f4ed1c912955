import logging
import secrets
import time as clock
from datetime import datetime, time
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from wagtail.models import Page

from portal.health import UNAVAILABLE_RETRY_AFTER
from portal.masking import contains_private_number
from portal.page_cache import cached_view
from search.query import PER_PAGE, SEARCH_TAG, search
from search.registry import search_types

logger = logging.getLogger("tongxin.search")


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=10_000)
    type = forms.MultipleChoiceField(label=_("Record type"), required=False, choices=())
    grid = forms.IntegerField(required=False, widget=forms.HiddenInput)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [(t.name, t.label) for t in search_types()]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


def _aware(day, at):
    return timezone.make_aware(datetime.combine(day, at)) if day else None


# A query that holds a full ID or mobile number never travels in a URL (access
# logs, browser history, Referer): the form posts, and the results are a GET with
# an opaque token that names the query kept in the session for a while.
_STASH_KEY = "search_stash"
STASH_SECONDS = 30 * 60
_STASH_SIZE = 10
_QUERY_FIELDS = ("q", "type", "grid", "date_from", "date_to")


def _query_only(data) -> QueryDict:
    kept = QueryDict(mutable=True)
    for name in _QUERY_FIELDS:
        values = [v for v in data.getlist(name) if v]
        if values:
            kept.setlist(name, values)
    return kept


def _results_redirect(request, data):
    """Post/redirect/get: plain words in the URL as usual, a private number behind
    a token."""
    query = _query_only(data)
    if not contains_private_number(query.get("q", "")):
        return redirect(f"{request.path}?{query.urlencode()}" if query else request.path)
    now = clock.time()
    stash = {
        token: entry
        for token, entry in request.session.get(_STASH_KEY, {}).items()
        if entry["expires"] > now
    }
    token = secrets.token_urlsafe(16)
    stash[token] = {"query": query.urlencode(), "expires": now + STASH_SECONDS}
    newest = sorted(stash.items(), key=lambda item: item[1]["expires"])[-_STASH_SIZE:]
    request.session[_STASH_KEY] = dict(newest)
    return redirect(f"{request.path}?{urlencode({'t': token})}")


def _stashed_query(request) -> QueryDict | None:
    entry = request.session.get(_STASH_KEY, {}).get(request.GET.get("t", ""))
    if entry is None or entry["expires"] <= clock.time():
        return None
    query = QueryDict(entry["query"], mutable=True)
    if request.GET.get("page"):
        query["page"] = request.GET["page"]
    return query


@csrf_protect
def _protected_results_redirect(request):
    return _results_redirect(request, request.POST)


# Anonymous results are the same for everyone: the page cache keeps them until
# the index changes (search.tasks bumps the tag).
@csrf_exempt
@cached_view([SEARCH_TAG], query_keys=(*_QUERY_FIELDS, "page"))
def search_view(request, template="search/search.html"):
    """The portal's search page: phone-friendly, facets as filters, paginated.
    The form posts (see above) with a CSRF token when signed in; an anonymous
    visitor's form carries none, so that their pages set no cookie and can be
    cached — their search changes nothing and has no session to protect."""
    if request.method == "POST":
        if request.user.is_authenticated:
            return _protected_results_redirect(request)
        return _results_redirect(request, request.POST)
    if contains_private_number(request.GET.get("q", "")):
        # An old link or a hand-made URL: take the number out of the address bar.
        return _results_redirect(request, request.GET)
    data = request.GET
    expired = False
    if "t" in request.GET:
        data = _stashed_query(request)
        expired = data is None
    form = SearchForm(data or None)
    context = {
        "form": form,
        "labels": {t.name: t.label for t in search_types()},
        "expired": expired,
    }
    if form.is_valid() and form.cleaned_data.get("q", "").strip():
        data = form.cleaned_data
        grid = Page.objects.filter(pk=data["grid"]).first() if data.get("grid") else None
        try:
            result = search(
                user=request.user,
                text=data["q"],
                doc_types=tuple(data["type"]),
                grid_path=grid.path if grid else "",
                date_from=_aware(data.get("date_from"), time.min),
                date_to=_aware(data.get("date_to"), time.max),
                page=data.get("page") or 1,
            )
        except Exception:  # the search service is down: say so, keep the page
            logger.exception("search failed")
            context["unavailable"] = True
            response = render(request, template, context, status=503)
            response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
            return response
        # A paginator over the total gives the usual page links; the backend
        # already returned just this page's hits.
        paginator = Paginator(range(result.results.total), PER_PAGE)
        context.update(
            result=result,
            grid=grid,
            page_obj=paginator.get_page(result.page) if result.results.total else None,
            selected_types=set(data["type"]),
        )
    return render(request, template, context)
