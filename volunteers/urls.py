"""The volunteer side of the site: shifts, sign-up, check-in, community
registration and the member's service record."""

from django.urls import path

from volunteers import certificates, registration_views, request_views, views

urlpatterns = [
    path("me/service/", views.my_service, name="my_service"),
    path("volunteer/", views.shift_list, name="volunteer_shifts"),
    path("volunteer/shifts/<int:pk>/", views.shift_detail, name="volunteer_shift"),
    path("volunteer/shifts/<int:pk>/sign-up/", views.shift_sign_up, name="volunteer_sign_up"),
    path("volunteer/shifts/<int:pk>/cancel/", views.shift_cancel, name="volunteer_cancel"),
    path("volunteer/shifts/<int:pk>/check/", views.shift_check_code, name="volunteer_check"),
    path("volunteer/shifts/<int:pk>/scan/", views.shift_scan, name="volunteer_scan"),
    path("volunteer/shifts/<int:pk>/code/", views.shift_code, name="volunteer_shift_code"),
    path(
        "me/service/certificate/<int:year>/",
        certificates.certificate_download,
        name="volunteer_certificate",
    ),
    path("verify/<str:code>/", certificates.certificate_verify, name="certificate_verify"),
    path("me/registration/", registration_views.my_registration, name="my_registration"),
    path(
        "me/registration/branches/",
        registration_views.registration_branches,
        name="registration_branches",
    ),
    path(
        "me/registration/withdraw/",
        registration_views.registration_withdraw,
        name="registration_withdraw",
    ),
    path("me/registration/slip/", registration_views.registration_slip, name="registration_slip"),
    path("requests/", request_views.request_list, name="request_list"),
    path("requests/new/", request_views.request_new, name="request_new"),
    path("requests/<int:pk>/", request_views.request_detail, name="request_detail"),
    path(
        "requests/<int:pk>/photos/<int:photo_pk>/",
        request_views.request_photo,
        name="request_photo",
    ),
    path(
        "requests/<int:pk>/offers/<int:offer_pk>/photo/",
        request_views.offer_photo,
        name="offer_photo",
    ),
    path("requests/<int:pk>/dispatch/", request_views.request_dispatch, name="request_dispatch"),
    path("requests/<int:pk>/review/", request_views.request_review, name="request_review"),
    path("requests/<int:pk>/return/", request_views.request_return, name="request_return"),
    path("requests/<int:pk>/cancel/", request_views.request_cancel, name="request_cancel"),
    path("me/tasks/", request_views.my_tasks, name="my_tasks"),
    path("me/tasks/<int:pk>/accept/", request_views.task_accept, name="task_accept"),
    path("me/tasks/<int:pk>/decline/", request_views.task_decline, name="task_decline"),
    path("me/tasks/<int:pk>/start/", request_views.task_start, name="task_start"),
    path("me/tasks/<int:pk>/complete/", request_views.task_complete, name="task_complete"),
]
