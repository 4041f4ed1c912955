"""Action items on the site: an item's page and what its staff and owners do
there (/alliance/actions/<id>/…), evidence files, and the follow-up board."""

from django.urls import path

from alliance.action_items import views

urlpatterns = [
    path("followup/", views.followup, name="alliance_followup"),
    path("actions/<int:pk>/", views.action_detail, name="alliance_action"),
    path("actions/<int:pk>/request/", views.action_request, name="alliance_action_request"),
    path("actions/<int:pk>/project/", views.action_project, name="alliance_action_project"),
    path(
        "actions/progress/<int:pk>/evidence/",
        views.action_evidence,
        name="alliance_action_evidence",
    ),
]
