"""Dispatch on phones, end to end: a grid worker records a resident's
micro-wish (微心愿), the branch secretary dispatches it to a member chosen from
the ranked candidates, the member accepts, checks in and completes it on
/me/tasks/, and the grid worker reviews it as satisfied."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from tests.browser.conftest import CHROMIUM, shot, signed_in

if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from volunteers.models import Offer, RequestEvent, ServiceRequest  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WISH = "帮孙奶奶更换厨房水龙头"


def no_sideways_scroll(page):
    """Nothing on the phone page is wider than the screen."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_micro_wish_recorded_dispatched_taken_done_and_reviewed(live_server, tree, users, browser):
    worker = users.gridworker  # works in branch A's grid
    worker.first_name = "李网格"
    worker.save(update_fields=["first_name"])
    url = live_server.url
    expect.set_options(timeout=15_000)  # the machine may be busy: pages, not the clock, are tested

    # 1. The grid worker records the micro-wish on the phone form.
    gw = signed_in(browser, live_server, worker)
    gw.goto(f"{url}/me/")
    gw.get_by_role("link", name="服务需求").click()
    expect(gw.locator("h1")).to_have_text("服务需求")
    expect(gw.get_by_text("还没有服务需求。")).to_be_visible()
    shot(gw, "dispatch-1-list-empty")
    gw.get_by_role("link", name="登记需求").click()
    gw.get_by_label("需求内容").fill(WISH)
    gw.get_by_label("类别").select_option("elderly")
    gw.get_by_label("这是一个微心愿").check()
    expect(gw.get_by_label("网格")).to_have_value(str(tree.grid3a.pk))  # their only grid
    gw.get_by_label("地址").fill("幸福里小区3号楼2单元501")
    gw.get_by_label("居民", exact=True).fill("孙奶奶")
    gw.get_by_label("居民电话").fill("13812345678")
    gw.get_by_label("详情").fill("水龙头漏水，老人独居")
    # A bad submission first: the end before the start comes back with everything kept.
    window_start = gw.get_by_label("开始时间").input_value()
    gw.get_by_label("结束时间").fill(window_start)
    shot(gw, "dispatch-2-form")
    no_sideways_scroll(gw)
    gw.get_by_role("button", name="登记需求").click()
    expect(gw.get_by_text("结束时间必须晚于开始时间。")).to_be_visible()
    expect(gw.get_by_label("需求内容")).to_have_value(WISH)
    expect(gw.get_by_label("地址")).to_have_value("幸福里小区3号楼2单元501")
    shot(gw, "dispatch-3-form-error")
    # A window that is on now: a task is checked in from 30 minutes before it to its end.
    start = timezone.localtime().replace(tzinfo=None, second=0, microsecond=0)
    start -= dt.timedelta(minutes=10)
    gw.get_by_label("开始时间").fill(start.strftime("%Y-%m-%dT%H:%M"))
    gw.get_by_label("结束时间").fill((start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    gw.get_by_role("button", name="登记需求").click()
    expect(gw.get_by_text("需求已登记。")).to_be_visible()
    expect(gw.get_by_test_id("request-status")).to_have_text("待派单")
    expect(gw.get_by_test_id("request-address")).to_have_text("幸福里小区3号楼2单元501")
    shot(gw, "dispatch-4-recorded")
    request = ServiceRequest.objects.get(title=WISH)
    assert request.source == "micro_wish" and request.created_by == worker

    # 2. The secretary dispatches it to 赵敏 from the ranked candidates.
    sec = signed_in(browser, live_server, users.secretary)
    sec.goto(f"{url}/requests/")
    item = sec.locator(".pub-item", has_text=WISH)
    expect(item).to_contain_text("微心愿")
    shot(sec, "dispatch-5-secretary-list")
    item.get_by_role("link", name=WISH).click()
    candidate = sec.locator(".candidate", has_text="赵敏")
    expect(candidate).to_contain_text("本支部党员")
    shot(sec, "dispatch-6-candidates")
    no_sideways_scroll(sec)
    candidate.get_by_role("checkbox").check()
    sec.get_by_role("button", name="派单", exact=True).click()
    expect(sec.get_by_text("已派单给 1 人：赵敏。")).to_be_visible()
    expect(sec.get_by_test_id("request-status")).to_have_text("已派单")
    expect(sec.get_by_test_id("offer")).to_contain_text("待回复")
    shot(sec, "dispatch-7-dispatched")

    # 3. The member accepts it on /me/tasks/, checks in, and completes it.
    member = signed_in(browser, live_server, users.member)
    member.goto(f"{url}/me/")
    member.get_by_role("link", name="我的任务").click()
    offer_card = member.get_by_test_id("open-offer")
    expect(offer_card).to_contain_text(WISH)
    expect(offer_card).to_contain_text("幸福里小区****")  # the address, masked
    shot(member, "dispatch-8-offered")
    no_sideways_scroll(member)
    offer_card.get_by_role("button", name="接单").click()
    expect(member.get_by_text(f"您已接下“{WISH}”，谢谢！")).to_be_visible()
    task = member.get_by_test_id("task")
    expect(task).to_contain_text("已接单")
    # Taken: the address and the resident's phone in full, and whom to call back.
    expect(task).to_contain_text("幸福里小区3号楼2单元501")
    expect(task.get_by_test_id("task-resident")).to_contain_text("孙奶奶 · 13812345678")
    expect(task.get_by_test_id("task-dispatcher")).to_contain_text("secretary · 未登记电话")
    shot(member, "dispatch-9-accepted")
    task.get_by_role("button", name="签到并开始").click()
    expect(member.get_by_text("签到成功")).to_be_visible()
    expect(member.get_by_test_id("task")).to_contain_text("服务中")
    member.get_by_label("完成情况").fill("已更换新水龙头，试用正常")
    shot(member, "dispatch-10-in-service")
    member.get_by_role("button", name="标记为完成").click()
    expect(member.get_by_text(f"“{WISH}”已完成，谢谢！")).to_be_visible()
    expect(member.get_by_test_id("past-offer")).to_contain_text("已办结")
    shot(member, "dispatch-11-done")
    assert Offer.objects.get(request=request).status == "completed"

    # 4. The grid worker asks the resident and reviews it as satisfied.
    gw.goto(f"{url}/requests/{request.pk}/")
    expect(gw.get_by_test_id("request-status")).to_have_text("已办结")
    expect(gw.get_by_test_id("offer")).to_contain_text("已更换新水龙头，试用正常")
    gw.get_by_label("评价意见").fill("孙奶奶很满意")
    shot(gw, "dispatch-12-review")
    gw.get_by_role("button", name="满意", exact=True).click()
    expect(gw.get_by_text("谢谢！需求已评价并办结。")).to_be_visible()
    expect(gw.get_by_test_id("request-status")).to_have_text("已评价")
    expect(gw.get_by_test_id("request-review")).to_contain_text("满意 · 孙奶奶很满意")
    expect(gw.get_by_test_id("event")).to_have_count(6)  # new → … → reviewed, each shown
    shot(gw, "dispatch-13-reviewed")
    request.refresh_from_db()
    assert (request.status, request.satisfied) == ("reviewed", True)
    assert list(
        RequestEvent.objects.filter(request=request).values_list("to_status", flat=True)
    ) == ["new", "dispatched", "accepted", "in_service", "completed", "reviewed"]
