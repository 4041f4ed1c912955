"""Shifts on the site: the list, one shift, signing up, cancelling and checking in."""

from django.urls import path

from volunteers.duties import views

urlpatterns = [
    path("", views.shift_list, name="volunteer_shifts"),
    path("shifts/<int:pk>/", views.shift_detail, name="volunteer_shift"),
    path("shifts/<int:pk>/sign-up/", views.shift_sign_up, name="volunteer_sign_up"),
    path("shifts/<int:pk>/cancel/", views.shift_cancel, name="volunteer_cancel"),
    path("shifts/<int:pk>/check/", views.shift_check_code, name="volunteer_check"),
    path("shifts/<int:pk>/scan/", views.shift_scan, name="volunteer_scan"),
    path("shifts/<int:pk>/code/", views.shift_code, name="volunteer_shift_code"),
]
