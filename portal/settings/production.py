"""Production: every secret and host comes from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403


def _required(name):
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable.")
    return value


DEBUG = False
# Each worker keeps its database connection between requests (checked before use)
# instead of opening one per request.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DB_CONN_MAX_AGE", "60"))  # noqa: F405
SECRET_KEY = _required("SECRET_KEY")
FIELD_ENCRYPTION_KEYS = _required("FIELD_ENCRYPTION_KEY").split(",")
FIELD_HASH_KEY = _required("FIELD_HASH_KEY")
ALLOWED_HOSTS = _required("ALLOWED_HOSTS").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# Required: portal/checks.py (portal.E007) refuses to start without it.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
WAGTAILADMIN_BASE_URL = PUBLIC_BASE_URL
LOGGING["loggers"]["tongxin.requests"]["level"] = os.environ.get("REQUEST_LOG_LEVEL", "INFO")  # noqa: F405

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
# Probes come over plain HTTP from inside: they are not redirected to https.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = os.environ.get("SECURE_HSTS_PRELOAD", "0") == "1"
# Submitting a domain to the browsers' HSTS preload list is hard to undo and is the
# district's call (it covers every subdomain), so preload is opt-in and its
# reminder (security.W021) is silenced unless it is switched on.
SILENCED_SYSTEM_CHECKS = [  # noqa: F405
    *SILENCED_SYSTEM_CHECKS,  # noqa: F405
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")

TASKS = {
    alias: {"BACKEND": os.environ.get(variable, "django_tasks_db.DatabaseBackend")}
    for alias, variable in (
        ("default", "TASKS_BACKEND"),
        ("scheduled", "TASKS_SCHEDULED_BACKEND"),
    )
}
