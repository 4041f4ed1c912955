import os
from urllib.parse import urlsplit

from .base import *  # noqa: F403

DEBUG = True
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# Static files come from the app folders through runserver/staticfiles here.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
# `make run HOST=192.168.1.20:8080` sets PUBLIC_BASE_URL=http://192.168.1.20:8080:
# serve that host name too, so the links it prints open.
if "ALLOWED_HOSTS" not in os.environ:
    _public_host = urlsplit(PUBLIC_BASE_URL).hostname  # noqa: F405
    if _public_host and _public_host not in ALLOWED_HOSTS:  # noqa: F405
        ALLOWED_HOSTS = [*ALLOWED_HOSTS, _public_host]  # noqa: F405
