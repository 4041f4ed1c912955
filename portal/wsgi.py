import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")
application = get_wsgi_application()

# Refuse to serve with the published development keys or short ones.
from portal.checks import refuse_unsafe_keys  # noqa: E402

refuse_unsafe_keys()

# Load jieba's dictionary now rather than on a user's first search (~0.6 s).
from search.text import jieba_ready  # noqa: E402

jieba_ready()
