"""The minutes of a joint meeting on the site (/alliance/meetings/<id>/minutes/…:
the editor or the minutes, comments, changes of state, versions, the PDF) and
the public check of a printed copy."""

from django.urls import include, path

from alliance.minutes import views

minutes_patterns = [
    path("", views.minutes_page, name="alliance_minutes"),
    path("start/", views.minutes_start, name="alliance_minutes_start"),
    path("comment/", views.minutes_comment, name="alliance_minutes_comment"),
    path("state/<str:action>/", views.minutes_transition, name="alliance_minutes_transition"),
    path("versions/<int:number>/", views.minutes_version, name="alliance_minutes_version"),
]

urlpatterns = [
    path("meetings/<int:meeting_id>/minutes/", include(minutes_patterns)),
    path(
        "meetings/<int:meeting_id>/minutes.pdf", views.minutes_pdf_view, name="alliance_minutes_pdf"
    ),
    path(
        "minutes/verify/<int:pk>/<str:token>/", views.minutes_verify, name="alliance_minutes_verify"
    ),
]
