"""Partner units on the site: the list, a unit's page and signed agreements,
and a contact's own unit with its resources (/alliance/my-unit/…)."""

from django.urls import include, path

from alliance.partners import views

my_unit_patterns = [
    path("", views.my_unit, name="alliance_my_unit"),
    path("resources/new/", views.resource_new, name="alliance_resource_new"),
    path("resources/<int:pk>/", views.resource_edit, name="alliance_resource_edit"),
    path(
        "resources/<int:pk>/withdraw/", views.resource_withdraw, name="alliance_resource_withdraw"
    ),
]

urlpatterns = [
    path("partners/", views.partner_list, name="alliance_partners"),
    path("partners/<int:pk>/", views.partner_detail, name="alliance_partner"),
    path("agreements/<int:pk>/signed/", views.agreement_file, name="alliance_agreement_file"),
    path("my-unit/", include(my_unit_patterns)),
]
