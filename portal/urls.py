from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.http import Http404
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from portal import health, metrics, views
from portal.ids import bound_ids
from search import views as search_views


def no_such_door(request, *args, **kwargs):
    raise Http404


# Every sign-in and password reset is allauth's (its rate limits, its second
# factor): Wagtail's and Django's own auth views are shadowed here, before the
# includes that route them. tests/portal/test_auth_doors.py walks the URL conf.
sign_in = RedirectView.as_view(url="/accounts/login/", query_string=True)
auth_doors = [
    path("admin/login/", views.admin_sign_in),
    re_path(
        r"^admin/password_reset/",
        RedirectView.as_view(url="/accounts/password/reset/", query_string=False),
    ),
    # Shared-password view restrictions are switched off (settings); their forms
    # would be unthrottled password doors.
    path("documents/authenticate_with_password/<int:restriction_id>/", no_such_door),
]
# Wagtail's front-end login (restricted pages and documents send people there).
wagtail_front_doors = [
    path("_util/login/", sign_in),
    path("_util/authenticate_with_password/<int:restriction_id>/<int:page_id>/", no_such_door),
]

urlpatterns = [
    *auth_doors,
    # Wagtail's own workflow action (approve / request changes, e.g. from the
    # dashboard), which then says what it did.
    path(
        "admin/pages/workflow/action/<int:page_id>/<slug:action_name>/<int:task_state_id>/",
        views.workflow_action,
    ),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("calendar/<str:token>.ics", views.member_calendar_feed, name="member_calendar_feed"),
]

urlpatterns += i18n_patterns(
    *wagtail_front_doors,
    path("accounts/", include("allauth.urls")),
    path("me/", views.me, name="me"),
    path("me/notices/", views.my_notices, name="my_notices"),
    path("me/inbox/", views.my_inbox, name="my_inbox"),
    path("", include("volunteers.urls")),
    path("alliance/", include("alliance.urls")),
    path("me/calendar/", views.renew_calendar_token, name="renew_calendar_token"),
    path("search/", search_views.search_view, name="search"),
    path("", include(wagtail_urls)),
    prefix_default_language=False,
)

if settings.DEBUG:
    from django.views.static import serve

    # Development serves only Wagtail's image renditions (public by nature) from
    # MEDIA_ROOT, never the whole of /media/: documents go through /documents/
    # (view restrictions), private files through their records' views. The
    # production web server rule is in README.md.
    urlpatterns += [
        re_path(
            rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>images/[^/]+)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

handler500 = views.server_error

# An id no record can have (0, too big for a column) is a 404 everywhere.
bound_ids(urlpatterns)
