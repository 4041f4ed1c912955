"""Partner units, agreements and the three lists on the site."""

urlpatterns = []
