"""The Content-Security-Policy in a real browser: the pages people use report
no blocked script, and the behaviour that moved out of inline scripts (facets
that submit themselves, the withdraw confirmation, branch suggestions) works."""

import datetime as dt
import os

import pytest

from tests.browser.conftest import CHROMIUM, signed_in

if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.factories import make_duty, make_shift  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def watch_csp(page) -> list[str]:
    """Every CSP violation the page reports (Chromium logs each to the console)."""
    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: violations.append(f"script error: {e}"))
    return violations


def visit(page, url, violations):
    response = page.goto(url)
    assert response.status < 400, url
    page.wait_for_load_state("load")
    assert violations == [], url


def test_member_pages_run_no_inline_script(live_server, tree, users, members, browser):
    url = live_server.url
    shift = make_shift(make_duty(tree, require_location=True), start_in=dt.timedelta(minutes=-10))
    page = signed_in(browser, live_server, users.member)
    violations = watch_csp(page)
    assert "script-src 'self';" in page.goto(url + "/").headers["content-security-policy"] + ";"
    for path in (
        "/",
        tree.branch_a.url,
        "/me/",
        "/volunteer/",
        f"/volunteer/shifts/{shift.pk}/",
        "/search/",
        "/alliance/partners/",
    ):
        visit(page, url + path, violations)

    # The search facets send the form when ticked (was onchange="…").
    page.goto(url + "/search/")
    page.locator("#id_q").fill("幸福里")
    with page.expect_navigation():
        page.locator("#id_q").press("Enter")
    facet = page.locator("input[data-auto-submit]").first
    with page.expect_navigation():
        facet.check()
    expect(page.locator("input[data-auto-submit]:checked")).to_have_count(1)
    assert violations == []

    # Branch suggestions on the community registration form (was an inline script).
    visit(page, url + "/me/registration/", violations)
    page.locator("#id_branch_name").fill("幸福")
    expect(page.locator("#branch-options option").first).to_have_attribute(
        "value", tree.branch_a.title, timeout=5_000
    )
    assert violations == []


def test_organiser_code_page_and_sign_in_pages_run_no_inline_script(
    live_server, tree, users, browser
):
    url = live_server.url
    shift = make_shift(make_duty(tree), start_in=dt.timedelta(minutes=-10))
    organiser = signed_in(browser, live_server, users.secretary)
    violations = watch_csp(organiser)
    visit(organiser, f"{url}/volunteer/shifts/{shift.pk}/code/", violations)
    expect(organiser.locator("svg").first).to_be_visible()  # the QR code, inline SVG

    # The sign-in and second-factor pages, as a secretary with TOTP signs in.
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    violations = watch_csp(page)
    visit(page, url + "/accounts/login/", violations)
    page.locator("input[name=login]").fill("secretary")
    page.locator("input[name=password]").fill("pw-Test-12345")
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page.locator("input[name=code]")).to_be_visible()
    assert violations == []


def test_withdraw_asks_before_sending(live_server, tree, users, browser):
    """data-confirm replaces onclick="return confirm(…)": dismissing keeps the registration."""
    from volunteers.models import CommunityRegistration

    registration = CommunityRegistration.objects.create(
        member=users.own_member, branch=tree.branch_a, status=CommunityRegistration.Status.SUBMITTED
    )
    page = signed_in(browser, live_server, users.member)
    violations = watch_csp(page)
    visit(page, live_server.url + "/me/registration/", violations)
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("button", name="撤回报到").click()
    page.wait_for_timeout(300)
    assert questions and "撤回" in questions[0]
    registration.refresh_from_db()
    assert registration.status == CommunityRegistration.Status.SUBMITTED
    assert violations == []
