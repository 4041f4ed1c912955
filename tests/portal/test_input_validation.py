"""Bad input gets a clear form error, never a 500 and never a record: a
resident's phone must be a phone number, a request's time window must lie
within a year, and an id too large for the database is an invalid choice
(portal.forms.ModelMultipleChoiceField)."""

import datetime as dt

import pytest
from django import forms
from django.core.exceptions import ValidationError

from portal.forms import ModelMultipleChoiceField
from portal.models import Role
from portal.services import role_assign
from portal.validators import validate_phone
from tests.factories import make_user
from tests.volunteers.test_request_views import SOON, form_data
from volunteers.models import ServiceRequest, Skill

PHONE_ERROR = "请用数字填写电话号码"


@pytest.fixture
def worker(tree):
    user = make_user("gw_validation")
    role_assign(user=user, role=Role.GRID_WORKER, page=tree.grid3a)
    return user


@pytest.mark.parametrize(
    "phone", ["13812345678", "138 1234 5678", "+86 138-1234-5678", "010-6512 3456", "05718765 4321"]
)
def test_real_phone_numbers_are_accepted(phone):
    assert validate_phone(phone) == phone


@pytest.mark.parametrize(
    "phone",
    ["2026-02-30", "1" * 20, "13812345678901234567", "12345678", "010--65123456", "abc", "0-0-0"],
)
def test_a_date_or_twenty_digits_is_no_phone_number(client, tree, worker, phone):
    client.force_login(worker)
    response = client.post("/requests/new/", form_data(tree, requester_phone=phone))
    assert response.status_code == 200
    assert PHONE_ERROR in response.content.decode()
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (SOON, dt.datetime(9999, 12, 31, 23, 59)),
        (dt.datetime(9998, 1, 1, 9, 0), dt.datetime(9998, 1, 1, 11, 0)),
        (SOON - dt.timedelta(days=400), SOON),
        (SOON, SOON + dt.timedelta(days=400)),
    ],
)
def test_a_request_window_lies_within_a_year(client, tree, worker, start, end):
    client.force_login(worker)
    data = form_data(
        tree,
        window_start=start.strftime("%Y-%m-%dT%H:%M"),
        window_end=end.strftime("%Y-%m-%dT%H:%M"),
    )
    response = client.post("/requests/new/", data)
    assert response.status_code == 200
    assert "时间段须在从现在起一年之内" in response.content.decode()
    assert not ServiceRequest.objects.exists()


def test_a_window_from_the_year_one_is_a_form_error(client, tree, worker):
    client.force_login(worker)
    data = form_data(tree, window_start="0001-01-01T00:00")
    response = client.post("/requests/new/", data)
    assert response.status_code == 200 and response.context["form"].errors
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize("skill", ["9" * 30, "-" + "9" * 25, "9" * 5000, "1e5", "x"])
def test_a_huge_skill_id_is_a_form_error(client, tree, worker, skill):
    client.force_login(worker)
    response = client.post("/requests/new/", form_data(tree, skills=[skill]))
    assert response.status_code == 200
    assert "skills" in response.context["form"].errors
    assert not ServiceRequest.objects.exists()


def test_the_shared_field_still_takes_real_ids(db):
    skill = Skill.objects.create(name="驾驶")

    class Form(forms.Form):
        skills = ModelMultipleChoiceField(queryset=Skill.objects.all())

    form = Form({"skills": [str(skill.pk)]})
    assert form.is_valid() and list(form.cleaned_data["skills"]) == [skill]
    form = Form({"skills": [str(skill.pk), str(2**63)]})
    assert not form.is_valid()
    with pytest.raises(ValidationError):
        Form.base_fields["skills"].clean([str(-(2**63) - 1)])


@pytest.mark.parametrize(
    ("prefix", "expected", "unexpected"),
    [
        ("", "密码太短，至少要有 8 个字符", "This password is too short"),
        ("/en", "This password is too short. It must contain at least 8 characters.", "密码太短"),
    ],
)
def test_password_rules_speak_the_pages_language(client, db, prefix, expected, unexpected):
    response = client.post(
        prefix + "/accounts/signup/",
        {"username": "newcomer", "phone": "13812345670", "password1": "1a", "password2": "1a"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert expected in page and unexpected not in page
