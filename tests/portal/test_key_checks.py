"""Production refuses the development keys published with the code, short
keys and missing or malformed ones (system checks portal.E001–E006)."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from portal.checks import check_private_data_keys, refuse_unsafe_keys
from portal.settings.base import DEV_FIELD_ENCRYPTION_KEY, DEV_FIELD_HASH_KEY, DEV_SECRET_KEY

GOOD = {
    "DEBUG": False,
    "SECRET_KEY": "s" * 20 + Fernet.generate_key().decode(),
    "FIELD_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
    "FIELD_HASH_KEY": Fernet.generate_key().decode(),
}


def error_ids(**overrides) -> list[str]:
    with override_settings(**{**GOOD, **overrides}):
        return [e.id for e in check_private_data_keys()]


def test_proper_keys_pass():
    assert error_ids() == []


def test_development_keys_are_refused():
    assert error_ids(SECRET_KEY=DEV_SECRET_KEY) == ["portal.E001"]
    assert error_ids(FIELD_ENCRYPTION_KEYS=[DEV_FIELD_ENCRYPTION_KEY]) == ["portal.E004"]
    # Also as an older key still listed after the new one.
    assert error_ids(
        FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode(), DEV_FIELD_ENCRYPTION_KEY]
    ) == ["portal.E004"]
    assert error_ids(FIELD_HASH_KEY=DEV_FIELD_HASH_KEY) == ["portal.E005"]


def test_short_missing_and_malformed_keys_are_refused():
    assert error_ids(SECRET_KEY="x" * 49) == ["portal.E001"]
    assert error_ids(FIELD_ENCRYPTION_KEYS=[]) == ["portal.E002"]
    assert error_ids(FIELD_ENCRYPTION_KEYS=["not-a-fernet-key"]) == ["portal.E003"]
    assert error_ids(FIELD_HASH_KEY="ci-hash-key") == ["portal.E006"]
    assert error_ids(FIELD_HASH_KEY="") == ["portal.E006"]


def test_development_settings_may_use_the_development_keys():
    assert (
        error_ids(
            DEBUG=True,
            SECRET_KEY=DEV_SECRET_KEY,
            FIELD_ENCRYPTION_KEYS=[DEV_FIELD_ENCRYPTION_KEY],
            FIELD_HASH_KEY=DEV_FIELD_HASH_KEY,
        )
        == []
    )


def test_the_wsgi_application_refuses_to_start_with_development_keys():
    with override_settings(**{**GOOD, "FIELD_HASH_KEY": DEV_FIELD_HASH_KEY}):
        with pytest.raises(ImproperlyConfigured, match="FIELD_HASH_KEY"):
            refuse_unsafe_keys()
    with override_settings(**GOOD):
        refuse_unsafe_keys()


def deploy_check(**env) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "ALLOWED_HOSTS": "tongxin.example.org",
        "PUBLIC_BASE_URL": "https://tongxin.example.org",
        "DATABASE_URL": "sqlite:///" + str(settings.BASE_DIR / "tmp" / "deploy-check.sqlite3"),
        **env,
    }
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING",
         "--settings", "portal.settings.production"],
        cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_deploy_check_fails_with_the_development_keys_and_passes_with_real_ones():
    refused = deploy_check(
        SECRET_KEY=DEV_SECRET_KEY,
        FIELD_ENCRYPTION_KEY=DEV_FIELD_ENCRYPTION_KEY,
        FIELD_HASH_KEY=DEV_FIELD_HASH_KEY,
    )
    assert refused.returncode != 0
    for check_id in ("portal.E001", "portal.E004", "portal.E005"):
        assert check_id in refused.stderr

    passed = deploy_check(
        SECRET_KEY=GOOD["SECRET_KEY"],
        FIELD_ENCRYPTION_KEY=GOOD["FIELD_ENCRYPTION_KEYS"][0],
        FIELD_HASH_KEY=GOOD["FIELD_HASH_KEY"],
    )
    assert passed.returncode == 0, passed.stderr
    assert "no issues" in passed.stdout
