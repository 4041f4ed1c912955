"""Sign-in by username, email or mobile; sign-up that links a member record only
after the number's verification code; throttling; MFA for secretaries; idle expiry."""

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from branches.models import Member
from portal.models import Role, RoleAssignment
from portal.sms import MemorySMSSender
from tests.factories import make_member, make_user


@pytest.fixture(autouse=True)
def _clean():
    MemorySMSSender.outbox.clear()
    cache.clear()
    yield
    cache.clear()


def _sign_up(client, phone):
    return client.post(
        "/accounts/signup/",
        {
            "phone": phone,
            "password1": "Tongxin-Str0ng-pw",
            "password2": "Tongxin-Str0ng-pw",
        },
    )


def test_sign_up_links_member_only_after_the_code(client, tree):
    member = make_member(branch=tree.branch_a, name="孙悦", phone="13700001111")
    response = _sign_up(client, "137 0000 1111")
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.user is None  # not yet: the code has not been entered
    phone, message = MemorySMSSender.outbox[-1]
    assert phone == "13700001111"
    code = re.search(r"(\d{6})\s*$", message).group(1)
    verify_url = response["Location"]
    bad = client.post(verify_url, {"code": "000000" if code != "000000" else "111111"})
    assert bad.status_code == 200
    member.refresh_from_db()
    assert member.user is None
    client.post(verify_url, {"code": code})
    member.refresh_from_db()
    assert member.user is not None and re.fullmatch(r"u[0-9a-f]{10}", member.user.username)
    assert RoleAssignment.objects.filter(user=member.user, role=Role.MEMBER).exists()
    body = client.get("/me/").content.decode()
    assert "孙悦" in body and "137****1111" in body


def test_sign_up_with_an_unknown_number_links_nothing(client, tree):
    make_member(branch=tree.branch_a, phone="13700002222")
    response = _sign_up(client, "13900009999")
    code = re.search(r"(\d{6})\s*$", MemorySMSSender.outbox[-1][1]).group(1)
    client.post(response["Location"], {"code": code})
    assert not Member.objects.filter(user__isnull=False).exists()


def test_sign_up_asks_no_username_and_tells_nothing_of_existing_accounts(client, db):
    """The form has no username to be "taken", and a number that already has an
    account gets the same next page (its owner is told by SMS, not the visitor)."""
    from django.contrib.auth import get_user_model

    from portal.models import UserPhone

    assert 'name="username"' not in client.get("/accounts/signup/").content.decode()
    UserPhone.objects.create(user=make_user("existing"), phone="13700005555", verified=True)
    known = _sign_up(client, "13700005555")
    client.logout()
    unknown = _sign_up(Client(), "13700006666")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert get_user_model().objects.count() == 2  # the existing one and the new one
    assert "13700005555" == MemorySMSSender.outbox[0][0]


def test_sign_up_refuses_a_malformed_number(client, db):
    response = _sign_up(client, "12345")
    assert response.status_code == 200
    assert "13" in response.content.decode()  # the message explains the format
    assert not MemorySMSSender.outbox


@pytest.mark.parametrize("login", ["alice", "alice@example.org", "13600003333"])
def test_sign_in_by_username_email_or_mobile(client, db, login):
    from portal.models import UserPhone

    user = make_user("alice", email="alice@example.org")
    UserPhone.objects.create(user=user, phone="13600003333", verified=True)
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email="alice@example.org", primary=True, verified=True)
    response = client.post("/accounts/login/", {"login": login, "password": "pw-Test-12345"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert client.get("/me/").status_code == 200


def test_failed_logins_are_throttled(client, db):
    make_user("bob")
    for _ in range(5):
        client.post("/en/accounts/login/", {"login": "bob", "password": "wrong"})
    response = client.post("/en/accounts/login/", {"login": "bob", "password": "pw-Test-12345"})
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert (
        "Too many failed login attempts" in response.content.decode() or response.status_code == 429
    )


def test_admin_login_goes_through_the_throttled_portal_login(client, db):
    response = client.get("/admin/login/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")


def test_secretary_without_totp_is_sent_to_set_it_up(client, tree):
    from portal.services import role_assign

    user = make_user("newsecretary")
    role_assign(user=user, role=Role.BRANCH_SECRETARY, page=tree.branch_a)
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"
    # allauth asks for the password again before showing the TOTP secret.
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    assert client.get(response["Location"]).status_code == 200


def test_member_without_totp_is_not_forced(client, users):
    client.force_login(users.member)
    assert client.get("/me/").status_code == 200


def test_secretary_with_totp_must_enter_a_code_to_sign_in(client, users):
    response = client.post("/accounts/login/", {"login": "secretary", "password": "pw-Test-12345"})
    assert response.status_code == 302
    assert "2fa" in response["Location"] or "authenticate" in response["Location"]
    assert "_auth_user_id" not in client.session


def test_idle_sessions_expire():
    """The idle timeout itself is walked in tests/portal/test_operations.py."""
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_AGE <= 60 * 60


def test_role_grant_is_audited(users):
    from portal.models import AuditEntry

    assert AuditEntry.objects.filter(action=AuditEntry.Action.ROLE_GRANT).count() >= 8


def test_secretary_holds_few_page_permission_rows(users):
    from wagtail.models import GroupPagePermission

    rows = GroupPagePermission.objects.filter(group__user=users.secretary).count()
    assert 0 < rows <= 5


@pytest.mark.parametrize(
    ("prefix", "expected", "foreign"),
    [
        ("", ["密码太短", "密码只包含数字"], "too short"),
        ("/en", ["too short", "entirely numeric"], "密码"),
    ],
)
def test_password_rules_speak_the_page_language(client, db, prefix, expected, foreign):
    """A weak password on the sign-up page is explained in the page's language."""
    response = client.post(
        f"{prefix}/accounts/signup/",
        {"phone": "13700007777", "password1": "1234", "password2": "1234"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    for text in expected:
        assert text in page
    assert foreign not in page
    assert not MemorySMSSender.outbox
