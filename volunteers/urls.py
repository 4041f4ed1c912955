"""The volunteer side of the site: the member's service record and certificate,
and each sub-domain's pages — shifts, sign-up and check-in (duties/urls.py),
community registration (registration/urls.py), residents' requests and the
volunteer's tasks (dispatch/urls.py)."""

from django.urls import include, path

from volunteers import certificates, views

urlpatterns = [
    path("me/service/", views.my_service, name="my_service"),
    path(
        "me/service/certificate/<int:year>/",
        certificates.certificate_download,
        name="volunteer_certificate",
    ),
    path("verify/<str:code>/", certificates.certificate_verify, name="certificate_verify"),
    path("volunteer/", include("volunteers.duties.urls")),
    path("me/registration/", include("volunteers.registration.urls")),
    path("", include("volunteers.dispatch.urls")),
]
