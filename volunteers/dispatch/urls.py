"""Dispatch on the site: residents' requests and the volunteer's tasks."""

from django.urls import include, path

from volunteers.dispatch import views

request_patterns = [
    path("", views.request_list, name="request_list"),
    path("new/", views.request_new, name="request_new"),
    path("<int:pk>/", views.request_detail, name="request_detail"),
    path("<int:pk>/photos/<int:photo_pk>/", views.request_photo, name="request_photo"),
    path("<int:pk>/offers/<int:offer_pk>/photo/", views.offer_photo, name="offer_photo"),
    path("<int:pk>/dispatch/", views.request_dispatch, name="request_dispatch"),
    path("<int:pk>/review/", views.request_review, name="request_review"),
    path("<int:pk>/return/", views.request_return, name="request_return"),
    path("<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
]

task_patterns = [
    path("", views.my_tasks, name="my_tasks"),
    path("<int:pk>/accept/", views.task_accept, name="task_accept"),
    path("<int:pk>/decline/", views.task_decline, name="task_decline"),
    path("<int:pk>/start/", views.task_start, name="task_start"),
    path("<int:pk>/complete/", views.task_complete, name="task_complete"),
]

urlpatterns = [
    path("requests/", include(request_patterns)),
    path("me/tasks/", include(task_patterns)),
]
