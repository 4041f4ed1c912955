"""The alliance's pages: partners and the three lists, joint meetings, minutes
and action items (each module keeps its own URL list)."""

from alliance import meeting_views, minutes_views, partner_views

urlpatterns = [
    *partner_views.urlpatterns,
    *meeting_views.urlpatterns,
    *minutes_views.urlpatterns,
]
