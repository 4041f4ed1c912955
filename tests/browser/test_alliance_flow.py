"""The co-building alliance on phones, end to end: the branch secretary
convenes a joint meeting, the partner school's contact answers and proposes an
agenda item, the secretary puts it on the agenda, writes, circulates, approves
and publishes the minutes with an action item for the school, the school posts
its progress, the next meeting carries the open item as a follow-up, and the
printed minutes hold the title, the resolution and the action item."""

import datetime as dt
import os
import shutil
import subprocess

import pytest
from django.utils import timezone

from tests.browser.conftest import CHROMIUM, SHOTS, shot, signed_in

if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from alliance.models import (  # noqa: E402
    ActionItem,
    ActionProgress,
    AgendaItem,
    Alliance,
    Invitation,
    JointMeeting,
    Minutes,
    Partner,
    PartnerContact,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TITLE = "第二季度党建联席会议"
NEXT_TITLE = "第三季度党建联席会议"
PROPOSAL = "共建校园周边安全护学岗"
DISCUSSION = "与会单位同意在上下学时段设立护学岗，由学校组织教师志愿者"
RESOLUTION = "自下月起每周一至周五设立护学岗"
ACTION = "制定护学岗排班表并报社区党支部"
EXPECTED = "排班表覆盖全部上学日"
PROGRESS = "排班表初稿已完成，已征求家长委员会意见"


def no_sideways_scroll(page):
    """Nothing on the phone page is wider than the screen."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def local_input(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def convene(page, url, *, title, starts_at, agenda=""):
    """Fill and send the convene form, inviting the partner school."""
    page.goto(f"{url}/alliance/meetings/")
    page.get_by_role("link", name="召集会议").click()
    expect(page.locator("h1")).to_have_text("召集会议")
    page.get_by_label("会议名称").fill(title)
    page.get_by_label("开始时间").fill(local_input(starts_at))
    page.get_by_label("结束时间").fill(local_input(starts_at + dt.timedelta(hours=2)))
    page.get_by_label("地点").fill("幸福里社区党群服务中心二楼会议室")
    page.get_by_label("议题征集截止").fill(local_input(starts_at - dt.timedelta(days=1)))
    page.get_by_label("幸福里小学（1 个联系人账号）").check()
    if agenda:
        page.get_by_label("议程").fill(agenda)


def test_joint_meeting_from_convening_to_followed_up_action_and_printed_minutes(
    live_server, tree, users, browser, tmp_path
):
    url = live_server.url
    expect.set_options(timeout=15_000)  # the machine may be busy: pages, not the clock, are tested
    school = Partner.objects.create(name="幸福里小学", kind=Partner.Kind.SCHOOL)
    PartnerContact.objects.create(partner=school, user=users.partner, name="孙老师")
    alliance = Alliance.objects.create(name="幸福里共建联盟", unit=tree.branch_a)
    alliance.branches.add(tree.branch_a)
    alliance.partners.add(school)
    users.secretary.first_name = "王书记"
    users.secretary.save(update_fields=["first_name"])
    starts_at = timezone.localtime() + dt.timedelta(days=3)
    starts_at = starts_at.replace(hour=14, minute=30, second=0, microsecond=0)

    # (a) The secretary convenes the joint meeting and invites the school.
    sec = signed_in(browser, live_server, users.secretary)
    convene(sec, url, title=TITLE, starts_at=starts_at, agenda="通报上季度共建工作")
    shot(sec, "alliance-01-convene-form")
    no_sideways_scroll(sec)
    sec.get_by_role("button", name="召集并发出邀请").click()
    expect(sec.get_by_text("会议已召集，邀请已发出。")).to_be_visible()
    expect(sec.locator("h1")).to_have_text(TITLE)
    invitee = sec.get_by_test_id("invitee")
    expect(invitee).to_have_count(1)
    expect(invitee).to_contain_text("孙老师")
    expect(invitee).to_contain_text("幸福里小学")
    expect(invitee).to_contain_text("未回复")
    shot(sec, "alliance-02-convened")
    meeting = JointMeeting.objects.get(title=TITLE)
    assert meeting.convener == users.secretary

    # (b) The school's contact opens the invitation from their messages,
    # answers "attend" and proposes an item before the deadline.
    partner = signed_in(browser, live_server, users.partner)
    partner.goto(f"{url}/me/")
    partner.get_by_role("link", name="我的消息").click()
    partner.get_by_role("link", name=f"会议通知：{TITLE}").click()
    expect(partner.locator("h1")).to_have_text(TITLE)
    expect(partner.get_by_test_id("my-answer")).to_have_text("未回复")
    expect(partner.get_by_test_id("agenda-item")).to_have_count(1)  # the secretary's item
    shot(partner, "alliance-03-partner-invited")
    no_sideways_scroll(partner)
    partner.get_by_role("button", name="参加", exact=True).click()
    expect(partner.get_by_text("已记录：您将参加。")).to_be_visible()
    expect(partner.get_by_test_id("my-answer")).to_have_text("参加")
    partner.get_by_label("议题", exact=True).fill(PROPOSAL)
    partner.get_by_label("背景说明").fill("学校门口上下学时段车流量大，需要志愿者协助疏导")
    partner.get_by_label("所需时间（分钟）").fill("20")
    shot(partner, "alliance-04-partner-proposes")
    partner.get_by_role("button", name="提交议题").click()
    expect(partner.get_by_text("议题已提交，由会议召集人决定是否列入议程。")).to_be_visible()
    proposal = partner.get_by_test_id("proposal")
    expect(proposal).to_contain_text(PROPOSAL)
    expect(proposal).to_contain_text("待定")
    shot(partner, "alliance-05-partner-proposed")
    assert Invitation.objects.get(meeting=meeting, user=users.partner).response == "attend"

    # (c) The secretary takes the proposal, then writes the minutes with a
    # resolution and an action item for the school, and takes them through
    # comments, approval and publication.
    sec.goto(f"{url}/alliance/meetings/{meeting.pk}/")
    expect(sec.get_by_test_id("invitee")).to_contain_text("参加")
    proposed = sec.get_by_test_id("proposal").filter(has_text=PROPOSAL)
    expect(proposed).to_contain_text("幸福里小学")
    shot(sec, "alliance-06-proposal-waiting")
    proposed.get_by_role("button", name="列入议程").click()
    expect(sec.get_by_text("已列入议程。")).to_be_visible()
    expect(sec.get_by_test_id("agenda-item")).to_have_count(2)
    expect(sec.get_by_test_id("agenda-item").nth(1)).to_contain_text(PROPOSAL)
    item = AgendaItem.objects.get(meeting=meeting, title=PROPOSAL)
    assert item.status == AgendaItem.Status.ACCEPTED

    # The meeting page does not link to its minutes: the secretary types the address.
    sec.goto(f"{url}/alliance/meetings/{meeting.pk}/minutes/")
    expect(sec.get_by_text("本次会议尚未开始撰写纪要。")).to_be_visible()
    sec.get_by_role("button", name="开始撰写纪要").click()
    expect(sec.get_by_text("纪要草稿已建立，可以开始撰写。")).to_be_visible()
    expect(sec.get_by_test_id("minutes-state")).to_have_text("草稿")
    sec.get_by_label("会议概要").fill("会议由王书记主持，幸福里小学等单位参加。")
    card = sec.get_by_test_id("editor-item").filter(has_text=PROPOSAL)
    card.get_by_label("讨论情况").fill(DISCUSSION)
    card.get_by_label("会议决议").fill(RESOLUTION)
    card.get_by_text("添加督办事项").click()
    row = card.get_by_test_id("action-row").first
    row.get_by_label("事项", exact=True).fill(ACTION)
    row.get_by_label("责任单位").select_option(label="幸福里小学")
    row.get_by_label("责任人").select_option(label="孙老师")
    due_on = timezone.localdate() + dt.timedelta(days=20)
    row.get_by_label("计划完成日").fill(due_on.isoformat())
    row.get_by_label("预期成果").fill(EXPECTED)
    shot(sec, "alliance-07-minutes-editor")
    no_sideways_scroll(sec)
    sec.get_by_test_id("save").click()
    expect(sec.get_by_text("已保存为第 2 版。")).to_be_visible()
    expect(
        sec.get_by_test_id("editor-item").filter(has_text=PROPOSAL).get_by_label("会议决议")
    ).to_have_value(RESOLUTION)
    sec.get_by_test_id("do-circulate").click()
    expect(sec.get_by_text("纪要已发出征求意见。")).to_be_visible()
    expect(sec.get_by_test_id("minutes-state")).to_have_text("征求意见中")
    written = sec.get_by_test_id("minutes-item").filter(has_text=PROPOSAL)
    expect(written).to_contain_text(DISCUSSION)
    expect(written).to_contain_text(RESOLUTION)
    expect(written.get_by_test_id("minutes-action")).to_contain_text(ACTION)
    expect(written.get_by_test_id("minutes-action")).to_contain_text("幸福里小学")
    shot(sec, "alliance-08-minutes-circulated")
    sec.get_by_test_id("do-approve").click()
    expect(sec.get_by_text("纪要已审定。")).to_be_visible()
    sec.get_by_test_id("do-publish").click()
    expect(sec.get_by_text("纪要已发布，督办事项开始跟踪。")).to_be_visible()
    expect(sec.get_by_test_id("minutes-state")).to_have_text("已发布")
    expect(sec.get_by_test_id("minutes-action").get_by_role("link", name=ACTION)).to_be_visible()
    shot(sec, "alliance-09-minutes-published")
    assert Minutes.objects.get(meeting=meeting).state == Minutes.State.PUBLISHED
    action = ActionItem.objects.get(meeting=meeting)
    assert (action.title, action.owner_partner, action.owner, action.due_on) == (
        ACTION,
        school,
        users.partner,
        due_on,
    )

    # (d) The school's contact opens the action item from their messages and
    # posts its progress.
    partner.goto(f"{url}/me/inbox/")
    partner.get_by_role("link", name=f"您的督办事项：{TITLE}").click()
    expect(partner.locator("h1")).to_have_text(ACTION)
    expect(partner.get_by_test_id("owner-unit")).to_have_text("幸福里小学")
    expect(partner.get_by_text("尚未报告进展。")).to_be_visible()
    partner.get_by_label("办理情况").fill(PROGRESS)
    shot(partner, "alliance-10-partner-action")
    no_sideways_scroll(partner)
    partner.get_by_role("button", name="提交进展").click()
    expect(partner.get_by_text("进展已记录。")).to_be_visible()
    entry = partner.get_by_test_id("progress")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(PROGRESS)
    expect(entry).to_contain_text("孙老师")
    shot(partner, "alliance-11-partner-progress")
    assert ActionProgress.objects.get(action=action).author == users.partner

    # (e) The next meeting of the alliance carries the open item as a follow-up.
    convene(sec, url, title=NEXT_TITLE, starts_at=starts_at + dt.timedelta(days=90))
    sec.get_by_role("button", name="召集并发出邀请").click()
    expect(sec.get_by_text("会议已召集，邀请已发出。")).to_be_visible()
    expect(sec.locator("h1")).to_have_text(NEXT_TITLE)
    carried = sec.get_by_test_id("agenda-item").filter(has_text=f"督办跟进：{ACTION}")
    expect(carried).to_have_count(1)
    expect(carried.locator(".tag--follow-up")).to_have_text("跟进")
    expect(carried).to_contain_text("责任单位：幸福里小学")
    expect(carried).to_contain_text(f"最新进展：{PROGRESS}")
    shot(sec, "alliance-12-next-meeting-follow-up")
    next_meeting = JointMeeting.objects.get(title=NEXT_TITLE)
    assert AgendaItem.objects.get(meeting=next_meeting, carried_from=action).status == "accepted"

    # (f) The printed minutes, downloaded from the minutes page.
    sec.goto(f"{url}/alliance/meetings/{meeting.pk}/minutes/")
    link = sec.get_by_role("link", name="纪要 PDF")
    # The link opens the PDF inline, and this Chromium shows it in its viewer:
    # save it as the phone's "download link" does.
    link.evaluate("a => a.setAttribute('download', '')")
    with sec.expect_download() as download_info:
        link.click()
    download = download_info.value
    pdf = tmp_path / "minutes.pdf"
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.skip("poppler-utils (pdftotext, pdftoppm) not installed: PDF text not checked")
    # In drawing order (-raw) a table cell's wrapped lines stay together.
    text = subprocess.run(
        ["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    for expected in (TITLE, RESOLUTION, ACTION, "幸福里小学"):
        assert expected in flat, expected
    out = os.path.join(SHOTS or str(tmp_path), "alliance-13-minutes-pdf")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf), out],
        check=True,
    )
    assert os.path.getsize(f"{out}.png") > 0
