"""The live server the browser tests talk to answers a page's parallel requests
(the admin fetches its icon sprite while the page loads) without one of them
failing: with the in-memory SQLite test database, its threads share one
connection."""

import os

import pytest

from tests.browser.conftest import CHROMIUM, signed_in

if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PATHS = ["/admin/", "/admin/sprite/", "/me/", "/volunteer/", "/search/?q=网格"] * 12


def test_parallel_requests_in_one_session_all_succeed(live_server, tree, users, browser):
    page = signed_in(browser, live_server, users.member)
    page.goto(live_server.url + "/me/")
    statuses = page.evaluate(
        """paths => Promise.all(paths.map(p => fetch(p, {redirect: "manual"}).then(r => r.status)))""",
        PATHS,
    )
    failed = [(path, status) for path, status in zip(PATHS, statuses, strict=True) if status >= 400]
    assert failed == []
    assert {status for path, status in zip(PATHS, statuses, strict=True) if path == "/me/"} == {200}
