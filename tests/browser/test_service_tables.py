"""Hours and points tables in a real browser, at desktop (1,280 px) and phone
(375 px) width: the service statistics' year totals are on screen without
scrolling inside the table, the page never scrolls sideways, numbers have one
decimal; and the questions asked before a late cancel and a withdrawal."""

import datetime as dt
import os
import re
from decimal import Decimal

import pytest

from tests.browser.conftest import CHROMIUM, DESKTOP, PHONE, shot, signed_in

if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from django.utils import timezone  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from tests.factories import make_duty  # noqa: E402
from volunteers.models import (  # noqa: E402
    CheckIn,
    CommunityRegistration,
    CreditEvent,
    Shift,
    SignUp,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

YEAR = timezone.localdate().year - 1
# Points whose sum SQLite returns as 22.7000000000000 (the raw decimals once shown).
POINTS = [Decimal("7.7"), Decimal("7.5"), Decimal("7.5")]


def _year_of_service(tree, users):
    """Every month of YEAR: a shift of group A and one of the whole branch, each
    credited to the member with 114 minutes and some points."""
    group_duty = make_duty(tree, title="3号楼楼道清理与垃圾分类宣传", group=tree.group_a)
    branch_duty = make_duty(tree, title="敬老探访")
    for month in range(1, 13):
        for n, duty in enumerate((group_duty, branch_duty)):
            start = timezone.make_aware(dt.datetime(YEAR, month, 3 + n, 9))
            shift = Shift.objects.create(
                duty=duty, starts_at=start, ends_at=start + dt.timedelta(hours=2), capacity=5
            )
            record = CheckIn.objects.create(
                shift=shift, user=users.member, checked_in_at=start,
                checked_out_at=start + dt.timedelta(minutes=114), in_method=CheckIn.Method.QR,
            )  # fmt: skip
            CreditEvent.objects.create(
                user=users.member, check_in=record, revision=0, kind=CreditEvent.Kind.CREDIT,
                year=YEAR, minutes=114, points=POINTS[(month + n) % 3],
            )  # fmt: skip


def _scroll_to(locator):
    """Bring a section to the top of the window for a screenshot (no sideways scrolling)."""
    locator.evaluate("el => el.scrollIntoView({block: 'start', inline: 'nearest'})")


def _no_sideways_scroll(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


# Whether an element is shown without scrolling sideways: inside the window and
# inside every box around it that clips or scrolls its overflow.
SHOWN = """el => {
    const r = el.getBoundingClientRect();
    if (r.left < 0 || r.right > window.innerWidth + 1) return false;
    for (let box = el.parentElement; box; box = box.parentElement) {
        if (getComputedStyle(box).overflowX === "visible") continue;
        const b = box.getBoundingClientRect();
        if (r.left < b.left - 1 || r.right > b.right + 1) return false;
    }
    return true;
}"""


def _on_screen(page, locator, width):
    assert locator.evaluate(SHOWN), locator.bounding_box()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_statistics_tables_show_the_year_total_and_one_decimal(
    live_server, tree, users, browser, viewport
):
    _year_of_service(tree, users)
    page = signed_in(browser, live_server, users.secretary, viewport=viewport)
    page.goto(f"{live_server.url}/admin/volunteering/report/?branch={tree.branch_a.pk}&year={YEAR}")
    total = page.locator('[data-group="total"] [data-col="total"]')
    expect(total).to_contain_text("45.6")  # 24 × 114 minutes
    _scroll_to(page.locator("[data-report-groups]"))
    shot(page, f"report-groups-before-{viewport['width']}")
    _on_screen(page, total, viewport["width"])
    _on_screen(page, page.locator('[data-group="total"] th[scope="row"]'), viewport["width"])
    _no_sideways_scroll(page, viewport["width"])
    text = page.locator("[data-report-groups]").inner_text()
    assert not re.search(r"\d\.\d{2,}", text), text  # one decimal, never 22.7000000000000
    _scroll_to(page.locator("[data-report-groups]"))
    shot(page, f"report-groups-{viewport['width']}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_my_service_record_fits_the_screen(live_server, tree, users, browser, viewport):
    _year_of_service(tree, users)
    page = signed_in(browser, live_server, users.member, viewport=viewport)
    page.goto(f"{live_server.url}/me/service/?year={YEAR}")
    expect(page.get_by_test_id("hours")).to_have_text("45.6")
    footer = page.locator("[data-testid=record] [data-total] [data-col=points]")
    _on_screen(page, footer, viewport["width"])
    _no_sideways_scroll(page, viewport["width"])
    _scroll_to(page.locator("[data-testid=record]"))
    shot(page, f"my-service-{viewport['width']}")


def test_a_late_cancel_asks_first_and_says_it_is_recorded_late(live_server, tree, users, browser):
    start = timezone.now() + dt.timedelta(hours=3)
    shift = Shift.objects.create(
        duty=make_duty(tree, title="周末义诊"), starts_at=start,
        ends_at=start + dt.timedelta(hours=2), capacity=5,
        cancel_deadline=start - dt.timedelta(hours=12),
    )  # fmt: skip
    SignUp.objects.create(shift=shift, user=users.member, status=SignUp.Status.CONFIRMED)
    page = signed_in(browser, live_server, users.member)
    page.goto(f"{live_server.url}/volunteer/shifts/{shift.pk}/")
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="取消报名").click()
    page.wait_for_timeout(300)
    assert questions and "迟取消" in questions[0], questions
    assert SignUp.objects.get(shift=shift, user=users.member).status == SignUp.Status.CONFIRMED
    page.once("dialog", lambda d: answer(d, True))
    with page.expect_navigation():
        page.get_by_role("button", name="取消报名").click()
    assert SignUp.objects.get(shift=shift, user=users.member).status == SignUp.Status.LATE_CANCELLED


def test_withdrawing_an_approved_registration_asks_first(live_server, tree, users, browser):
    CommunityRegistration.objects.create(
        member=users.own_member, branch=tree.branch_b, employer="区财政局",
        status=CommunityRegistration.Status.APPROVED, decided_at=timezone.now(),
    )  # fmt: skip
    page = signed_in(browser, live_server, users.member)
    page.goto(f"{live_server.url}/me/registration/")
    questions = []
    page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    page.get_by_role("button", name="撤回报到").click()
    page.wait_for_timeout(300)
    assert questions and "报到证" in questions[0], questions
    assert CommunityRegistration.objects.get().status == CommunityRegistration.Status.APPROVED
