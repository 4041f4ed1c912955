"""The volunteer side of the site: shifts, sign-up, check-in, community
registration and the member's service record."""

from django.urls import path

from volunteers import certificates, registration_views, views

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
]
