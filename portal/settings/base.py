"""Settings shared by every environment. Anything that differs in production
is read from the environment (see production.py and the README)."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Development keys, published with the code: portal/checks.py refuses them
# outside DEBUG, so production must set its own.
DEV_SECRET_KEY = "dev-only-not-secret-tongxin"
DEV_FIELD_ENCRYPTION_KEY = "RIGw0NwIETbZVbbsfpSXDZTt_Z0GmrIKRqduaK8gIDc="
DEV_FIELD_HASH_KEY = "dev-only-hash-key"

SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "portal",
    "branches",
    "search",
    "volunteers",
    "alliance",
    "wagtail.contrib.forms",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.table_block",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",
    "portal.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.page_cache.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.SessionIdleMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.AdminLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.csp.PortalCSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.RequireMFAMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# The embedded default is SQLite in WAL mode; DATABASE_URL switches to PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
        # A kept connection is checked before a request uses it (after a restart).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Idle sessions expire SESSION_IDLE_SECONDS after their last request; the session
# is written at most once a minute to record that (portal.middleware.SessionIdleMiddleware),
# not on every request.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = False
SESSION_TOUCH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# CACHE_URL (Redis, e.g. redis://127.0.0.1:6379/0) is shared by every process:
# rate limits, code throttles, sessions (read from it, kept in the database
# too) and the page cache. Unset: each process's own memory.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("CACHE_URL"):
    CACHES["default"] = {
        # Django's Redis cache, carrying on without it while Redis restarts.
        "BACKEND": "portal.cache.ResilientRedisCache",
        "LOCATION": os.environ["CACHE_URL"],
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Anonymous public pages served from the cache (portal/page_cache.py). On by
# default only with a shared cache: with several processes, one process's
# memory would not hear of another's invalidations.
TONGXIN_PAGE_CACHE = (
    os.environ.get("PAGE_CACHE", "1" if os.environ.get("CACHE_URL") else "0") == "1"
)
# How long a cached page may be served at most (what changes with time alone,
# such as a calendar's window, is at most this old).
TONGXIN_PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "300"))
# A page rendered less than this long after a change of what it shows is not
# served again: the web machines' clocks may differ by this much (keep them in
# sync with NTP).
TONGXIN_PAGE_CACHE_CLOCK_SKEW = 1.0
# How long a reverse proxy or CDN in front may keep an anonymous page
# (Cache-Control s-maxage); 0: it must ask every time. See the README.
TONGXIN_PROXY_CACHE_SECONDS = int(os.environ.get("PROXY_CACHE_SECONDS", "0"))
# The deployed version (e.g. the git revision): a new one starts with an empty
# page cache, so no page rendered by the previous code is served.
TONGXIN_RELEASE = os.environ.get("RELEASE", "")
# A proxy in front that accepts HTTP PURGE (Varnish, nginx with a purge
# module): Wagtail purges a page's addresses there when it is published or
# unpublished (wagtail.contrib.frontend_cache). Listings above the page are not
# purged: keep PROXY_CACHE_SECONDS short. See the README.
if os.environ.get("FRONTEND_CACHE_PURGE_URL"):
    INSTALLED_APPS.append("wagtail.contrib.frontend_cache")
    WAGTAILFRONTENDCACHE = {
        "proxy": {
            "BACKEND": "wagtail.contrib.frontend_cache.backends.HTTPBackend",
            "LOCATION": os.environ["FRONTEND_CACHE_PURGE_URL"],
        }
    }

# Background tasks: run inline by default; the database backend + db_worker in production.
TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend"
        )
    },
    # Work due at a set time (scheduled publishing and expiry, reminders) needs a
    # backend that can defer it: the database, run by `manage.py db_worker
    # --backend scheduled` (make run starts one).
    "scheduled": {
        "BACKEND": os.environ.get("TASKS_SCHEDULED_BACKEND", "django_tasks_db.DatabaseBackend")
    },
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tongxin@localhost")

# --- Private data -------------------------------------------------------------
# Fernet key(s) for field encryption, comma-separated, newest first (rotation).
FIELD_ENCRYPTION_KEYS = [
    k for k in os.environ.get("FIELD_ENCRYPTION_KEY", DEV_FIELD_ENCRYPTION_KEY).split(",") if k
]
# Key for the keyed hash (HMAC-SHA256) kept beside each ciphertext for exact lookup.
FIELD_HASH_KEY = os.environ.get("FIELD_HASH_KEY", DEV_FIELD_HASH_KEY)
# Earlier hash key(s), comma-separated, while `manage.py rotate_field_keys`
# recomputes the hash columns: lookups also try them (see portal/crypto.py).
FIELD_HASH_KEYS_PREVIOUS = [
    k for k in os.environ.get("FIELD_HASH_KEY_PREVIOUS", "").split(",") if k
]

# --- Accounts (django-allauth) -------------------------------------------------
ACCOUNT_ADAPTER = "portal.accounts.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email", "phone"}
# No username at sign-up: "this name is taken" would tell anyone which accounts
# exist. The mobile number (verified by SMS; allauth answers alike whether it is
# known) is how people sign in; the account gets a random username.
ACCOUNT_SIGNUP_FIELDS = ["phone", "password1*", "password2*"]
# allauth warns that username sign-in is on while sign-up asks for none: on
# purpose, accounts an administrator makes (and the demo's) sign in by username.
SILENCED_SYSTEM_CHECKS = ["account.W001"]
ACCOUNT_FORMS = {"signup": "portal.forms.SignupForm"}
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
# Six digits, as Chinese SMS codes are.
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/ip,5/5m/key",
    "signup": "20/m/ip",
    "verify_phone": "1/30s/key,3/m/ip",
}
# Behind N reverse proxies the client is the N-th address from the right of
# X-Forwarded-For; rate limits and the audit log both read it (portal.audit.client_ip).
# 0 (no proxy) uses REMOTE_ADDR and ignores the header, which a client can forge.
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/me/"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Tongxin"
# Swappable SMS sender (see portal/sms.py); the default writes the code to the log.
TONGXIN_SMS_SENDER = os.environ.get("SMS_SENDER", "portal.sms.ConsoleSMSSender")
# allauth's emails name the site, not the host name a request came in with.
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[同心] "

# --- Wagtail -------------------------------------------------------------------
WAGTAIL_SITE_NAME = "同心 Tongxin"
# The site's public address (scheme, host and port, no path): every absolute
# link starts with it — QR codes, messages and emails, calendar feeds, Wagtail's
# own emails (portal/links.py). `make run HOST=…` sets it; production must.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
WAGTAILADMIN_BASE_URL = PUBLIC_BASE_URL
# The admin and restricted pages sign in through allauth, so they share its
# throttling and MFA; Wagtail's own password change and reset are switched off
# (portal/urls.py shadows their routes) and so are shared-password restrictions.
# The admin's sign-in URL is portal.views.admin_sign_in: it sends the signed-out
# to allauth and shows the signed-in without a staff role a "no access" page.
WAGTAILADMIN_LOGIN_URL = "/admin/login/"
WAGTAIL_FRONTEND_LOGIN_URL = LOGIN_URL
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAIL_PRIVATE_PAGE_OPTIONS = {"SHARED_PASSWORD": False}
WAGTAILDOCS_PRIVATE_COLLECTION_OPTIONS = {"SHARED_PASSWORD": False}
# Uploads (portal/uploads.py keeps the same lists for our own forms): documents
# are always served through Wagtail's view (collection restrictions, nosniff,
# CSP), never as a /media/ URL; only PDFs open in the browser.
WAGTAILDOCS_EXTENSIONS = ["pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp"]
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILDOCS_INLINE_CONTENT_TYPES = ["application/pdf"]
WAGTAILIMAGES_EXTENSIONS = ["jpg", "jpeg", "png", "webp"]
WAGTAILIMAGES_MAX_IMAGE_PIXELS = 40_000_000
# Admin uploads are re-encoded without EXIF like every other photo.
WAGTAILIMAGES_IMAGE_FORM_BASE = "portal.image_form.ImageForm"
WAGTAIL_I18N_ENABLED = False
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_ENABLE_UPDATE_CHECK = False
# No avatars from outside: the admin must not call a third-party server.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
WAGTAIL_CONTENT_LANGUAGES = [("zh-hans", "简体中文")]

ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "")
# The portal's own search (search/): the embedded database backend unless an
# Elasticsearch cluster is configured.
TONGXIN_SEARCH_BACKEND = os.environ.get(
    "SEARCH_BACKEND",
    "search.backends.elastic.ElasticsearchBackend"
    if ELASTICSEARCH_URL
    else "search.backends.database.DatabaseBackend",
)
TONGXIN_SEARCH_INDEX = os.environ.get("SEARCH_INDEX", "tongxin")
TONGXIN_ES_ANALYZER = os.environ.get("ES_ANALYZER", "auto")

# Every handler masks full ID and mobile numbers (a URL in "Not Found: /search/?q=…",
# the runserver and gunicorn access lines, the admins' error e-mail): see
# portal/log_filters.py. Django's request errors also go to the console (stderr).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_private_numbers": {"()": "portal.log_filters.MaskPrivateNumbers"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "request_id": {"()": "portal.log_filters.RequestId"},
    },
    "formatters": {
        # One line per record (and its traceback), with the request's id.
        "console": {
            "format": "{asctime} {levelname} {name} [{request_id}] {message}",
            "style": "{",
        },
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "console",
            "filters": ["request_id", "mask_private_numbers"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_private_numbers"],
        },
        "mail_admins": {
            "level": "ERROR",
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["require_debug_false", "mask_private_numbers"],
        },
    },
    "loggers": {
        "tongxin": {"handlers": ["console"], "level": "INFO"},
        # One line per request (portal/metrics.py). Production logs them (INFO);
        # development (runserver prints its own) and tests stay quiet.
        "tongxin.requests": {"level": os.environ.get("REQUEST_LOG_LEVEL", "WARNING")},
        "django": {"handlers": ["console", "mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
DEFAULT_EXCEPTION_REPORTER = "portal.log_filters.MaskedExceptionReporter"

X_FRAME_OPTIONS = "SAMEORIGIN"

# Content-Security-Policy (django-csp): scripts only from our own static files,
# never inline (no <script> blocks, no on* attributes: behaviour goes in .js
# files). Styles may be inline: Wagtail's admin and our templates set style
# attributes, and a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'self'"],
        "form-action": ["'self'"],
    },
}
# Wagtail 8's admin still writes inline <script> elements (see portal/csp.py):
# added to the policy on the admin's pages only.
TONGXIN_CSP_ADMIN_UPDATE = {"script-src": ["'unsafe-inline'"]}

# --- Notifications and reminders -------------------------------------------------
# Extra channels besides the inbox and email: dotted paths of callables
# channel(user, subject, body, url), e.g. an SMS or WeChat template-message adapter.
TONGXIN_NOTIFY_CHANNELS = [c for c in os.environ.get("NOTIFY_CHANNELS", "").split(",") if c]
# How long before a meeting its invitees are reminded.
TONGXIN_MEETING_REMINDER_HOURS = int(os.environ.get("MEETING_REMINDER_HOURS", "24"))

# /readyz (portal/health.py) fails when a due task has waited this many seconds
# for a worker, or when more notifications than this wait to be delivered.
TONGXIN_READY_TASK_DELAY = int(os.environ.get("READY_TASK_DELAY", "600"))
TONGXIN_READY_OUTBOX_LIMIT = int(os.environ.get("READY_OUTBOX_LIMIT", "1000"))
# ... and when no worker of a database task backend has beaten for this long.
TONGXIN_READY_WORKER_DELAY = int(os.environ.get("READY_WORKER_DELAY", "120"))

# --- Background workers (portal/workers.py) ---------------------------------------
# Each db_worker records a beat this often; a task RUNNING under a worker silent for
# WORKER_TIMEOUT seconds was abandoned (the worker was killed) and is queued again.
TONGXIN_WORKER_BEAT_SECONDS = float(os.environ.get("WORKER_BEAT_SECONDS", "10"))
TONGXIN_WORKER_TIMEOUT = int(os.environ.get("WORKER_TIMEOUT", "60"))
# The due work (outbox sweep, requeues) runs at least this often, scheduled or not.
TONGXIN_DUE_WORK_PERIOD = int(os.environ.get("DUE_WORK_PERIOD", "60"))

# --- Metrics ---------------------------------------------------------------------
# /metrics (portal/metrics.py) answers only `Authorization: Bearer <METRICS_TOKEN>`;
# without a token configured it is a 404 like any unknown URL.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
