"""Minutes and action items on the site: drafting, comments, approval, follow-up."""

urlpatterns = []
