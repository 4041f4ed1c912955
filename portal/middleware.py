import re
import time
import uuid
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.shortcuts import redirect
from django.utils import translation

from portal import restrictions
from portal.log_filters import current_request_id
from portal.models import MFA_ROLES
from portal.roles import user_scope

# A request id from outside is kept only if it is a plain token.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

MFA_SETUP_URL = "/accounts/2fa/totp/activate/"
MFA_REAUTHENTICATE_URL = "/accounts/2fa/reauthenticate/"
# Paths a user who still has to pass the second factor may open.
MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/en/accounts/")


def session_passed_mfa(request) -> bool:
    """Whether *this session* completed a second factor (allauth records each
    authentication step of a session), not merely whether the user owns one."""
    return any(
        record.get("method") == "mfa"
        for record in get_authentication_records(request, request.user)
    )


class RequireMFAMiddleware:
    """Secretaries, coordinators and district administrators reach nothing but the
    account pages until this session has passed TOTP: without a TOTP device they
    are sent to set one up, with one they are asked for a code."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            getattr(settings, "TONGXIN_REQUIRE_MFA", True)
            and request.user.is_authenticated
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and not session_passed_mfa(request)
            and user_scope(request.user).roles & MFA_ROLES
        ):
            from allauth.mfa.models import Authenticator

            if not Authenticator.objects.filter(
                user=request.user, type=Authenticator.Type.TOTP
            ).exists():
                return redirect(MFA_SETUP_URL)
            return redirect(
                f"{MFA_REAUTHENTICATE_URL}?{urlencode({'next': request.get_full_path()})}"
            )
        return self.get_response(request)


class AdminLanguageMiddleware:
    """The admin speaks the language the signed-in user chose on their account
    page for the whole request, not only inside the view: Wagtail writes some
    messages ("you do not have permission") after leaving the view, and outside
    ``i18n_patterns`` Django's LocaleMiddleware always picks the site's default
    language (Chinese) — an English-speaking editor would read them in Chinese."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/") and request.user.is_authenticated:
            # The same (cached) profile Wagtail reads for the view: no extra query.
            try:
                profile = request.user.wagtail_userprofile
            except ObjectDoesNotExist:
                profile = None
            language = profile.get_preferred_language() if profile else None
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class SessionIdleMiddleware:
    """Idle sessions end ``SESSION_COOKIE_AGE`` seconds after their last request,
    yet the session row is written at most once every ``SESSION_TOUCH_SECONDS``
    rather than on every request: a request refreshes the session's expiry only
    when its last refresh is older than that (so a session may end up to that
    much earlier than a full idle period)."""

    KEY = "_touched_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Only a live session is refreshed: a visitor without one, or with the
        # cookie of one that has ended, gets none.
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            session = request.session
            touched = session.get(self.KEY, 0)  # loads the session
            now = int(time.time())
            if not session.is_empty() and now - touched >= settings.SESSION_TOUCH_SECONDS:
                session[self.KEY] = now
        return self.get_response(request)


class RequestIdMiddleware:
    """Every request gets an id, ``request.request_id``: the caller's
    ``X-Request-ID`` when it is a plain token (a proxy in front may set one), else
    a new one. It is sent back in ``X-Request-ID`` and written on every log line
    of the request (``portal.log_filters.RequestId``), so an error page's id finds
    its traceback in the process log. It also opens the request's scope of
    what is read once per request (``portal.restrictions``)."""

    HEADER = "HTTP_X_REQUEST_ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get(self.HEADER, "")
        request.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = current_request_id.set(request.request_id)
        scope = restrictions.request_scope_open()
        try:
            response = self.get_response(request)
        finally:
            restrictions.request_scope_close(scope)
            current_request_id.reset(token)
        response["X-Request-ID"] = request.request_id
        return response
