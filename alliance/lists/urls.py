"""The three lists on the site: needs (raise, match), resources, and projects
(/alliance/projects/<id>/…: milestones and status)."""

from django.urls import include, path

from alliance.lists import views

project_patterns = [
    path("", views.project_detail, name="alliance_project"),
    path("milestones/", views.milestone_add, name="alliance_milestone_add"),
    path(
        "milestones/<int:milestone_pk>/done/", views.milestone_done, name="alliance_milestone_done"
    ),
    path("status/", views.project_status, name="alliance_project_status"),
]

urlpatterns = [
    path("needs/", views.need_list, name="alliance_needs"),
    path("needs/new/", views.need_new, name="alliance_need_new"),
    path("needs/<int:pk>/", views.need_detail, name="alliance_need"),
    path("needs/<int:pk>/match/", views.need_match, name="alliance_need_match"),
    path("resources/", views.resource_list, name="alliance_resources"),
    path("projects/", views.project_list, name="alliance_projects"),
    path("projects/<int:pk>/", include(project_patterns)),
]
