"""The volunteers app's admin, found by Wagtail under this name: each part
registers its viewsets, pages and menu items when imported here — duties,
shifts, sign-up sheets and the points rules (duties/admin.py), the dispatch
records, dashboard and request import (dispatch/admin.py), community
registrations to review (registration/admin.py) and the service statistics
(report_views.py)."""

from volunteers import report_views  # noqa: F401
from volunteers.dispatch import admin as dispatch_admin  # noqa: F401
from volunteers.duties import admin as duties_admin  # noqa: F401
from volunteers.registration import admin as registration_admin  # noqa: F401
