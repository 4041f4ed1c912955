from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        from django.db.models.signals import post_migrate
        from django.utils.module_loading import autodiscover_modules

        from portal import checks, signals  # noqa: F401
        from portal.exports import harden_wagtail_exports
        from portal.links import sync_default_site
        from portal.names import install as install_name_rule

        # The default Wagtail site's host name and port follow PUBLIC_BASE_URL.
        post_migrate.connect(sync_default_site, sender=self, dispatch_uid="portal.sync_site")
        harden_wagtail_exports()
        install_name_rule()
        # Each app's scheduled work (portal/scheduling.py) and who sees its
        # records (portal/roles.py).
        autodiscover_modules("due_work")
        autodiscover_modules("visibility")
