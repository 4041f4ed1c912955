"""Content-Security-Policy (django-csp), with the one exception Wagtail needs.

The policy is ``CONTENT_SECURITY_POLICY`` in the settings: scripts only from our
own static files, never inline. Wagtail 8's admin still writes inline
``<script>`` elements (date choosers, page and snippet choosers, inline panels:
wagtail/wagtail#1288 and #12940), so on the admin's pages, and only there, the
sources in ``TONGXIN_CSP_ADMIN_UPDATE`` are added. Every page the public,
members, volunteers and partners use keeps the strict policy.
"""

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.urls import reverse


class PortalCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, relaxed for Wagtail's admin as the module says."""

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path_info.startswith(reverse("wagtailadmin_home")):
            parts.update = {**settings.TONGXIN_CSP_ADMIN_UPDATE, **(parts.update or {})}
        return parts
