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


def keyed_hash(value: str) -> str:
    """Digest used to look a private value up without decrypting anything."""
    key = settings.FIELD_HASH_KEY.encode()
    return hmac.new(key, normalise(value).encode(), hashlib.sha256).hexdigest()


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
