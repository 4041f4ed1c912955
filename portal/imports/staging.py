"""Keeping an uploaded import file between its dry run and the confirmation: the
file is stored encrypted (it holds ID and phone numbers) under the user and
kind, named in the session with a token and its digest; at most one file per
user and kind is ever kept."""

import base64
import hashlib
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from portal.crypto import decrypt, encrypt

STAGING_DIR = "import-staging"


def session_key(kind: str) -> str:
    return f"branches_import_{kind}"


def _staging_prefix(user, kind: str) -> str:
    return f"{STAGING_DIR}/{user.pk}/{kind}-"


def stage_save(request, kind: str, data: bytes, filename: str) -> dict:
    stage_discard(request, kind)
    token = secrets.token_urlsafe(24)
    # Encrypted like any private field: the file holds ID and phone numbers.
    blob = encrypt(base64.b64encode(data).decode()).encode()
    name = default_storage.save(
        f"{_staging_prefix(request.user, kind)}{token}.bin", ContentFile(blob)
    )
    staged = {
        "token": token,
        "name": name,
        "digest": hashlib.sha256(data).hexdigest(),
        "filename": filename[:200],
    }
    request.session[session_key(kind)] = staged
    return staged


def stage_load(request, kind: str, staged: dict) -> bytes | None:
    name = staged.get("name", "")
    if not name.startswith(_staging_prefix(request.user, kind)):
        return None
    try:
        with default_storage.open(name) as handle:
            blob = handle.read()
        return base64.b64decode(decrypt(blob.decode()))
    except (OSError, ValueError):
        return None


def stage_discard(request, kind: str) -> None:
    """Forget the user's pending upload of this kind, and any left behind by an
    earlier session: at most one file per user and kind is ever kept."""
    request.session.pop(session_key(kind), None)
    prefix = _staging_prefix(request.user, kind)
    folder, _sep, start = prefix.rpartition("/")
    try:
        _dirs, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        if name.startswith(start):
            default_storage.delete(f"{folder}/{name}")
