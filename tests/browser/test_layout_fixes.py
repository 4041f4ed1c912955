"""Layout at phone width (375 px) in a real browser: the English menu stays on
one line, a calendar event's description sits apart from its facts, and the
minutes' version pills sit level with their version link."""

import datetime as dt
import os

import pytest

from tests.browser.conftest import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from tests.alliance.test_minutes import _published, al  # noqa: E402, F401
from tests.browser.conftest import PHONE, shot, signed_in  # noqa: E402
from tests.factories import make_duty  # noqa: E402
from volunteers.models import Shift  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def open_page(browser, url):
    page = browser.new_context(viewport=PHONE, locale="en").new_page()
    page.set_default_timeout(10_000)
    page.goto(url)
    return page


def box(page, selector):
    return page.locator(selector).first.bounding_box()


def test_the_english_menu_stays_on_one_line_at_375(live_server, tree, browser):
    page = open_page(browser, live_server.url + "/en/")
    items = page.locator(".site-nav__list > li")
    tops = {round(items.nth(i).bounding_box()["y"]) for i in range(items.count())}
    shot(page, "layout-nav-en-375")
    assert len(tops) == 1, f"the menu wraps onto {len(tops)} lines"
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_a_calendar_description_is_set_apart_from_the_type(live_server, tree, browser):
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    Shift.objects.create(
        duty=make_duty(tree, description="请提前10分钟到场签到。"),
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
    )
    url = live_server.url + tree.branch_a.url + tree.branch_a.reverse_subpage("calendar")
    page = open_page(browser, url)
    facts = box(page, ".calendar-event .facts")
    description = box(page, ".calendar-event__description")
    shot(page, "layout-calendar-375")
    assert description["y"] >= facts["y"] + facts["height"] + 8  # a clear gap, not run-on
    border = page.locator(".calendar-event__description").evaluate(
        "e => getComputedStyle(e).borderTopStyle"
    )
    assert border == "solid"


def test_minutes_version_pills_sit_level_with_their_link(live_server, al, users, browser):  # noqa: F811
    _published(al, users)
    page = signed_in(browser, live_server, users.partner)
    page.goto(live_server.url + f"/alliance/meetings/{al.meeting.pk}/minutes/")
    rows = page.locator('[data-testid="version"]')
    assert rows.count() >= 2
    shot(page, "layout-minutes-versions-375")
    for i in range(rows.count()):
        link = rows.nth(i).locator("a").bounding_box()
        pill = rows.nth(i).locator(".status-tag").bounding_box()
        # Level with the link (not stretched to the row's height, text at the top).
        assert pill["height"] < link["height"] * 1.2
        link_middle = link["y"] + link["height"] / 2
        assert abs(pill["y"] + pill["height"] / 2 - link_middle) < 4
