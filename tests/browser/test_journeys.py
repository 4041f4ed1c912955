"""Each role's main journey in a real browser, at phone (375 px) and desktop
(1,280 px) width: what the person sees at every step, and that no phone page
scrolls sideways. Screenshots go to $JOURNEY_SHOTS (or $TONGXIN_SHOTS) when set:
``<role>-<width>-<step>-<what>.png``."""

import datetime as dt
import io
import os
import re
import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.browser.conftest import CHROMIUM, DESKTOP, LAUNCH_ARGS, PHONE, SHOTS

if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from branches.models import MeetingKind  # noqa: E402
from branches.schedule import meeting_schedule  # noqa: E402
from portal.publishing import NoticePage  # noqa: E402
from tests.alliance.test_minutes import _published, al  # noqa: E402, F401 (fixture)
from tests.factories import make_duty, make_shift, publish  # noqa: E402
from tests.volunteers.test_request_views import new_request  # noqa: E402
from volunteers.models import Offer  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHOTS_DIR = os.environ.get("JOURNEY_SHOTS") or SHOTS
PASSWORD = "pw-Test-12345"  # tests.factories.make_user
WIDTHS = [pytest.param(PHONE, id="375"), pytest.param(DESKTOP, id="1280")]
NOTICE = "关于开展楼道清理活动的通知"
DUTY = "幸福里楼道清理志愿服务"


@pytest.fixture
def chromium(django_db_setup):
    """A browser per test (each journey opens a context in it). One browser kept
    for the whole module leaves Playwright's event loop running between tests,
    and the serialized rollback then no longer restores Wagtail's root page."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls in
    # fixtures and teardown are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Journey:
    """One person's browser tab at one width. ``seen`` marks a step: it takes
    the screenshot and notes a phone page wider than the screen (checked at
    the end, so every step is still photographed)."""

    def __init__(self, browser, live_server, role, viewport):
        self.url = live_server.url
        self.role = role
        self.width = viewport["width"]
        self.context = browser.new_context(viewport=viewport, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.steps = 0
        self.too_wide = []

    def go(self, path):
        self.page.goto(self.url + path)

    def seen(self, what):
        self.steps += 1
        page = self.page
        page.wait_for_load_state("load")
        if SHOTS_DIR:
            name = f"{self.role}-{self.width}-{self.steps:02d}-{what}.png"
            page.screenshot(path=os.path.join(SHOTS_DIR, name), full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        if self.width <= PHONE["width"] and wide > self.width + 1:
            self.too_wide.append(f"{what} ({page.url}): {wide}px")

    def sign_in(self, username, totp_user=None):
        """Through allauth's sign-in page, as a person does."""
        self.go("/accounts/login/")
        expect(self.page.locator("h1")).to_have_text("登录")
        self.page.locator("input[name=login]").fill(username)
        self.page.locator("input[name=password]").fill(PASSWORD)
        self.seen("sign-in")
        self.page.locator("form button[type=submit]").last.click()
        if totp_user is not None:
            code = self.page.locator("input[name=code]")
            expect(code).to_be_visible()
            self.seen("second-factor")
            code.fill(current_code(totp_user))
            code.press("Enter")
        expect(self.page).to_have_url(self.url + "/me/")
        expect(self.page.locator("h1")).to_have_text("我的主页")

    def done(self):
        self.context.close()
        assert not self.too_wide, f"{self.role}: wider than the phone: {self.too_wide}"


@pytest.fixture
def journey(chromium, live_server):
    opened = []

    def open_journey(role, viewport):
        opened.append(Journey(chromium, live_server, role, viewport))
        return opened[-1]

    expect.set_options(timeout=15_000)  # the machine may be busy
    yield open_journey
    for j in opened:
        j.context.close()


def current_code(user) -> str:
    from allauth.mfa import app_settings as mfa_settings
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from allauth.mfa.utils import decrypt

    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(decrypt(totp.data["secret"]), counter))


def rebuild_search():
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())


def main_text(page) -> str:
    return page.locator("main").inner_text()


# --- The journeys ---------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", WIDTHS)
def test_resident_home_branch_notices_search(journey, viewport, tree, members):
    publish(tree.branch_a, NoticePage(title=NOTICE, summary="本周六上午9点，3号楼楼道清理。"))
    rebuild_search()
    j = journey("resident", viewport)
    page = j.page

    j.go("/")
    expect(page.locator("h1")).to_contain_text("同心")
    expect(page.locator("main").get_by_role("link", name="东城一级网格")).to_be_visible()
    j.seen("home")
    for unit in ("东城一级网格", "和平二级网格", "幸福里三级网格", "幸福里网格党支部"):
        page.locator("main a", has_text=unit).first.click()
        expect(page.locator("h1")).to_have_text(unit)
    expect(page.locator(".member-badge")).to_contain_text("刘洋")  # opted in
    expect(page.locator("main")).to_contain_text(NOTICE)
    assert "陈静" not in main_text(page)  # did not opt in
    j.seen("branch")

    page.get_by_role("link", name="全部通知、动态和活动").click()
    expect(page.locator("main").get_by_role("link", name=NOTICE)).to_be_visible()
    j.seen("notices")
    page.locator("main").get_by_role("link", name=NOTICE).click()
    expect(page.locator("h1")).to_have_text(NOTICE)
    expect(page.locator("main")).to_contain_text("本周六上午9点")
    j.seen("notice")

    page.locator(".site-nav a[href='/search/']").click()
    expect(page.locator("h1")).to_have_text("搜索")
    page.locator("input[name=q]").fill("幸福里")
    page.locator("input[name=q]").press("Enter")
    hits = page.locator(".search-hit")
    expect(hits.first).to_be_visible()
    expect(page.locator(".search-hits")).to_contain_text("幸福里网格党支部")
    assert "陈静" not in main_text(page)  # private records stay private
    j.seen("search")
    j.done()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_member_notices_shift_and_service(journey, viewport, tree, users):
    publish(tree.branch_a, NoticePage(title=NOTICE))
    make_shift(make_duty(tree, title=DUTY, place="幸福里小区3号楼"), capacity=5)
    j = journey("member", viewport)
    page = j.page

    j.sign_in("member")
    expect(page.locator("main")).to_contain_text("赵敏")
    j.seen("me")

    page.get_by_role("link", name="我的通知").click()
    expect(page.locator("h1")).to_contain_text("我的通知")
    item = page.locator(".pub-item", has_text=NOTICE)
    expect(item.locator(".tag--unread")).to_be_visible()
    j.seen("my-notices")
    item.get_by_role("link", name=NOTICE).click()
    expect(page.locator("h1")).to_have_text(NOTICE)
    j.seen("notice")

    page.locator(".site-nav a[href='/volunteer/']").click()
    page.locator("main").get_by_role("link", name=DUTY).first.click()
    expect(page.locator("h1")).to_contain_text(DUTY)
    j.seen("shift")
    page.get_by_role("button", name="我要报名").click()
    expect(page.get_by_text("您已报名")).to_be_visible()
    j.seen("signed-up")

    j.go("/me/")
    page.get_by_role("link", name="时长、积分与证明").click()
    upcoming = page.locator("section", has=page.locator("#upcoming-heading"))
    expect(upcoming).to_contain_text(DUTY)
    j.seen("my-service")
    j.done()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_volunteer_takes_a_task_and_signs_up(journey, viewport, tree, users):
    wish = "帮孙奶奶买药"
    request = new_request(users.gridworker, tree.grid3a, title=wish)
    Offer.objects.create(
        request=request,
        user=users.volunteer,
        offered_by=users.secretary,
        expires_at=timezone.now() + dt.timedelta(hours=4),
    )
    make_shift(make_duty(tree, title=DUTY), capacity=5)
    j = journey("volunteer", viewport)
    page = j.page

    j.sign_in("volunteer")
    j.seen("me")
    page.get_by_role("link", name="我的任务").click()
    offer = page.get_by_test_id("open-offer")
    expect(offer).to_contain_text(wish)
    j.seen("offer")
    offer.get_by_role("button", name="接单").click()
    expect(page.get_by_text(f"您已接下“{wish}”，谢谢！")).to_be_visible()
    expect(page.get_by_test_id("task")).to_contain_text("已接单")
    j.seen("accepted")

    page.locator(".site-nav a[href='/volunteer/']").click()
    page.locator("main").get_by_role("link", name=DUTY).first.click()
    page.get_by_role("button", name="我要报名").click()
    expect(page.get_by_text("您已报名")).to_be_visible()
    j.seen("signed-up")
    j.go("/me/service/")
    expect(page.locator("section", has=page.locator("#upcoming-heading"))).to_contain_text(DUTY)
    j.seen("my-service")
    j.done()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_grid_worker_records_a_request_and_opens_the_dispatch_board(journey, viewport, tree, users):
    need = "楼道灯坏了需要维修"
    j = journey("gridworker", viewport)
    page = j.page

    j.sign_in("gridworker")
    page.get_by_role("link", name="服务需求").click()
    expect(page.locator("h1")).to_have_text("服务需求")
    j.seen("requests")
    page.get_by_role("link", name="登记需求").click()
    page.get_by_label("需求内容").fill(need)
    page.get_by_label("类别").select_option("hazard")
    page.get_by_label("地址").fill("幸福里小区3号楼2单元")
    page.get_by_label("居民", exact=True).fill("周阿姨")
    page.get_by_label("居民电话").fill("13812345678")
    j.seen("form")
    page.get_by_role("button", name="登记需求").click()
    expect(page.get_by_text("需求已登记。")).to_be_visible()
    expect(page.get_by_test_id("request-status")).to_have_text("待派单")
    j.seen("recorded")

    page.get_by_role("link", name="服务需求").first.click()
    expect(page.locator(".pub-item", has_text=need)).to_contain_text("待派单")
    j.seen("requests-after")
    j.go("/admin/volunteering/requests/dashboard/")
    expect(page.locator("h1")).to_contain_text("派单看板")
    expect(page.locator("main, #main").first).to_contain_text("幸福里")
    j.seen("dispatch-board")
    j.done()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_secretary_signs_in_with_totp_members_meeting_and_site(
    journey, viewport, tree, users, members
):
    starts = timezone.localtime().replace(hour=19, minute=30, second=0, microsecond=0)
    meeting_schedule(
        branch=tree.branch_a,
        kind=MeetingKind.ASSEMBLY,
        title="第四季度支部党员大会",
        starts_at=starts + dt.timedelta(days=7),
        duration=dt.timedelta(hours=2),
        place="党群服务中心",
    )
    j = journey("secretary", viewport)
    page = j.page

    j.sign_in("secretary", totp_user=users.secretary)
    j.seen("me")
    j.go("/admin/")
    j.seen("admin")
    j.go("/admin/members/")
    listing = page.locator("table.listing")
    expect(listing).to_contain_text("刘洋")
    expect(listing).to_contain_text("陈静")
    assert "黄强" not in listing.inner_text()  # branch B's member
    assert members.a_private.phone not in page.content()  # masked
    j.seen("members")

    j.go("/admin/meetings/")
    page.get_by_role("link", name="第四季度支部党员大会").first.click()
    expect(page.locator("main, #main").first).to_contain_text("第四季度支部党员大会")
    expect(page.locator("input[name=place]")).to_have_value("党群服务中心")
    j.seen("meeting")

    j.go(tree.branch_a.url)
    expect(page.locator("h1")).to_have_text("幸福里网格党支部")
    j.seen("branch-page")
    j.done()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_partner_unit_meeting_and_minutes(journey, viewport, tree, users, al):  # noqa: F811
    _published(al, users)
    j = journey("partner", viewport)
    page = j.page

    j.sign_in("partner")
    page.get_by_role("link", name="本单位与资源").click()
    expect(page.locator("h1")).to_contain_text("幸福里小学")
    j.seen("my-unit")

    j.go("/me/")
    page.locator("main").get_by_role("link", name="联席会议").first.click()
    expect(page.locator("h1")).to_have_text("联席会议")
    page.get_by_role("link", name="已结束").click()
    page.locator("main").get_by_role("link", name="第二季度联席会议").click()
    expect(page.locator("h1")).to_contain_text("第二季度联席会议")
    j.seen("meeting")

    page.locator("main").get_by_role("link", name="纪要").first.click()
    minutes = page.locator("main")
    expect(minutes).to_contain_text("开放学校操场")
    expect(minutes).to_contain_text("协调学校操场夜间开放停车")
    j.seen("minutes")
    j.done()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_district_admin_audit_log_and_compliance(journey, viewport, tree, users):
    j = journey("district", viewport)
    page = j.page

    j.sign_in("district", totp_user=users.district)
    j.go("/admin/")
    j.seen("admin")
    j.go("/admin/audit/")
    expect(page.locator("h1")).to_contain_text("审计日志")
    expect(page.locator("table.listing")).to_contain_text("secretary · 支部书记")  # role granted
    # The time reads as one short line (it wrapped a character per line at 375 px).
    when = page.locator("td.audit-when a").first
    expect(when).to_have_text(re.compile(r"^\s*\d{4}-\d\d-\d\d \d\d:\d\d\s*$"))
    line = page.evaluate(
        "el => parseFloat(getComputedStyle(el).lineHeight) || 1.5 * parseFloat(getComputedStyle(el).fontSize)",
        when.element_handle(),
    )
    assert when.bounding_box()["height"] < 1.5 * line
    j.seen("audit-log")
    j.go("/admin/compliance/")
    expect(page.locator("h1")).to_contain_text("三会一课")
    rows = page.locator("main, #main").first
    expect(rows).to_contain_text("幸福里网格党支部")
    expect(rows).to_contain_text("光明路网格党支部")
    # Columns that do not fit scroll inside the table's box, which shows a shadow
    # at the edge where more wait.
    box = page.locator("[data-compliance-rows]").locator("xpath=..")
    overflow = box.evaluate(
        "el => [el.scrollWidth > el.clientWidth, getComputedStyle(el).backgroundImage]"
    )
    assert overflow[0] == (viewport["width"] < 600)
    assert "gradient" in overflow[1]
    j.seen("compliance")
    j.done()
