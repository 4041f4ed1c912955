from django.conf import settings
from django.shortcuts import redirect

from portal.models import MFA_ROLES
from portal.roles import user_scope

MFA_SETUP_URL = "/accounts/2fa/totp/activate/"
# Paths a user who still has to set up MFA may open.
MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/en/accounts/")


class RequireMFAMiddleware:
    """Secretaries, coordinators and district administrators must have TOTP set up
    before they can use anything but the account pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            getattr(settings, "TONGXIN_REQUIRE_MFA", True)
            and request.user.is_authenticated
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and user_scope(request.user).roles & MFA_ROLES
        ):
            from allauth.mfa.models import Authenticator

            if not Authenticator.objects.filter(
                user=request.user, type=Authenticator.Type.TOTP
            ).exists():
                return redirect(MFA_SETUP_URL)
        return self.get_response(request)
