"""The secretary's week in a real browser: schedule a recurring party group
meeting, publish a notice that goes live later; the background worker publishes
it; the member finds it in their feed and subscribes to their calendar."""

import datetime as dt
import os

import pytest

from tests.browser.conftest import CHROMIUM, shot, signed_in

if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

import icalendar  # noqa: E402
from django.utils import timezone  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from branches.models import Meeting  # noqa: E402
from portal.publishing import NoticePage  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_secretary_schedules_and_publishes_member_reads_and_subscribes(
    live_server, tree, users, browser, run_worker
):
    # 1. A recurring party group meeting, from the admin form on a phone.
    page = signed_in(browser, live_server, users.secretary)
    page.goto(live_server.url + "/admin/meetings/new/")
    page.select_option("select[name=branch]", str(tree.branch_a.pk))
    page.select_option("select[name=group]", str(tree.group_a.pk))
    page.select_option("select[name=kind]", "group")
    page.fill("input[name=title]", "3号楼党小组会")
    page.fill("input[name=starts_at]", "2027-01-10 19:30")
    page.fill("input[name=ends_at]", "2027-01-10 20:30")
    page.fill("input[name=place]", "3号楼活动室")
    page.select_option("select[name=repeat]", "FREQ=MONTHLY")
    page.fill("input[name=repeat_count]", "3")
    shot(page, "meeting-new-phone")
    # A submit's navigation may not have started when the click returns: wait
    # for the response, not for a quiet network.
    with page.expect_navigation():
        page.locator("footer button[type=submit]").first.dispatch_event("click")
    meetings = Meeting.objects.filter(title="3号楼党小组会").order_by("starts_at")
    assert meetings.count() == 3
    assert [timezone.localtime(m.starts_at).strftime("%m-%d %H:%M") for m in meetings] == [
        "01-10 19:30",
        "02-10 19:30",
        "03-10 19:30",
    ]
    shot(page, "meetings-list-phone")

    # 2. A notice that goes live in a few seconds, from the page editor.
    page.goto(live_server.url + f"/admin/pages/add/portal/noticepage/{tree.branch_a.pk}/")
    page.fill("input[name=title]", "关于本月党小组会的通知")
    page.evaluate("document.querySelector('input[name=slug]').value = 'group-meeting-notice'")
    page.fill("textarea[name=summary]", "本月10日晚7点半在3号楼活动室召开党小组会。")
    go_live = timezone.localtime() + dt.timedelta(seconds=4)
    page.evaluate(
        "v => { const i = document.querySelector('input[name=go_live_at]'); i.value = v; }",
        go_live.strftime("%Y-%m-%d %H:%M:%S"),
    )
    with page.expect_navigation():
        page.locator("button[name=action-publish]").dispatch_event("click")
    notice = NoticePage.objects.get(title="关于本月党小组会的通知")
    assert not notice.live and notice.get_latest_revision().approved_go_live_at

    # 3. The member's feed does not have it yet; after go-live the worker publishes it.
    member = signed_in(browser, live_server, users.member)
    member.goto(live_server.url + "/me/notices/")
    expect(member.locator("h1")).to_contain_text("我的通知")
    assert "关于本月党小组会的通知" not in member.locator("main").inner_text()
    while timezone.now() < go_live + dt.timedelta(seconds=1):
        member.wait_for_timeout(500)
    run_worker()
    member.goto(live_server.url + "/me/notices/")
    item = member.locator(".pub-item", has_text="关于本月党小组会的通知")
    expect(item).to_be_visible()
    expect(item.locator(".tag--unread")).to_be_visible()
    shot(member, "my-notices-phone")
    item.locator("a").click()
    expect(member.locator("h1")).to_have_text("关于本月党小组会的通知")

    # 4. Subscribe to the calendar from /me/: the feed has the three meetings.
    member.goto(live_server.url + "/me/")
    with member.expect_navigation():
        member.locator("form[action$='/me/calendar/'] button").click()
    address = member.locator("input[readonly], code").first
    url = (
        address.input_value()
        if address.evaluate("e => e.tagName") == "INPUT"
        else address.inner_text()
    )
    shot(member, "me-calendar-phone")
    feed = member.request.get(url.strip())
    assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(feed.body())
    events = [e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) == "3号楼党小组会"]
    assert len(events) == 3
    assert {e["DTSTART"].dt.strftime("%H:%M") for e in events} == {"19:30"}
    assert {str(e["DTSTART"].params.get("TZID")) for e in events} == {"Asia/Shanghai"}
