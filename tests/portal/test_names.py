"""People's names in Chinese order (family name first, no space) on pages, in
the admin and on PDFs — one rule (``portal.names``) everywhere."""

import shutil
import subprocess

import pytest
from django.contrib.auth import get_user_model

from portal.names import person_name, person_name_sql
from tests.factories import make_member, make_user
from volunteers.registration.services import registration_approve, registration_submit


def pdf_text(content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


@pytest.fixture
def approved(tree, users):
    """A registration approved by a secretary whose account (no member record)
    is named 邓 (family name) 娜倩 (given name)."""
    users.secretary.last_name, users.secretary.first_name = "邓", "娜倩"
    users.secretary.save()
    registration = registration_submit(
        member=users.own_member,
        branch=tree.branch_a,
        employer="市第一医院",
        address="幸福里小区3号楼2单元501",
        skills="",
    )
    registration_approve(registration=registration, by=users.secretary)
    return registration


def test_the_rule(users):
    users.volunteer.last_name, users.volunteer.first_name = "邓", "娜倩"
    assert users.volunteer.get_full_name() == "邓娜倩"
    assert person_name(users.volunteer) == "邓娜倩"
    assert person_name(users.member) == "赵敏"  # the member record's name comes first
    assert person_name(make_user("nameless")) == "nameless"


def test_the_registration_slip_prints_the_approver_family_name_first(client, users, approved):
    client.force_login(users.member)
    text = pdf_text(client.get("/me/registration/slip/").content)
    assert "邓娜倩" in text
    assert "娜倩 邓" not in text


def test_the_admin_review_page_names_the_approver_family_name_first(client, users, approved):
    client.force_login(users.secretary)
    page = client.get(f"/admin/registrations/inspect/{approved.pk}/").content.decode()
    assert "邓娜倩" in page
    assert "娜倩 邓" not in page


def test_wagtail_admin_names_the_signed_in_user_family_name_first(client, users):
    users.district.last_name, users.district.first_name = "区委", "组织部"
    users.district.save()
    client.force_login(users.district)
    page = client.get("/admin/").content.decode()
    assert "区委组织部" in page
    assert "组织部 区委" not in page


def test_queries_name_people_by_the_same_rule(tree, users):
    deng = make_user("deng", last_name="邓", first_name="娜倩")
    qian = make_user("qian", last_name="钱", first_name="多多")
    make_member(branch=tree.branch_a, name="钱多", user=qian)
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[deng.pk, qian.pk, users.volunteer.pk])
        .annotate(name=person_name_sql())
        .values_list("pk", "name")
    )
    assert names == {deng.pk: "邓娜倩", qian.pk: "钱多", users.volunteer.pk: "volunteer"}
