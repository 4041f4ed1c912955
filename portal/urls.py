from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from portal import views
from search import views as search_views

urlpatterns = [
    # The admin signs in through allauth (throttling and MFA are shared).
    path(
        "admin/login/",
        RedirectView.as_view(url="/accounts/login/?next=/admin/", query_string=False),
    ),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("calendar/<str:token>.ics", views.member_calendar_feed, name="member_calendar_feed"),
]

urlpatterns += i18n_patterns(
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
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
