"""Search in the Wagtail admin: a search area that finds Chinese words in every
record the user may see (Wagtail's own page search does not segment Chinese)."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.search import SearchArea

from search.views import search_view


def admin_search_view(request):
    return search_view(request, template="search/admin_search.html")


@hooks.register("register_admin_urls")
def register_search_url():
    return [path("records-search/", admin_search_view, name="search_admin")]


@hooks.register("register_admin_search_area")
def register_search_area():
    return SearchArea(
        _("All records (Chinese-aware)"),
        reverse("search_admin"),
        name="records",
        icon_name="search",
        order=50,
    )
