from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        from portal import checks, signals  # noqa: F401
        from portal.exports import harden_wagtail_exports

        harden_wagtail_exports()
