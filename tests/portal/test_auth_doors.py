"""Every sign-in and password reset is allauth's, and a privileged session must
have passed the second factor itself: owning a TOTP device is not enough."""

import re
import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.contrib.auth import views as django_auth_views
from django.core import mail
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from wagtail.admin.views import account as wagtail_account

from portal.models import AuditEntry
from tests.factories import make_user
from tests.portal.test_authorization_matrix import CASES, _urls

PASSWORD = "pw-Test-12345"
MFA_ROLES = ("district", "coordinator", "secretary")

# Views that take a password or send a reset link outside allauth.
FOREIGN_AUTH_VIEWS = {
    django_auth_views.LoginView,
    django_auth_views.PasswordResetView,
    django_auth_views.PasswordResetConfirmView,
    django_auth_views.PasswordChangeView,
    wagtail_account.LoginView,
    wagtail_account.PasswordResetView,
    wagtail_account.PasswordResetConfirmView,
}
FOREIGN_AUTH_FUNCTIONS = {"authenticate_with_password"}


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def _patterns(resolvers, prefix=""):
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _is_foreign_auth(callback) -> bool:
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return any(issubclass(view_class, foreign) for foreign in FOREIGN_AUTH_VIEWS)
    return callback.__name__ in FOREIGN_AUTH_FUNCTIONS and not callback.__module__.startswith(
        "portal"
    )


def _concrete(route: str) -> str:
    """A path that matches a route: each converter gets a plausible value."""
    route = route.lstrip("^").rstrip("$")
    route = re.sub(r"<int:[^>]+>", "1", route)
    return "/" + re.sub(r"<[^>]+>", "x", route)


def test_every_auth_view_in_the_url_conf_is_shadowed_by_allauth():
    found = {
        route: callback
        for route, callback in _patterns(get_resolver().url_patterns)
        if _is_foreign_auth(callback)
    }
    # The walk must see the doors an attacker used, or it proves nothing.
    assert "_util/login/" in found and "admin/password_reset/" in found
    still_open = []
    for route in found:
        path = _concrete(route)
        if _is_foreign_auth(resolve(path).func):
            still_open.append(path)
    assert not still_open, f"auth views outside allauth still routed: {still_open}"


@pytest.mark.parametrize("path", ["/_util/login/", "/en/_util/login/", "/admin/login/"])
def test_former_login_doors_sign_nobody_in(client, users, path):
    response = client.post(path, {"username": "secretary", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/members/").status_code == 302


def test_restricted_pages_send_people_to_allauth(client, db):
    response = client.get("/_util/login/?next=/private/")
    assert response["Location"] == "/accounts/login/?next=/private/"


def test_admin_password_reset_sends_no_mail(client, users):
    users.secretary.email = "secretary@example.org"
    users.secretary.save()
    for _ in range(3):
        response = client.post("/admin/password_reset/", {"email": "secretary@example.org"})
        assert response.status_code == 302
        assert response["Location"] == "/accounts/password/reset/"
    assert mail.outbox == []
    assert client.get("/admin/password_reset/confirm/x/y/")["Location"] == (
        "/accounts/password/reset/"
    )


def test_shared_password_restriction_forms_are_gone(client, tree):
    from wagtail.models import PageViewRestriction

    restriction = PageViewRestriction.objects.create(
        page=tree.branch_a, restriction_type=PageViewRestriction.PASSWORD, password="shared"
    )
    response = client.post(
        f"/_util/authenticate_with_password/{restriction.pk}/{tree.branch_a.pk}/",
        {"password": "shared", "return_url": "/"},
    )
    assert response.status_code == 404
    assert client.post("/documents/authenticate_with_password/1/").status_code == 404


def _current_code(user) -> str:
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(decrypt(totp.data["secret"]), counter))


def _password_only(client, user):
    """A session signed in by password alone, as Wagtail's ``/_util/login/`` made
    them: authenticated, without allauth's record of a second factor."""
    assert client.login(username=user.username, password=PASSWORD)


@pytest.mark.parametrize("role", MFA_ROLES)
def test_password_only_session_reaches_no_privileged_view(client, tree, users, members, role):
    user = getattr(users, role)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    _password_only(client, user)
    urls = _urls(tree, members, users.volunteer.pk, users)
    reveals_before = AuditEntry.objects.count()
    leaked = []
    for case in CASES:
        method, url, data, _allowed, marker = urls[case]
        response = getattr(client, method)(url, data or {})
        body = response.content.decode(errors="replace")
        if response.status_code != 302 or not response["Location"].startswith(
            "/accounts/2fa/reauthenticate/"
        ):
            leaked.append((case, response.status_code))
        elif marker and marker in body:
            leaked.append((case, "marker"))
    for url in ("/admin/members/?export=xlsx", "/admin/members/?export=csv", "/admin/import/"):
        response = client.get(url)
        if response.status_code != 302:
            leaked.append((url, response.status_code))
    assert not leaked, leaked
    assert AuditEntry.objects.count() == reveals_before


def test_the_code_completes_a_password_only_session(client, users, members):
    _password_only(client, users.secretary)
    response = client.get("/admin/members/")
    assert response["Location"] == "/accounts/2fa/reauthenticate/?next=%2Fadmin%2Fmembers%2F"
    response = client.post(response["Location"], {"code": _current_code(users.secretary)})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get("/admin/members/").status_code == 200


def test_the_login_page_then_the_code_reaches_the_admin(client, users):
    response = client.post("/accounts/login/", {"login": "secretary", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert response["Location"].startswith("/accounts/2fa/authenticate/")


@pytest.mark.parametrize(
    "spelling",
    ["+8613700000003", "137 0000 0003", "137-0000-0003", "throttled@example.org", "Throttled"],
)
def test_failed_sign_ins_count_per_account_whatever_the_spelling(client, db, spelling):
    from allauth.account.models import EmailAddress

    from portal.models import UserPhone

    user = make_user("throttled")
    user.email = "throttled@example.org"
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    UserPhone.objects.create(user=user, phone="13700000003", verified=True)
    for n in range(5):
        # Each failure from its own address: only the per-account count can trip.
        client.post(
            "/accounts/login/",
            {"login": "13700000003", "password": "wrong"},
            REMOTE_ADDR=f"10.0.0.{n + 1}",
        )
    response = client.post(
        "/accounts/login/", {"login": spelling, "password": PASSWORD}, REMOTE_ADDR="10.0.1.1"
    )
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 429)


def test_correct_spellings_sign_in_when_not_throttled(client, db):
    from portal.models import UserPhone

    user = make_user("spelled")
    UserPhone.objects.create(user=user, phone="13700000004", verified=True)
    response = client.post("/accounts/login/", {"login": "137 0000 0004", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def _fail_five_times_from(client, forwarded, remote="10.9.9.9"):
    for _ in range(5):
        client.post(
            "/accounts/login/",
            {"login": "nobody-here", "password": "wrong"},
            REMOTE_ADDR=remote,
            HTTP_X_FORWARDED_FOR=forwarded,
        )


def test_behind_a_proxy_each_client_has_its_own_rate_limit(client, db, settings):
    """With the proxy trusted, one attacker behind nginx does not lock out
    everyone else who comes through the same proxy."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    make_user("innocent")
    _fail_five_times_from(client, "203.0.113.66")
    for n in range(5):  # new account names each time: only the IP limit could trip
        client.post(
            "/accounts/login/",
            {"login": f"other{n}", "password": "wrong"},
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR="203.0.113.66",
        )
    response = client.post(
        "/accounts/login/",
        {"login": "innocent", "password": PASSWORD},
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(client, db, settings):
    """A client cannot pick a fresh address per attempt by forging the header."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    make_user("victim")
    for n in range(10):
        client.post(
            "/accounts/login/",
            {"login": f"guess{n}", "password": "wrong"},
            REMOTE_ADDR="10.7.7.7",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    response = client.post(
        "/accounts/login/",
        {"login": "victim", "password": PASSWORD},
        REMOTE_ADDR="10.7.7.7",
        HTTP_X_FORWARDED_FOR="198.51.100.99",
    )
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 429)


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "10.1.2.3"), (1, "198.51.100.7"), (2, "203.0.113.9")]
)
def test_the_audit_log_records_the_client_address(
    client, users, members, settings, count, expected
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = count
    client.force_login(users.secretary)
    response = client.post(
        f"/admin/private/member/{members.a_private.pk}/",
        {"field": "id_number"},
        REMOTE_ADDR="10.1.2.3",
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7",
    )
    assert response.status_code == 200
    assert AuditEntry.objects.latest("pk").ip_address == expected
