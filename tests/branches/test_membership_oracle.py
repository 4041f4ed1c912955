"""No membership oracle: an ID number held by a record outside the user's scope is
refused without saying what the record is, and the hit is audited (issue 12)."""

import io

import pytest
from django.urls import reverse
from django.utils import translation

from branches.member_import import MEMBERS
from branches.models import Member, Resident
from portal.models import AuditEntry
from tests.branches.test_import import MEMBER_HEADERS, login, member_row, to_csv
from tests.factories import make_household, make_id_number

NEUTRAL_IMPORT = "This ID number cannot be imported. Contact the district organisation department."
NEUTRAL_FORM = "This ID number cannot be used here. Contact the district organisation department."


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def hits():
    return AuditEntry.objects.filter(action=AuditEntry.Action.PRIVATE_DUPLICATE)


def upload_members(client, rows):
    file = io.BytesIO(to_csv(rows, MEMBER_HEADERS))
    file.name = "members.csv"
    return client.post(reverse("branches_import", args=[MEMBERS]), {"file": file})


def test_member_import_does_not_tell_a_secretary_about_another_branchs_member(
    client, users, members
):
    other = members.b_private.id_number
    login(client, users.secretary)

    html = upload_members(client, [member_row(身份证号=other)]).content.decode()

    assert "already exists" not in html and "A member with this ID" not in html
    assert NEUTRAL_IMPORT in html
    entry = hits().get()
    assert entry.actor == users.secretary
    assert other not in entry.detail and other[-4:] in entry.detail


def test_member_import_hit_in_chinese_names_no_party_membership(client, users, members):
    client.force_login(users.secretary)
    with translation.override("zh-hans"):
        html = upload_members(
            client, [member_row(身份证号=members.b_private.id_number)]
        ).content.decode()
    assert "已有使用该身份证号的党员" not in html
    assert "该身份证号无法导入，请联系区委组织部" in html


def test_member_import_still_names_a_duplicate_in_the_secretarys_own_branch(client, users, members):
    login(client, users.secretary)

    html = upload_members(
        client, [member_row(身份证号=members.a_private.id_number)]
    ).content.decode()

    assert "A member with this ID number already exists." in html
    assert not hits().exists()


def member_form(id_number, branch):
    return {
        "name": "新党员",
        "gender": "M",
        "id_number": id_number,
        "phone": "",
        "status": "full",
        "branch": branch.pk,
        "party_posts": [],
    }


def test_member_form_does_not_tell_a_secretary_about_another_branchs_member(
    client, tree, users, members
):
    login(client, users.secretary)

    response = client.post(
        "/admin/members/new/", member_form(members.b_private.id_number, tree.branch_a)
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "already exists" not in html
    assert NEUTRAL_FORM in html
    assert Member.objects.filter(name="新党员").count() == 0
    assert hits().get().actor == users.secretary


def test_member_form_names_a_duplicate_in_the_secretarys_own_branch(client, tree, users, members):
    login(client, users.secretary)

    response = client.post(
        "/admin/members/new/", member_form(members.a_private.id_number, tree.branch_a)
    )

    assert "A record with this ID number already exists." in response.content.decode()
    assert not hits().exists()


def test_resident_form_does_not_tell_about_a_resident_elsewhere(client, tree, users):
    own = make_household(building=tree.building_a, room="1单元101")
    elsewhere = make_household(building=tree.building_b, room="2单元202")
    stranger = Resident.objects.create(
        household=elsewhere, name="外支部居民", gender="F", id_number=make_id_number()
    )
    login(client, users.secretary)

    response = client.post(
        "/admin/residents/new/",
        {
            "household": own.pk,
            "name": "新居民",
            "gender": "F",
            "relation": "",
            "id_number": stranger.id_number,
            "phone": "",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "already exists" not in html
    assert NEUTRAL_FORM in html
    assert hits().count() == 1
