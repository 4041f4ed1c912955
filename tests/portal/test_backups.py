"""Backups and restore: `manage.py backup --to DIR` writes a set (database,
media, manifest) and `manage.py restore --from DIR` brings it back into an
empty database with every row, every private value (still decrypting with the
configured keys) and every private upload, and says so; or refuses, and says why.

The restore runs as the operator runs it: `manage.py restore` in another
process, pointed at a new empty database by DATABASE_URL (a temporary SQLite
file, or a temporary PostgreSQL database when the suite runs on PostgreSQL)."""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings

from alliance.models import Agreement, Partner, PartnerContact
from branches.models import Member
from portal.crypto import decrypt
from portal.models import UserPhone
from tests.factories import build_tree, make_household, make_member, make_user

# pg_dump must see the rows: they are committed, and the database is put back
# as it was for the tests that follow.
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ID_NUMBER = "11010519491231002X"
PHONE = "13912345678"
CONTACT_PHONE = "13800001111"
ACCOUNT_PHONE = "13700002222"
ADDRESS = "幸福里小区3号楼2单元502"
AGREEMENT_PDF = b"%PDF-1.4 signed co-building agreement"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def records(media):
    """Private records of several apps and a private upload on disk."""
    tree = build_tree()
    member = make_member(
        branch=tree.branch_a, building_group=tree.group_a, id_number=ID_NUMBER, phone=PHONE
    )
    make_member(branch=tree.branch_b, name="黄强", phone="")
    household = make_household(building=tree.building_a, room="2单元502", address=ADDRESS)
    UserPhone.objects.create(user=make_user("account"), phone=ACCOUNT_PHONE, verified=True)
    partner = Partner.objects.create(name="幸福里小学", kind=Partner.Kind.SCHOOL)
    PartnerContact.objects.create(partner=partner, name="周老师", phone=CONTACT_PHONE)
    agreement = Agreement.objects.create(
        partner=partner,
        title="共建协议",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        commitments="每月一次志愿服务",
        signed_file=ContentFile(AGREEMENT_PDF, name="协议.pdf"),
    )
    return SimpleNamespace(member=member, household=household, agreement=agreement)


@pytest.fixture
def empty_database(tmp_path):
    """A new, empty database of the engine the suite runs on: its DATABASE_URL
    and a function that opens a plain DB-API connection to it."""
    if connection.vendor == "sqlite":
        import sqlite3

        path = tmp_path / "restored.sqlite3"
        yield SimpleNamespace(url=f"sqlite:///{path}", open=lambda: sqlite3.connect(path))
        return
    import psycopg

    params = connection.settings_dict
    server = {
        "host": params["HOST"] or None,
        "port": params["PORT"] or None,
        "user": params["USER"] or None,
        "password": params["PASSWORD"] or None,
    }
    name = f"test_tongxin_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    user = quote(params["USER"] or "", safe="")
    password = f":{quote(params['PASSWORD'], safe='')}" if params["PASSWORD"] else ""
    at = "@" if user else ""
    address = f"{params['HOST'] or 'localhost'}:{params['PORT'] or 5432}"
    try:
        yield SimpleNamespace(
            url=f"postgres://{user}{password}{at}{address}/{name}",
            open=lambda: psycopg.connect(dbname=name, **server),
        )
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args, database, media_root, **environ):
    """`python manage.py …` as an operator runs it, on another database and
    media folder, with this process's keys unless ``environ`` says otherwise.
    (The development settings: the test settings pin MEDIA_ROOT.)"""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
        "DATABASE_URL": database.url,
        "MEDIA_ROOT": str(media_root),
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "FIELD_HASH_KEY": settings.FIELD_HASH_KEY,
        **environ,
    }
    env.pop("FIELD_HASH_KEY_PREVIOUS", None)
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return SimpleNamespace(code=result.returncode, output=result.stdout + result.stderr)


def backup(to):
    """`manage.py backup --to DIR`: the set's folder and what the command said."""
    out = io.StringIO()
    call_command("backup", "--to", str(to), stdout=out, stderr=io.StringIO())
    said = out.getvalue()
    return Path(said.splitlines()[0].split("written: ", 1)[1]), said


def row_counts(db) -> dict:
    """Every table's row count, read with plain SQL (``db``: Django's
    connection or a DB-API one)."""
    cursor = db.cursor()
    try:
        counts = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    finally:
        cursor.close()
    return counts


def assert_no_private_value(text):
    for value in (ID_NUMBER, PHONE, CONTACT_PHONE, ACCOUNT_PHONE, ADDRESS):
        assert value not in text


@committed
def test_backup_and_restore_round_trip_into_an_empty_database(
    records, media, tmp_path, empty_database
):
    folder, said = backup(tmp_path / "sets")
    assert "密钥不在备份集中" in said
    before = row_counts(connection)
    with_rows = {table for table, count in before.items() if count}
    assert {"branches_member", "branches_household", "alliance_agreement"} <= with_rows

    restored_media = tmp_path / "restored-media"
    run = manage(
        "restore", "--from", str(folder), database=empty_database, media_root=restored_media
    )

    assert run.code == 0, run.output
    assert "核对通过" in run.output
    assert_no_private_value(run.output)
    db = empty_database.open()
    try:
        assert row_counts(db) == before
        cursor = db.cursor()
        cursor.execute(
            f"SELECT id_number, phone FROM branches_member WHERE id = {records.member.pk}"
        )
        id_number, phone = cursor.fetchone()
        cursor.execute(f"SELECT address FROM branches_household WHERE id = {records.household.pk}")
        (address,) = cursor.fetchone()
    finally:
        db.close()
    # Still ciphertext in the restored database, and it reads with the same keys.
    assert ID_NUMBER not in id_number
    assert (decrypt(id_number), decrypt(phone), decrypt(address)) == (ID_NUMBER, PHONE, ADDRESS)
    upload = records.agreement.signed_file.name
    assert upload.startswith("private/")
    assert (restored_media / upload).read_bytes() == AGREEMENT_PDF


@committed
def test_a_backup_set_has_a_manifest_of_counts_and_digests_and_no_private_value(
    records, media, tmp_path
):
    sets = tmp_path / "sets"
    sets.mkdir()
    first, said = backup(sets)
    second, _said = backup(sets)

    assert first == sets  # an empty folder is used as it is
    assert second.parent == sets and second.name.startswith("tongxin-")
    assert sorted(p.name for p in second.iterdir()) == [
        f"database.{'dump' if connection.vendor == 'postgresql' else 'sqlite3'}",
        "manifest.json",
        "media.tar.gz",
    ]
    text = (first / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    assert manifest["engine"] == connection.vendor
    assert manifest["tables"]["branches_member"] == 2
    assert manifest["tables"]["alliance_agreement"] == 1
    leaves = dict(MigrationLoader(connection).graph.leaf_nodes())
    assert manifest["migrations"]["branches"] == leaves["branches"]
    columns = manifest["encrypted_columns"]
    assert {
        "branches_member.id_number",
        "branches_member.phone",
        "branches_household.address",
        "portal_userphone.phone",
        "alliance_partnercontact.phone",
    } <= set(columns)
    assert columns["branches_member.phone"]["values"] == 1  # one member gave no phone
    assert all(len(c["digest"]) == 64 and c["undecryptable"] == 0 for c in columns.values())
    assert manifest["media"]["files"] == 1
    with tarfile.open(first / "media.tar.gz") as tar:
        assert tar.getnames()[-1] == records.agreement.signed_file.name
    assert_no_private_value(text)
    for key in (*settings.FIELD_ENCRYPTION_KEYS, settings.FIELD_HASH_KEY, settings.SECRET_KEY):
        assert key not in text


@committed
def test_restore_into_a_database_that_is_not_empty_is_refused_and_changes_nothing(
    records, media, tmp_path
):
    folder, _said = backup(tmp_path / "sets")
    before = row_counts(connection)
    files = sorted(media.rglob("*"))

    with pytest.raises(CommandError, match="目标数据库不是空的"):
        call_command("restore", "--from", str(folder), stdout=io.StringIO())

    assert row_counts(connection) == before
    assert sorted(media.rglob("*")) == files
    assert Member.objects.get(pk=records.member.pk).id_number == ID_NUMBER


@committed
def test_restore_with_another_encryption_key_says_private_data_cannot_be_decrypted(
    records, media, tmp_path, empty_database
):
    folder, _said = backup(tmp_path / "sets")

    run = manage(
        "restore", "--from", str(folder), database=empty_database,
        media_root=tmp_path / "restored-media", FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
    )  # fmt: skip

    assert run.code != 0
    assert "私密数据无法用当前密钥解密" in run.output
    assert "branches_member.id_number (2)" in run.output
    assert "核对通过" not in run.output
    assert_no_private_value(run.output)


@committed
def test_a_row_count_changed_in_the_manifest_is_reported(records, media, tmp_path, empty_database):
    folder, _said = backup(tmp_path / "sets")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["tables"]["branches_member"] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    run = manage(
        "restore", "--from", str(folder), database=empty_database,
        media_root=tmp_path / "restored-media",
    )  # fmt: skip

    assert run.code != 0
    assert "行数不符" in run.output
    assert "branches_member (backup 3, restored 2)" in run.output
    assert "核对通过" not in run.output


@committed
def test_verify_only_names_a_changed_private_column_and_a_different_hash_key(
    records, media, tmp_path
):
    folder, _said = backup(tmp_path / "sets")
    out = io.StringIO()
    call_command("restore", "--from", str(folder), "--verify-only", stdout=out)
    assert "核对通过" in out.getvalue()

    Member.objects.filter(pk=records.member.pk).update(phone="13900000000")
    with pytest.raises(CommandError, match=r"私密字段校验和不符.*: branches_member\.phone$"):
        call_command("restore", "--from", str(folder), "--verify-only", stdout=io.StringIO())

    with (
        override_settings(FIELD_HASH_KEY="another-hash-key-0123456789abcdef"),
        pytest.raises(CommandError, match="FIELD_HASH_KEY 与备份时不同"),
    ):
        call_command("restore", "--from", str(folder), "--verify-only", stdout=io.StringIO())


def fake_set(folder, *, media_members, database=b"not a database"):
    """A backup set whose files match its manifest, with a media archive made
    of ``media_members`` (TarInfo, bytes or None)."""
    folder.mkdir()
    database_file = folder / "database.bin"
    database_file.write_bytes(database)
    with tarfile.open(folder / "media.tar.gz", "w:gz") as tar:
        for info, body in media_members:
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    manifest = {
        "format": 1,
        "engine": connection.vendor,
        "database": {"file": database_file.name, "sha256": sha256_of(database_file)},
        "media": {
            "file": "media.tar.gz",
            "sha256": sha256_of(folder / "media.tar.gz"),
            "files": len(media_members),
            "bytes": 0,
        },
        "migrations": {},
        "tables": {},
        "encrypted_columns": {},
        "hash_key_check": "",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_member(name, body=b"escaped"):
    info = tarfile.TarInfo(name)
    info.size = len(body)
    return info, body


def link_member(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.mark.parametrize(
    "member",
    [
        file_member("../escaped.txt"),
        file_member("private/../../escaped.txt"),
        file_member("/tmp/tongxin-escaped.txt"),
        link_member("private/escaped.txt", "../../escaped.txt"),
        link_member("private/escaped.txt", "/etc/passwd", tarfile.LNKTYPE),
    ],
    ids=["parent", "nested-parent", "absolute", "symlink", "hardlink"],
)
def test_a_media_archive_reaching_outside_media_root_is_refused(member, media, tmp_path):
    folder = fake_set(tmp_path / "set", media_members=[file_member("private/ok.pdf"), member])

    # Refused before the database is even looked at (this test has no access to it).
    with pytest.raises(CommandError, match="媒体归档含有不安全的条目") as refused:
        call_command("restore", "--from", str(folder), stdout=io.StringIO())

    assert member[0].name in str(refused.value)
    assert not (tmp_path / "escaped.txt").exists()
    assert not media.exists()


def test_a_changed_backup_file_is_refused_before_anything_is_restored(media, tmp_path):
    folder = fake_set(tmp_path / "set", media_members=[file_member("private/ok.pdf")])
    (folder / "database.bin").write_bytes(b"changed")

    with pytest.raises(CommandError, match="备份文件已损坏或被改动.*database.bin"):
        call_command("restore", "--from", str(folder), stdout=io.StringIO())
    assert not media.exists()
