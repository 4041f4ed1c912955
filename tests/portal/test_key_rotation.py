"""Key rotation: `manage.py rotate_field_keys` re-encrypts every private value
with the new Fernet key and recomputes every keyed-hash column with the new
hash key, in chunks, resumably. Afterwards the values read the same, the old
keys can be removed, and lookups by keyed hash still find their rows."""

import datetime as dt
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.management import call_command
from django.db.models import TextField
from django.db.models.functions import Cast
from django.test import override_settings
from django.utils import timezone

import portal.management.commands.rotate_field_keys as rotation
from branches.models import Member, Resident
from portal.accounts import AccountAdapter
from portal.crypto import keyed_hash, keyed_hashes
from portal.models import UserPhone
from tests.factories import make_household, make_id_number
from volunteers.models import CommunityRegistration, ServiceRequest

OLD_KEY = settings.FIELD_ENCRYPTION_KEYS[0]
OLD_HASH_KEY = settings.FIELD_HASH_KEY
NEW_KEY = Fernet.generate_key().decode()
NEW_HASH_KEY = "rotated-hash-key-" + Fernet.generate_key().decode()

DURING = {
    "FIELD_ENCRYPTION_KEYS": [NEW_KEY, OLD_KEY],
    "FIELD_HASH_KEY": NEW_HASH_KEY,
    "FIELD_HASH_KEYS_PREVIOUS": [OLD_HASH_KEY],
}
AFTER = {
    "FIELD_ENCRYPTION_KEYS": [NEW_KEY],
    "FIELD_HASH_KEY": NEW_HASH_KEY,
    "FIELD_HASH_KEYS_PREVIOUS": [],
}


def private_values() -> dict:
    """Every private value of every model, read through the ORM (decrypted)."""
    values = {}
    for model, encrypted, _hashed in rotation.private_models():
        for row in model._base_manager.values("pk", *[f.attname for f in encrypted]):
            values[(model._meta.label, row.pop("pk"))] = row
    return values


def stored_tokens() -> list[str]:
    """Every ciphertext as stored in the database."""
    tokens = []
    for model, encrypted, _hashed in rotation.private_models():
        for field in encrypted:
            raw = model._base_manager.annotate(raw=Cast(field.attname, output_field=TextField()))
            tokens += [t for t in raw.values_list("raw", flat=True) if t]
    return tokens


def rotate(**options) -> str:
    out = StringIO()
    call_command("rotate_field_keys", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def private_data(tree, users, members):
    """Private values beyond the members: a household with a resident, a
    service request, a community registration and an account phone."""
    household = make_household(building=tree.building_a, address="幸福里小区3号楼2单元501")
    resident = Resident.objects.create(
        household=household,
        name="孙秀英",
        gender="F",
        id_number=make_id_number(),
        phone="13912345678",
    )
    request = ServiceRequest.objects.create(
        title="帮老人买菜", grid=tree.grid3a, branch=tree.branch_a,
        category=ServiceRequest.Category.ELDERLY, address="幸福里小区3号楼2单元501",
        requester_phone="13800001111", window_start=timezone.now(),
        window_end=timezone.now() + dt.timedelta(days=2),
    )  # fmt: skip
    registration = CommunityRegistration.objects.create(
        member=users.own_member, branch=tree.branch_a, address="光明路8号"
    )
    phone = UserPhone.objects.create(user=users.member, phone="13700000003", verified=True)
    return household, resident, request, registration, phone


def assert_found_by_hash(members, resident):
    member = Member.objects.get(pk=members.a_private.pk)
    assert Member.objects.filter(id_number_hash__in=keyed_hashes(member.id_number)).get() == member
    assert Resident.objects.filter(phone_hash__in=keyed_hashes(resident.phone)).get() == resident
    assert AccountAdapter().get_user_by_phone("13700000003").username == "member"


def test_rotation_keeps_every_value_and_lookup(private_data, members):
    _, resident, *_ = private_data
    before = private_values()
    assert len(before) >= 10

    with override_settings(**DURING):
        # Before the command runs, rows still hold the old digests: found through the previous key.
        assert_found_by_hash(members, resident)
        output = rotate(chunk_size=3)
        assert "branches.Member: " in output and "(100%)" in output
        assert private_values() == before

    with override_settings(**AFTER):  # the old keys removed
        assert private_values() == before
        assert_found_by_hash(members, resident)
        member = Member.objects.get(pk=members.a_private.pk)
        assert member.id_number_hash == keyed_hash(member.id_number)
        assert "0 rows rewritten" in rotate()  # nothing left to do
    old = Fernet(OLD_KEY.encode())
    for token in stored_tokens():
        with pytest.raises(InvalidToken):
            old.decrypt(token.encode())


def test_an_interrupted_rotation_completes_when_run_again(private_data, members, monkeypatch):
    _, resident, *_ = private_data
    before = private_values()
    calls = {"n": 0}
    real = rotation.rotate_row

    def crash_after_five_rows(*args):
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return real(*args)

    with override_settings(**DURING):
        rotate(only=["branches.member"], chunk_size=2)  # one model first
        monkeypatch.setattr(rotation, "rotate_row", crash_after_five_rows)
        with pytest.raises(KeyboardInterrupt):
            rotate(chunk_size=2)
        monkeypatch.setattr(rotation, "rotate_row", real)
        rotate(chunk_size=2)

    with override_settings(**AFTER):
        assert private_values() == before
        assert_found_by_hash(members, resident)
        assert "0 rows rewritten" in rotate()


def test_rotation_with_the_demo_data(db):
    """The small demo (run on PostgreSQL too: CI runs this file with DATABASE_URL)."""
    call_command("load_demo", stdout=StringIO())
    before = private_values()
    member = Member.objects.exclude(id_number="").order_by("pk").first()
    account_phone = UserPhone.objects.order_by("pk").first()

    with override_settings(**DURING):
        rotate()
    with override_settings(**AFTER):
        assert private_values() == before
        assert Member.objects.get(id_number_hash=keyed_hash(member.id_number)) == member
        assert AccountAdapter().get_user_by_phone(account_phone.phone) == account_phone.user
        assert "0 rows rewritten" in rotate()
