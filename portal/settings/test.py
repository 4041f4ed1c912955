from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
MEDIA_ROOT = BASE_DIR / "tmp" / "test-media"  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    "scheduled": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}
TONGXIN_SMS_SENDER = "portal.sms.MemorySMSSender"
# Static files come from the app folders through runserver/staticfiles here.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
# A public-looking address (RFC 2606 .test): production's check accepts it and
# URL fields validate it; tests that follow a link strip it.
PUBLIC_BASE_URL = WAGTAILADMIN_BASE_URL = "http://tongxin.test"
# One process, one clock: a page rendered right after a change may be kept.
TONGXIN_PAGE_CACHE_CLOCK_SKEW = 0
