"""A member's own community registration (双报到) on the site."""

from django.urls import path

from volunteers.registration import views

urlpatterns = [
    path("", views.my_registration, name="my_registration"),
    path("branches/", views.registration_branches, name="registration_branches"),
    path("withdraw/", views.registration_withdraw, name="registration_withdraw"),
    path("slip/", views.registration_slip, name="registration_slip"),
]
