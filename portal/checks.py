"""System checks on the keys that protect private data.

The development keys are published with the code (portal/settings/base.py):
an instance that runs without DEBUG (production) must not use them, nor a short
or missing key. ``manage.py check`` (run by migrate and by ``check --deploy``)
reports each problem as an error, and ``portal/wsgi.py`` refuses to start.
The same goes for a missing or local ``PUBLIC_BASE_URL`` (portal.E007), which
every absolute link is built from.
"""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, register

TAG = "private_data_keys"
MIN_SECRET_KEY_LENGTH = 50
MIN_HASH_KEY_LENGTH = 32


@register(TAG)
def check_private_data_keys(app_configs=None, **kwargs) -> list[Error]:
    """Errors for development, missing, short or malformed keys, unless DEBUG is on."""
    if settings.DEBUG:
        return []
    from portal.settings.base import DEV_FIELD_ENCRYPTION_KEY, DEV_FIELD_HASH_KEY, DEV_SECRET_KEY

    errors = []
    secret_key = settings.SECRET_KEY or ""
    if secret_key == DEV_SECRET_KEY or len(secret_key) < MIN_SECRET_KEY_LENGTH:
        errors.append(
            Error(
                f"SECRET_KEY is the development key or shorter than {MIN_SECRET_KEY_LENGTH} characters.",
                hint="Set the SECRET_KEY environment variable to a long random value.",
                id="portal.E001",
            )
        )
    keys = list(getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or [])
    if not keys:
        errors.append(
            Error(
                "FIELD_ENCRYPTION_KEY is not set.",
                hint='Make one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"',
                id="portal.E002",
            )
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"FIELD_ENCRYPTION_KEY: key {position} is not a valid Fernet key "
                    "(32 bytes, url-safe base64).",
                    id="portal.E003",
                )
            )
    if DEV_FIELD_ENCRYPTION_KEY in keys:
        errors.append(
            Error(
                "FIELD_ENCRYPTION_KEY contains the published development key.",
                hint="Add a new key in front, run `manage.py rotate_field_keys`, then "
                "remove the development key (README, Configuration).",
                id="portal.E004",
            )
        )
    hash_key = settings.FIELD_HASH_KEY or ""
    if hash_key == DEV_FIELD_HASH_KEY:
        errors.append(
            Error(
                "FIELD_HASH_KEY is the published development key.",
                hint="Set a new key, keep the old one in FIELD_HASH_KEY_PREVIOUS and run "
                "`manage.py rotate_field_keys` (README, Configuration).",
                id="portal.E005",
            )
        )
    elif len(hash_key) < MIN_HASH_KEY_LENGTH:
        errors.append(
            Error(
                f"FIELD_HASH_KEY is missing or shorter than {MIN_HASH_KEY_LENGTH} characters.",
                hint="Set the FIELD_HASH_KEY environment variable to a long random value.",
                id="portal.E006",
            )
        )
    return errors


LINKS_TAG = "public_links"
LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


@register(LINKS_TAG)
def check_public_base_url(app_configs=None, **kwargs) -> list[Error]:
    """Without DEBUG, PUBLIC_BASE_URL must be the site's public address: every
    QR code, message, email and calendar link is built from it (portal/links.py)."""
    if settings.DEBUG:
        return []
    from urllib.parse import urlsplit

    url = getattr(settings, "PUBLIC_BASE_URL", "") or ""
    bits = urlsplit(url)
    try:
        bits.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        bits = urlsplit("")
    if (
        bits.scheme not in ("http", "https")
        or not bits.hostname
        or bits.hostname in LOOPBACK
        or bits.path.strip("/")
        or bits.query
        or bits.fragment
    ):
        return [
            Error(
                f"PUBLIC_BASE_URL is {url!r}: it must be the address people open the site "
                "at, e.g. https://tongxin.example.org (no path).",
                hint="Set the PUBLIC_BASE_URL environment variable. QR codes, messages, "
                "emails and calendar feeds link to it.",
                id="portal.E007",
            )
        ]
    return []


def refuse_unsafe_keys() -> None:
    """Raise ImproperlyConfigured if the key or base-URL checks fail (called by portal/wsgi.py,
    since gunicorn, unlike manage.py, runs no system checks)."""
    from django.core.checks import run_checks
    from django.core.exceptions import ImproperlyConfigured

    errors = [e for e in run_checks(tags=[TAG, LINKS_TAG]) if e.is_serious()]
    if errors:
        raise ImproperlyConfigured("\n".join(str(e) for e in errors))
