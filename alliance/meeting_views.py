"""Joint meetings on the site: convening, agenda, invitations and RSVP, sign-in."""

urlpatterns = []
