"""Backup sets and their restore: the database, the media folder and a manifest
that proves a restore is complete and that private values still decrypt.

A backup set is one folder:

- ``database.dump`` (PostgreSQL, ``pg_dump --format=custom``) or
  ``database.sqlite3`` (SQLite, copied with the online backup API, safe while
  the portal runs in WAL mode);
- ``media.tar.gz``: everything under ``MEDIA_ROOT``, private uploads included;
- ``manifest.json``, written last: the engine, the latest applied migration of
  each app, the row count of every table, and for every encrypted column a
  keyed digest (HMAC-SHA256 with ``FIELD_HASH_KEY``) over its decrypted values.
  The manifest holds no private value: a plain SHA-256 of a column with one
  phone number could be reversed by trying every number, a keyed digest cannot
  without the key (the database already keeps such keyed digests per row).

The keys (``FIELD_ENCRYPTION_KEY``, ``FIELD_HASH_KEY``, ``SECRET_KEY``) are never
part of a set: they are kept separately, and a restore needs them.

A restore goes only into an empty database and never overwrites a media file;
everything it can check (the files' checksums, the tar's members, the code's
migrations, the target) is checked before it writes anything. Afterwards it
recounts every table and recomputes every digest from the restored data.
"""

from dataclasses import dataclass, field

MANIFEST = "manifest.json"
MEDIA_FILE = "media.tar.gz"
DATABASE_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
FORMAT = 1


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator."""


@dataclass
class Verification:
    """What a restore (or ``restore --verify-only``) found, against the manifest."""

    tables: int = 0
    rows: int = 0
    columns: int = 0
    media_files: int = 0
    problems: list[str] = field(default_factory=list)
