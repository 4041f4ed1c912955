"""Joint meetings on the site: the list, convening, and each meeting's pages
(/alliance/meetings/<id>/…): the meeting itself and its .ics invitation, the
agenda (proposals, decisions, order, attachments), answers and sign-in, and
the printed agenda."""

from django.urls import include, path

from alliance.meetings import views

agenda_patterns = [
    path("propose/", views.meeting_propose, name="meeting_propose"),
    path("agenda/<int:item_pk>/decide/", views.meeting_agenda_decide, name="meeting_agenda_decide"),
    path("agenda/<int:item_pk>/move/", views.meeting_agenda_move, name="meeting_agenda_move"),
    path("agenda/<int:item_pk>/attachment/", views.meeting_attachment, name="meeting_attachment"),
]

attendance_patterns = [
    path("rsvp/", views.meeting_rsvp, name="meeting_rsvp"),
    path("sign-in/", views.meeting_sign_in, name="meeting_sign_in"),
    path("code/", views.meeting_code, name="meeting_code"),
    path("present/<int:invitation_pk>/", views.meeting_mark_present, name="meeting_mark_present"),
]

meeting_patterns = [
    path("", views.meeting_detail, name="meeting_detail"),
    path("invite.ics", views.meeting_ics, name="meeting_ics"),
    path("reschedule/", views.meeting_reschedule, name="meeting_reschedule"),
    path("cancel/", views.meeting_cancel, name="meeting_cancel"),
    path("", include(agenda_patterns)),
    path("", include(attendance_patterns)),
]

urlpatterns = [
    path("meetings/", views.meeting_list, name="meeting_list"),
    path("meetings/new/", views.meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", include(meeting_patterns)),
    path("meetings/<int:meeting_id>/agenda.pdf", views.agenda_pdf_view, name="alliance_agenda_pdf"),
]
