"""Content-Security-Policy: scripts come only from our static files, never
inline, on every page outside Wagtail's admin; no template of ours carries an
inline <script> or an on* attribute."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import make_duty, make_shift

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(?:ld\+)?json)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = (p.split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


def inline_code(html: str) -> list[str]:
    return [m.group(0) for rx in (INLINE_SCRIPT, EVENT_HANDLER, JS_URL) for m in rx.finditer(html)]


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/search/"])
def test_portal_pages_forbid_inline_script(client, tree, path):
    policy = directives(client.get(path))

    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in policy.get("default-src", [])


def test_admin_keeps_the_policy_but_for_wagtails_inline_scripts(client, users):
    """Wagtail 8's admin still writes inline <script> (date and page choosers):
    only its pages may run them; every other directive is the same."""
    client.force_login(users.district)
    response = client.get("/admin/")
    assert response.status_code == 200
    policy = directives(response)

    assert policy["script-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]


def test_no_template_of_ours_has_inline_script_or_event_handlers():
    found = []
    for package in ("portal", "branches", "search", "volunteers", "alliance"):
        for path in (Path(settings.BASE_DIR) / package).rglob("templates/**/*.html"):
            found += [
                f"{path.relative_to(settings.BASE_DIR)}: {hit}"
                for hit in inline_code(path.read_text())
            ]
    assert found == []


def test_pages_with_behaviour_render_no_inline_code(client, tree, users):
    """The pages whose scripts moved to static files: the member's page (the
    calendar address), search facets, the community registration form, a shift
    that checks in by location; each loads its behaviour from a static file."""
    shift = make_shift(make_duty(tree, require_location=True), start_in=dt.timedelta(minutes=-10))
    client.force_login(users.member)
    pages = {
        "/me/": "portal/site.js",
        "/search/": "portal/site.js",
        "/me/registration/": "volunteers/registration.js",
        f"/volunteer/shifts/{shift.pk}/": "portal/site.js",
    }
    for path, script in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert inline_code(html) == [], path
        assert f'src="/static/{script}"' in html, path
