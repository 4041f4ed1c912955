"""Field encryption for private data.

Each private value is stored twice: as Fernet ciphertext (``EncryptedTextField``)
and as a keyed HMAC-SHA256 digest (``KeyedHashField``) for exact lookup and
uniqueness. Neither reveals the value without the keys from the environment.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=1)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(value: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt a private field: wrong FIELD_ENCRYPTION_KEY?") from exc


def normalise(value: str) -> str:
    return "".join(value.split()).upper()


def _hmac(key: str, value: str) -> str:
    return hmac.new(key.encode(), normalise(value).encode(), hashlib.sha256).hexdigest()


def keyed_hash(value: str) -> str:
    """Digest used to look a private value up without decrypting anything
    (with the current FIELD_HASH_KEY: what a saved row holds)."""
    return _hmac(settings.FIELD_HASH_KEY, value)


def keyed_hashes(value: str) -> list[str]:
    """The digests of ``value`` under the current key and every previous one
    (FIELD_HASH_KEY_PREVIOUS). Look rows up with ``<field>__in=keyed_hashes(v)``:
    while ``manage.py rotate_field_keys`` recomputes the hash columns, a row may
    still hold the old digest."""
    keys = [settings.FIELD_HASH_KEY, *getattr(settings, "FIELD_HASH_KEYS_PREVIOUS", [])]
    return list(dict.fromkeys(_hmac(key, value) for key in keys))


def decrypt_for_rotation(token: str) -> tuple[str, str | None]:
    """The clear value of a stored ciphertext, decrypted once, and its ciphertext
    under the first (newest) key, or None when it already uses that key alone."""
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS[:1])).decrypt(
            token.encode()
        ).decode(), None
    except InvalidToken:
        clear = decrypt(token)
        return clear, encrypt(clear)


class EncryptedTextField(models.TextField):
    """Stores ciphertext; the Python value is the clear text (read it through
    a masked accessor or an audited reveal, never print it)."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)

    def formfield(self, **kwargs):
        from django import forms

        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off"}))
        return super().formfield(**kwargs)


class KeyedHashField(models.CharField):
    """HMAC of another field on the same model, refreshed on every save."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        clear = getattr(model_instance, self.source)
        value = keyed_hash(clear) if clear else (None if self.null else "")
        setattr(model_instance, self.attname, value)
        return value
