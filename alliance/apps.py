from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllianceConfig(AppConfig):
    name = "alliance"
    verbose_name = _("Co-building alliance")

    def ready(self):
        from alliance import calendar_sources  # noqa: F401  (registers calendar sources)
