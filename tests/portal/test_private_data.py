"""Encryption at rest, masking everywhere, audited reveals, an uneditable audit log."""

from datetime import date

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from branches.models import Member
from portal.crypto import keyed_hash
from portal.masking import mask_address, mask_id_number, mask_name, mask_phone
from portal.models import AuditEntry
from portal.validators import id_check_digit, validate_id_number, validate_mobile
from tests.factories import make_household, make_member


def test_private_values_are_ciphertext_in_the_database(tree):
    member = make_member(branch=tree.branch_a, id_number="11010519491231002X", phone="13812345678")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, phone, id_number_hash FROM branches_member WHERE id = %s",
            [member.pk],
        )
        id_cipher, phone_cipher, id_hash = cursor.fetchone()
    assert "11010519491231002X" not in id_cipher and "13812345678" not in phone_cipher
    assert id_hash == keyed_hash("11010519491231002X")
    assert Member.objects.get(pk=member.pk).id_number == "11010519491231002X"


def test_lookup_by_keyed_hash_finds_the_member(tree):
    member = make_member(branch=tree.branch_a, phone="13912345678")
    assert Member.objects.get(phone_hash=keyed_hash("139 1234 5678")) == member


def test_masks_match_the_documented_shapes():
    assert mask_id_number("110101199001011234") == "110***********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_address("幸福里小区3号楼2单元501") == "幸福里小区****"
    assert mask_name("张伟") == "张*"


@given(st.text(alphabet="0123456789X", min_size=8, max_size=30))
def test_masked_id_never_shows_the_middle(value):
    masked = mask_id_number(value)
    assert len(masked) == len(value)
    assert masked[3:-4] == "*" * (len(value) - 7)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date.today()),
    st.integers(min_value=0, max_value=999),
)
def test_generated_id_numbers_validate(birth, seq):
    first17 = f"110101{birth:%Y%m%d}{seq:03d}"
    validate_id_number(first17 + id_check_digit(first17))


def test_id_number_with_a_future_birth_date_is_refused():
    from django.core.exceptions import ValidationError

    first17 = f"110101{date.today().year + 1}0101123"
    with pytest.raises(ValidationError):
        validate_id_number(first17 + id_check_digit(first17))


@pytest.mark.parametrize("bad", ["110101199001011235", "11010119900230123X", "1101011990", "abc"])
def test_bad_id_numbers_are_refused(bad):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_id_number(bad)


@pytest.mark.parametrize("bad", ["12812345678", "1381234567", "138123456789", "138-1234-567a"])
def test_bad_mobile_numbers_are_refused(bad):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_mobile(bad)


def test_member_list_and_export_show_only_masked_values(client, users, members):
    client.force_login(users.secretary)
    member = members.a_private
    body = client.get("/admin/members/").content.decode()
    assert member.id_number not in body and member.phone not in body
    assert member.id_number_masked in body
    export = b"".join(client.get("/admin/members/?export=csv").streaming_content).decode(
        "utf-8-sig"
    )
    assert member.id_number not in export and member.phone not in export
    assert member.id_number_masked in export
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.EXPORT, actor=users.secretary
    ).exists()


def test_edit_form_never_shows_private_values_and_keeps_them_when_left_empty(
    client, users, members
):
    client.force_login(users.secretary)
    member = members.a_private
    url = f"/admin/members/edit/{member.pk}/"
    body = client.get(url).content.decode()
    assert member.id_number not in body and member.phone not in body
    response = client.post(
        url,
        {
            "name": "陈静",
            "gender": "F",
            "id_number": "",
            "phone": "",
            "status": "full",
            "branch": member.branch_id,
            "building_group": member.building_group_id,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    fresh = Member.objects.get(pk=member.pk)
    assert fresh.id_number == member.id_number and fresh.phone == member.phone


def test_edit_form_refuses_a_bad_id_number_and_changes_nothing(client, users, members):
    client.force_login(users.secretary)
    member = members.a_private
    response = client.post(
        f"/admin/members/edit/{member.pk}/",
        {
            "name": "陈静改",
            "gender": "F",
            "id_number": "110101199001011235",
            "status": "full",
            "branch": member.branch_id,
        },
    )
    assert response.status_code == 200
    assert Member.objects.get(pk=member.pk).name == "陈静"


def test_duplicate_id_number_is_refused_with_a_message(client, users, members):
    client.force_login(users.secretary)
    response = client.post(
        "/admin/members/new/",
        {
            "name": "重复",
            "gender": "M",
            "id_number": members.a_private.id_number,
            "status": "full",
            "branch": members.a_private.branch_id,
        },
    )
    assert response.status_code == 200
    assert not Member.objects.filter(name="重复").exists()


def test_reveal_is_audited_and_shows_one_value(client, users, members):
    client.force_login(users.secretary)
    member = members.a_private
    body = client.post(
        f"/admin/private/member/{member.pk}/", {"field": "id_number"}
    ).content.decode()
    assert member.id_number in body
    assert member.phone not in body
    entry = AuditEntry.objects.get(action=AuditEntry.Action.REVEAL)
    assert entry.actor == users.secretary and entry.field_name == "id_number"
    assert entry.object_id == str(member.pk)


def test_group_leader_sees_masked_values_but_cannot_reveal(client, users, members):
    client.force_login(users.leader)
    member = members.a_private
    page = client.get(f"/admin/private/member/{member.pk}/")
    assert page.status_code == 200 and member.id_number_masked in page.content.decode()
    response = client.post(f"/admin/private/member/{member.pk}/", {"field": "id_number"})
    assert response.status_code in (302, 403)
    assert member.id_number not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.REVEAL).exists()


def test_household_reveal_of_address(client, users, tree):
    household = make_household(building=tree.building_a)
    client.force_login(users.district)
    body = client.post(
        f"/admin/private/household/{household.pk}/", {"field": "address"}
    ).content.decode()
    assert household.address in body


def test_audit_log_cannot_be_edited_or_deleted(users, members):
    entry = AuditEntry.objects.create(actor=users.district, actor_name="district", action="reveal")
    entry.detail = "changed"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(detail="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_audit_log_admin_is_read_only(client, users):
    client.force_login(users.district)
    assert client.get("/admin/audit/").status_code == 200
    assert client.get("/admin/audit/new/").status_code in (403, 302, 404)


def test_private_values_never_reach_the_public_branch_page(client, tree, members):
    body = client.get(tree.branch_a.url).content.decode()
    for member in (members.a_public, members.a_private):
        assert member.id_number not in body and member.phone not in body
