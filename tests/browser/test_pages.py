"""What a visitor sees in a real browser: the public organisation pages at
phone width, the private data they must not see, and the language switch."""

import os

import pytest

from tests.browser.conftest import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import PHONE  # noqa: E402

# Transactional, because the live server thread must see the test's data; the
# serialized rollback restores Wagtail's root page and default site for the
# tests that run after these.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def open_page(browser, url, viewport=PHONE):
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(url)
    return page


def has_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_branch_page_on_a_phone_shows_opted_in_badges_only(live_server, tree, members, browser):
    page = open_page(browser, live_server.url + tree.branch_a.url)

    expect(page.locator("h1")).to_have_text("幸福里网格党支部")
    badges = page.locator(".member-badge")
    expect(badges).to_have_count(1)
    expect(badges.first).to_contain_text("刘洋")
    expect(badges.first).to_contain_text("党员示范岗")
    body = page.locator("body").inner_text()
    assert "陈静" not in body  # in the branch, but did not opt in
    assert "杨磊" not in body
    assert members.a_public.phone not in body
    assert members.a_public.phone[-4:] not in body
    assert not has_horizontal_overflow(page)


def test_branch_page_shows_breadcrumbs_and_building_groups(live_server, tree, members, browser):
    page = open_page(browser, live_server.url + tree.branch_a.url)

    crumbs = page.locator(".breadcrumbs")
    expect(crumbs).to_contain_text("示范区")
    expect(crumbs).to_contain_text("幸福里三级网格")
    page.get_by_role("link", name="幸福里3号楼党小组").click()
    expect(page.locator("h1")).to_have_text("幸福里3号楼党小组")
    expect(page).to_have_url(live_server.url + tree.group_a.url)


def test_home_page_lists_first_level_grids_without_overflow(live_server, tree, browser):
    page = open_page(browser, live_server.url + "/")

    units = page.locator(".unit-list .unit-link__name")
    expect(units).to_have_text(["东城一级网格", "西城一级网格"])
    expect(page.locator(".site-nav")).to_contain_text("首页")
    assert not has_horizontal_overflow(page)


def test_language_switch_keeps_the_page_and_shows_english_labels(
    live_server, tree, members, browser
):
    page = open_page(browser, live_server.url + tree.branch_a.url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("#badges-heading")).to_contain_text("党员亮身份")

    page.locator(".lang-switch [lang=en]").click()

    expect(page).to_have_url(live_server.url + "/en" + tree.branch_a.url)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".site-nav")).to_contain_text("Home")
    expect(page.locator("#badges-heading")).to_contain_text("Members showing their role")
    expect(page.locator(".facts")).to_contain_text("Branch secretary")
    expect(page.locator(".unit-header__kind")).to_have_text("Grid party branch")
    assert not has_horizontal_overflow(page)

    page.locator(".lang-switch [lang=zh-Hans]").click()

    expect(page).to_have_url(live_server.url + tree.branch_a.url)
    expect(page.locator(".site-nav")).to_contain_text("首页")


def test_sign_in_page_uses_the_site_shell_on_a_phone(live_server, tree, browser):
    page = open_page(browser, live_server.url + "/accounts/login/")

    expect(page.locator(".site-header .brand")).to_contain_text("同心")
    expect(page.locator(".auth h1")).to_have_text("登录")
    expect(page.locator(".auth input[name=login]")).to_be_visible()
    assert not has_horizontal_overflow(page)
