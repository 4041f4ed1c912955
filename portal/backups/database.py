"""Backup sets' database part: row counts and digests of private columns, and the dump and load of each engine."""

import hashlib
import hmac
import os
import sqlite3
import subprocess
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from portal.backups import DATABASE_FILES, BackupError
from portal.crypto import EncryptedTextField, decrypt

# HMAC of this constant tells, without revealing the key, which hash key a set was made with.
_KEY_CHECK = b"tongxin-backup-hash-key-check"
_CHUNK = 2000

# --- The database: statistics --------------------------------------------------


def _digest_key(key: str) -> bytes:
    return hmac.new(key.encode(), _KEY_CHECK, hashlib.sha256).hexdigest().encode()


def hash_key_check(key: str) -> str:
    """What the manifest records of a hash key: an HMAC of a constant under it."""
    return _digest_key(key).decode()


def _encrypted_columns(tables: set[str]) -> dict[str, tuple[str, list[str]]]:
    """table -> (primary-key column, encrypted columns) for every concrete model
    with an ``EncryptedTextField`` whose table is present."""
    found = {}
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed or model._meta.db_table not in tables:
            continue
        encrypted = [
            f.column
            for f in model._meta.local_concrete_fields
            if f.model is model and isinstance(f, EncryptedTextField)
        ]
        if encrypted:
            found[model._meta.db_table] = (model._meta.pk.column, encrypted)
    return found


def _column_digests(db, table, pk, columns, key: str) -> dict[str, dict]:
    """Per encrypted column: how many values it holds, how many do not decrypt
    with the configured keys, and a keyed digest over (pk, clear value) in pk
    order. A value that does not decrypt enters as the SHA-256 of its ciphertext."""
    quote = db.ops.quote_name
    macs = {c: hmac.new(_digest_key(key), digestmod=hashlib.sha256) for c in columns}
    values = dict.fromkeys(columns, 0)
    undecryptable = dict.fromkeys(columns, 0)
    select = f"SELECT {quote(pk)}, {', '.join(quote(c) for c in columns)} FROM {quote(table)}"
    last = None
    with db.cursor() as cursor:
        while True:
            # Keyset pages: memory stays flat however large the table is.
            if last is None:
                cursor.execute(f"{select} ORDER BY {quote(pk)} LIMIT %s", [_CHUNK])
            else:
                where = f"WHERE {quote(pk)} > %s ORDER BY {quote(pk)} LIMIT %s"
                cursor.execute(f"{select} {where}", [last, _CHUNK])
            rows = cursor.fetchall()
            for row in rows:
                for column, token in zip(columns, row[1:], strict=True):
                    if token in (None, ""):
                        part = b"\x00" if token is None else b""
                    else:
                        values[column] += 1
                        try:
                            part = b"=" + decrypt(token).encode()
                        except ValueError:
                            undecryptable[column] += 1
                            part = b"!" + hashlib.sha256(token.encode()).hexdigest().encode()
                    macs[column].update(str(row[0]).encode() + b"\x1f" + part + b"\x1e")
            if len(rows) < _CHUNK:
                break
            last = rows[-1][0]
    return {
        f"{table}.{c}": {
            "values": values[c],
            "undecryptable": undecryptable[c],
            "digest": macs[c].hexdigest(),
        }
        for c in columns
    }


def database_stats(*, db, hash_key: str | None = None) -> dict:
    """Row count of every table, latest applied migration per app and the
    digests of the encrypted columns, read through ``db`` (a Django database
    connection) as it sees the data now. Nothing in the result is private."""
    key = hash_key or settings.FIELD_HASH_KEY
    quote = db.ops.quote_name
    with db.cursor() as cursor:
        tables = sorted(db.introspection.table_names(cursor))
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")
            counts[table] = cursor.fetchone()[0]
        migrations = {}
        if "django_migrations" in counts:
            # The highest-numbered per app (a squash is recorded after the later
            # migrations it sits before); sorted here, not by a collation.
            cursor.execute("SELECT app, name FROM django_migrations")
            for app, name in sorted(cursor.fetchall()):
                migrations[app] = name
    columns = {}
    for table, (pk, encrypted) in sorted(_encrypted_columns(set(tables)).items()):
        columns.update(_column_digests(db, table, pk, encrypted, key))
    return {
        "migrations": dict(sorted(migrations.items())),
        "tables": counts,
        "encrypted_columns": columns,
        "hash_key_check": hash_key_check(key),
    }


def database_is_empty(*, db=None) -> bool:
    """True when the database holds no table, view, sequence or index at all
    (an empty schema is fine): the only database a restore writes into."""
    db = db or connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        if db.vendor == "sqlite":
            cursor.execute("SELECT COUNT(*) FROM sqlite_master")
        else:
            cursor.execute(
                """SELECT COUNT(*) FROM pg_catalog.pg_class c
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND n.nspname NOT LIKE 'pg\\_toast%'
                  AND n.nspname NOT LIKE 'pg\\_temp%'"""
            )
        return cursor.fetchone()[0] == 0


# --- The database: dump and load per engine ------------------------------------


def engine_name(db) -> str:
    if db.vendor not in DATABASE_FILES:
        raise BackupError(
            _("不支持的数据库 / Unsupported database engine: %(vendor)s") % {"vendor": db.vendor}
        )
    return db.vendor


def _pg_env(db) -> dict:
    """libpq's environment for pg_dump / pg_restore, from the connection's
    settings: the password goes in PGPASSWORD, never on the command line."""
    from django.db.backends.postgresql.client import DatabaseClient

    settings_dict = db.settings_dict
    _args, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
    env = {**os.environ, **(env or {})}
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER")):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    return env


def _pg_dbname(db) -> str:
    name = db.settings_dict.get("NAME")
    service = db.settings_dict.get("OPTIONS", {}).get("service")
    return name or (f"service={service}" if service else "postgres")


def _run(command: list[str], env: dict, what: str) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(
            _(
                "找不到 %(program)s，请安装 PostgreSQL 客户端 / %(program)s not found: install the PostgreSQL client tools"
            )
            % {"program": command[0]}
        ) from exc
    if result.returncode != 0:
        raise BackupError(
            _("%(what)s 失败 / %(what)s failed: %(error)s")
            % {"what": what, "error": result.stderr.strip()[-2000:]}
        )


def _postgres_dump(db, target: Path) -> dict:
    """pg_dump and the statistics from one snapshot: a transaction on a
    connection of its own exports its snapshot, pg_dump dumps exactly that
    snapshot and the statistics are read in it, so the manifest matches the
    dump even while the portal keeps writing."""
    snap = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        snap.ensure_connection()
        snap.set_autocommit(False)
        with snap.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        command = [
            "pg_dump", "--format=custom", "--no-password", f"--snapshot={snapshot}",
            f"--file={target}", f"--dbname={_pg_dbname(db)}",
        ]  # fmt: skip
        _run(command, _pg_env(db), "pg_dump")
        return database_stats(db=snap)
    finally:
        # Closing ends the read-only transaction (and the exported snapshot).
        snap.close()


def _sqlite_dump(db, target: Path) -> dict:
    """Copy with SQLite's online backup API (one step: a consistent snapshot,
    writers in WAL mode carry on), then read the statistics from the copy."""
    db.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        db.connection.backup(copy)
        # A self-contained file: no -wal/-shm beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
    reader = db.__class__(
        {**db.settings_dict, "NAME": f"file:{target}?mode=ro", "OPTIONS": {}}, "tongxin_backup"
    )
    try:
        return database_stats(db=reader)
    finally:
        reader.close()


def database_dump(*, target: Path, db=None) -> dict:
    """Dump the configured database into ``target``; return its statistics."""
    db = db or connections[DEFAULT_DB_ALIAS]
    if engine_name(db) == "postgresql":
        return _postgres_dump(db, target)
    return _sqlite_dump(db, target)


def database_load(*, source: Path, db=None) -> None:
    """Load a dump into the configured (empty) database."""
    db = db or connections[DEFAULT_DB_ALIAS]
    if engine_name(db) == "postgresql":
        db.close()
        # Objects belong to the user restoring (--no-owner); grants to roles this
        # server may lack are left out (--no-privileges); all or nothing.
        command = [
            "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
            "--single-transaction", "--no-password", f"--dbname={_pg_dbname(db)}", str(source),
        ]  # fmt: skip
        _run(command, _pg_env(db), "pg_restore")
        return
    db.ensure_connection()
    dump = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dump.backup(db.connection)
    finally:
        dump.close()
        # The next query opens the restored file afresh (WAL mode again).
        db.close()
