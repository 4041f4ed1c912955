"""Backup sets: create one, read and check one, restore one into an empty database, verify a restore."""

import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.backups import DATABASE_FILES, FORMAT, MANIFEST, MEDIA_FILE, BackupError, Verification
from portal.backups.database import (
    database_dump,
    database_is_empty,
    database_load,
    database_stats,
    engine_name,
    hash_key_check,
)
from portal.backups.media import media_check, media_members, media_pack, media_unpack

_KEYS_NOTE = (
    "FIELD_ENCRYPTION_KEY, FIELD_HASH_KEY and SECRET_KEY are not in this backup set: "
    "keep them separately (e.g. in the district's password vault)."
)


# --- Backup sets -----------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _set_directory(base: Path) -> tuple[Path, bool]:
    """The set's folder (and whether we made it): ``base`` itself when it is an
    empty folder, else a new ``tongxin-<time>`` folder inside it."""
    if base.is_dir() and not any(base.iterdir()):
        return base, False
    if base.exists() and not base.is_dir():
        raise BackupError(_("%(path)s 不是目录 / %(path)s is not a directory") % {"path": base})
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 100):
        candidate = base / (f"tongxin-{stamp}" if n == 1 else f"tongxin-{stamp}-{n}")
        try:
            candidate.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            continue
        return candidate, True
    raise BackupError(
        _("无法创建备份目录 / Cannot create a backup folder in %(path)s") % {"path": base}
    )


def backup_create(*, directory: Path) -> tuple[Path, dict]:
    """Write one backup set (database, media, manifest) under ``directory``;
    return its folder and manifest. The keys are not part of the set."""
    db = connections[DEFAULT_DB_ALIAS]
    engine = engine_name(db)
    media_root = Path(settings.MEDIA_ROOT).resolve()
    directory = Path(directory).resolve()
    if directory.is_relative_to(media_root):
        raise BackupError(
            _("备份目录不能在 MEDIA_ROOT 之内 / The backup folder must not be inside MEDIA_ROOT")
        )
    # Private data: the set's files are for this user alone (pg_dump's file too).
    umask = os.umask(0o077)
    try:
        return _backup_write(db, engine, directory, media_root)
    finally:
        os.umask(umask)


def _backup_write(db, engine: str, directory: Path, media_root: Path) -> tuple[Path, dict]:
    target, made = _set_directory(directory)
    written = []
    try:
        database_file = target / DATABASE_FILES[engine]
        written.append(database_file)
        # The database first, then media: a file is stored before its row
        # commits, so every file the dumped rows name is already on disk.
        stats = database_dump(target=database_file, db=db)
        media_file = target / MEDIA_FILE
        written.append(media_file)
        media = media_pack(media_root=media_root, target=media_file)
        manifest = {
            "format": FORMAT,
            "created": timezone.localtime().isoformat(timespec="seconds"),
            "engine": engine,
            "keys": _KEYS_NOTE,
            "database": {"file": database_file.name, "sha256": _sha256(database_file)},
            "media": {
                "file": MEDIA_FILE,
                "sha256": _sha256(media_file),
                "files": media["files"],
                "bytes": media["bytes"],
            },
            **stats,
        }
        partial = target / f".{MANIFEST}.partial"
        written.append(partial)
        partial.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        # Written last, atomically: a folder without a manifest is no backup set.
        partial.replace(target / MANIFEST)
    except BaseException:
        if made:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for path in written:
                path.unlink(missing_ok=True)
        raise
    manifest["skipped_media"] = media["skipped"]
    return target, manifest


def backup_read(*, directory: Path) -> dict:
    """The manifest of a backup set, after checking that its files are all
    there and unchanged (their SHA-256 against the manifest)."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(
            _(
                "%(path)s 不是完整的备份集（缺少 manifest.json）/ %(path)s is not a complete backup set (no manifest.json)"
            )
            % {"path": directory}
        ) from exc
    except ValueError as exc:
        raise BackupError(_("manifest.json 无法读取 / manifest.json cannot be read")) from exc
    required = {"database", "media", "migrations", "tables", "encrypted_columns", "hash_key_check"}
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or manifest.get("engine") not in DATABASE_FILES
        or not required <= set(manifest)
    ):
        raise BackupError(_("不认识的备份集格式 / Unknown backup set format"))
    for part in ("database", "media"):
        name = str(manifest[part].get("file", ""))
        path = directory / name
        if not name or "/" in name or not path.is_file():
            raise BackupError(
                _("备份集缺少文件 / The backup set lacks a file: %(name)s") % {"name": name}
            )
        if _sha256(path) != manifest[part]["sha256"]:
            raise BackupError(
                _("备份文件已损坏或被改动 / A backup file is damaged or changed: %(name)s")
                % {"name": name}
            )
    return manifest


def _migration_problems(manifest: dict) -> tuple[list[str], list[str]]:
    """(migrations in the set this code does not know, apps the code has
    newer migrations for: ``migrate`` after the restore)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    unknown = [
        f"{app}.{name}" for app, name in manifest["migrations"].items() if (app, name) not in known
    ]
    behind = sorted(
        app for app, name in loader.graph.leaf_nodes() if manifest["migrations"].get(app) != name
    )
    return unknown, behind


def backup_restore(*, directory: Path) -> tuple[Verification, list[str]]:
    """Restore a backup set into the configured empty database and MEDIA_ROOT,
    then verify it. Returns the verification and the apps whose migrations the
    code has beyond the set (run ``migrate`` then). Raises ``BackupError``
    before writing anything when the set or the target is not fit."""
    directory = Path(directory)
    manifest = backup_read(directory=directory)
    db = connections[DEFAULT_DB_ALIAS]
    media_root = Path(settings.MEDIA_ROOT)
    archive = directory / manifest["media"]["file"]
    media_members(archive=archive)
    engine = engine_name(db)
    if manifest["engine"] != engine:
        raise BackupError(
            _(
                "备份来自 %(backup)s 数据库，当前配置的是 %(current)s / The backup is of a %(backup)s database, the configured one is %(current)s"
            )
            % {"backup": manifest["engine"], "current": engine}
        )
    unknown, behind = _migration_problems(manifest)
    if unknown:
        raise BackupError(
            _(
                "备份来自更新的代码版本，先升级代码 / The backup was made by newer code (unknown migrations): %(names)s"
            )
            % {"names": ", ".join(unknown)}
        )
    if not database_is_empty(db=db):
        raise BackupError(
            _(
                "目标数据库不是空的，恢复已拒绝（未做任何改动）/ The configured database is not empty: restore refused, nothing was changed. Restore into a new, empty database."
            )
        )
    media_check(archive=archive, media_root=media_root)
    database_load(source=directory / manifest["database"]["file"], db=db)
    media_unpack(archive=archive, media_root=media_root)
    return backup_verify(manifest=manifest, directory=directory), behind


def backup_verify(*, manifest: dict, directory: Path, db=None) -> Verification:
    """Compare the configured database and MEDIA_ROOT with a set's manifest:
    every table's row count, every encrypted column's digest (computed from the
    decrypted values: proof that the configured keys read them) and the media
    files. Problems name tables and columns, never values."""
    db = db or connections[DEFAULT_DB_ALIAS]
    result = Verification()
    keys = [settings.FIELD_HASH_KEY, *getattr(settings, "FIELD_HASH_KEYS_PREVIOUS", [])]
    hash_key = next((k for k in keys if hash_key_check(k) == manifest["hash_key_check"]), None)
    # Digests made with another hash key cannot be compared (decryption still can).
    comparable = hash_key is not None
    if not comparable:
        result.problems.append(
            _(
                "FIELD_HASH_KEY 与备份时不同：按手机号、身份证号的查找（手机号登录、查重）将失效，请配置备份时的密钥 / FIELD_HASH_KEY is not the key this backup was made with: lookups by phone or ID number would fail; configure that key"
            )
        )
        hash_key = settings.FIELD_HASH_KEY
    stats = database_stats(db=db, hash_key=hash_key)

    expected, actual = manifest["tables"], stats["tables"]
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            result.problems.append(_("表缺失 / Table missing: %(table)s") % {"table": table})
        elif table not in expected:
            result.problems.append(
                _("多出的表 / Table not in the backup: %(table)s") % {"table": table}
            )
        elif expected[table] != actual[table]:
            result.problems.append(
                _(
                    "行数不符 / Row count differs: %(table)s (backup %(expected)d, restored %(actual)d)"
                )
                % {"table": table, "expected": expected[table], "actual": actual[table]}
            )
    result.tables = len(actual)
    result.rows = sum(actual.values())

    expected, actual = manifest["encrypted_columns"], stats["encrypted_columns"]
    result.columns = len(actual)
    unreadable = {
        column: info["undecryptable"]
        for column, info in actual.items()
        if info["undecryptable"] > expected.get(column, {}).get("undecryptable", 0)
    }
    if unreadable:
        result.problems.append(
            _(
                "私密数据无法用当前密钥解密，请检查 FIELD_ENCRYPTION_KEY / Private data cannot be decrypted with the configured FIELD_ENCRYPTION_KEY: %(columns)s"
            )
            % {"columns": ", ".join(f"{c} ({n})" for c, n in sorted(unreadable.items()))}
        )
    for column in sorted(set(expected) | set(actual)):
        if column in unreadable:
            continue  # named above; its digest cannot match
        if column not in actual or column not in expected:
            result.problems.append(
                _("私密字段不符 / Private column missing on one side: %(column)s")
                % {"column": column}
            )
        elif comparable and expected[column]["digest"] != actual[column]["digest"]:
            result.problems.append(
                _("私密字段校验和不符 / Private column checksum differs: %(column)s")
                % {"column": column}
            )

    media_root = Path(settings.MEDIA_ROOT)
    with tarfile.open(Path(directory) / manifest["media"]["file"], "r:gz") as tar:
        files = [m for m in tar.getmembers() if m.isfile()]
    missing = [
        m.name
        for m in files
        if not (media_root / m.name).is_file() or (media_root / m.name).stat().st_size != m.size
    ]
    if len(files) != manifest["media"]["files"]:
        result.problems.append(
            _("媒体文件数不符 / Media file count differs: backup %(expected)d, archive %(actual)d")
            % {"expected": manifest["media"]["files"], "actual": len(files)}
        )
    if missing:
        result.problems.append(
            _("媒体文件缺失或大小不符 / Media files missing or of another size: %(names)s")
            % {"names": ", ".join(missing[:5])}
        )
    result.media_files = len(files) - len(missing)
    return result
