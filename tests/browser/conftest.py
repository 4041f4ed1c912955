"""Shared set-up of the browser tests: headless Debian Chromium through Playwright
(``playwright install`` cannot download browsers here). Each test module skips
itself with a clear reason when Chromium is missing."""

import os
import shutil
import threading

import pytest
from django.conf import settings
from django.test import Client, testcases
from django.utils import translation
from pytest_django.live_server_helper import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = os.environ.get("TONGXIN_SHOTS")  # a folder: also save screenshots there
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class OneRequestAtATime(testcases.LiveServerThread):
    """The live server, answering one request at a time when its threads share
    the in-memory SQLite test connection. The browser fetches a page and its
    parts (the admin's icon sprite, scripts) at once; two threads in one SQLite
    connection meet as "cannot start a transaction within a transaction", and
    the losing request answers 400 inside the page under test."""

    def _create_server(self, connections_override=None):
        server = super()._create_server(connections_override=connections_override)
        if connections_override:
            lock = threading.Lock()
            set_app = server.set_app

            def set_serial_app(app):
                def serial_app(environ, start_response):
                    with lock:
                        return app(environ, start_response)

                set_app(serial_app)

            server.set_app = set_serial_app
        return server


# pytest-django builds its live server from this name.
testcases.LiveServerThread = OneRequestAtATime


@pytest.fixture(scope="session")
def live_server(django_db_setup):
    """pytest-django's live server, started after the test database exists (a
    session fixture otherwise starts first), so that it shares the in-memory
    SQLite connection as Django's own live server tests do, in every order."""
    server = LiveServer("localhost")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def default_language():
    """Page URLs are reversed in the active language, and a test client request
    to /en/… elsewhere in the run leaves English active in this thread."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def public_base_url(request, settings):
    """Links the site writes out (calendar feeds, QR codes) point at the live
    server, as they point at the public address in production."""
    if "live_server" in request.fixturenames:
        settings.PUBLIC_BASE_URL = request.getfixturevalue("live_server").url


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls in
    # fixtures and teardown are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def signed_in(browser, live_server, user, viewport=PHONE):
    """A browser context with ``user``'s session (signed in as by the login page)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    host = live_server.url.split("//", 1)[1].split(":")[0]
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "domain": host,
                "path": "/",
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)
