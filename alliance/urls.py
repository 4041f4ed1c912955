"""The alliance's pages: partner units, the three lists, joint meetings,
minutes, and action items with the follow-up board (each sub-package keeps its
own URL list in its ``urls.py``)."""

from django.urls import include, path

urlpatterns = [
    path("", include("alliance.partners.urls")),
    path("", include("alliance.lists.urls")),
    path("", include("alliance.meetings.urls")),
    path("", include("alliance.minutes.urls")),
    path("", include("alliance.action_items.urls")),
]
