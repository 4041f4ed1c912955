"""The minutes workflow of joint meetings, action items and their follow-up,
and the printed minutes and agenda."""

import datetime as dt
import re
import shutil
import subprocess

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliance.access import actions_updatable_by
from alliance.action_items.board import followup_board
from alliance.action_items.reminders import overdue_actions_remind
from alliance.action_items.selectors import overdue_actions
from alliance.action_items.services import action_progress, action_to_request
from alliance.meetings.pdf import agenda_pdf
from alliance.minutes import services as svc
from alliance.minutes.pdf import minutes_pdf
from alliance.minutes.permissions import ALLOWED, may
from alliance.minutes.versions import minutes_verify_url, verify_token
from alliance.models import (
    ActionItem,
    ActionProgress,
    AgendaItem,
    Alliance,
    Invitation,
    JointMeeting,
    Minutes,
    MinutesVersion,
    Need,
    Partner,
    PartnerContact,
)
from portal.models import InboxMessage, Notification, Role
from portal.services import role_assign
from tests.factories import make_user
from volunteers.models import ServiceRequest

POPPLER = shutil.which("pdftotext") is not None
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext) is not installed")


@pytest.fixture
def al(tree, users):
    """An alliance of branch A with two partner units; a held meeting convened
    by branch A's secretary, with invitees who attended, sent a deputy,
    declined or did not answer; two accepted agenda items and a declined one."""
    school = Partner.objects.create(name="幸福里小学", kind=Partner.Kind.SCHOOL)
    PartnerContact.objects.create(partner=school, user=users.partner, name="李老师")
    hospital = Partner.objects.create(name="光明路医院", kind=Partner.Kind.OTHER)
    doctor = make_user("doctor")
    role_assign(user=doctor, role=Role.PARTNER_CONTACT)
    PartnerContact.objects.create(partner=hospital, user=doctor, name="周医生")
    alliance = Alliance.objects.create(name="幸福里党建联盟", unit=tree.grid3a)
    alliance.branches.add(tree.branch_a)
    alliance.partners.add(school, hospital)
    now = timezone.now()
    meeting = JointMeeting.objects.create(
        alliance=alliance,
        title="第二季度联席会议",
        starts_at=now - dt.timedelta(hours=3),
        ends_at=now - dt.timedelta(hours=1),
        place="社区党群服务中心",
        convener=users.secretary,
        proposals_until=now - dt.timedelta(days=2),
        status=JointMeeting.Status.HELD,
    )
    Invitation.objects.create(
        meeting=meeting, user=users.partner, partner=school, response=Invitation.Response.ATTEND,
        signed_in_at=now,
    )  # fmt: skip
    Invitation.objects.create(
        meeting=meeting, user=doctor, partner=hospital, response=Invitation.Response.DECLINE
    )
    Invitation.objects.create(
        meeting=meeting, user=users.member, response=Invitation.Response.DEPUTY, deputy_name="钱进",
        signed_in_at=now,
    )  # fmt: skip
    Invitation.objects.create(meeting=meeting, user=users.leader)  # no answer, not there
    Invitation.objects.create(meeting=meeting, user=users.volunteer, signed_in_at=now)
    parking = AgendaItem.objects.create(
        meeting=meeting, title="小区停车难问题", position=1, proposer_partner=school
    )
    reading = AgendaItem.objects.create(meeting=meeting, title="暑期青少年读书活动", position=2)
    AgendaItem.objects.create(
        meeting=meeting, title="不予讨论的议题", position=3, status=AgendaItem.Status.DECLINED
    )
    return type(
        "Alliance",
        (),
        {
            "alliance": alliance,
            "school": school,
            "hospital": hospital,
            "doctor": doctor,
            "meeting": meeting,
            "parking": parking,
            "reading": reading,
        },
    )


def _action(al, **kw):
    row = {
        "agenda_item": al.parking.pk,
        "title": "协调学校操场夜间开放停车",
        "owner_partner": al.school.pk,
        "owner": None,
        "due_on": timezone.localdate() + dt.timedelta(days=10),
        "expected_result": "新增夜间车位50个",
    }
    row.update(kw)
    return row


def _draft(al, users, actions=None):
    minutes = svc.minutes_start(meeting=al.meeting, by=users.secretary)
    svc.minutes_save(
        minutes=minutes,
        by=users.secretary,
        summary="会议听取了各单位共建工作汇报。",
        entries={
            al.parking.pk: {
                "discussion": "与会单位讨论了停车难。",
                "resolutions": "开放学校操场\n规范路边停车",
            },
            al.reading.pk: {"discussion": "讨论读书活动安排。", "resolutions": ["七月启动"]},
        },
        actions=[_action(al)] if actions is None else actions,
    )
    return minutes


def _published(al, users, actions=None):
    minutes = _draft(al, users, actions)
    svc.minutes_circulate(minutes=minutes, by=users.secretary)
    svc.minutes_approve(minutes=minutes, by=users.secretary)
    svc.minutes_publish(minutes=minutes, by=users.secretary)
    return minutes


def _in_state(al, users, state):
    minutes = _draft(al, users)
    if state == Minutes.State.DRAFT:
        return minutes
    svc.minutes_circulate(minutes=minutes, by=users.secretary)
    if state == Minutes.State.CIRCULATED:
        return minutes
    svc.minutes_approve(minutes=minutes, by=users.secretary)
    if state == Minutes.State.APPROVED:
        return minutes
    svc.minutes_publish(minutes=minutes, by=users.secretary)
    return minutes


# --- The workflow table ---------------------------------------------------------------------

PEOPLE = ("convener", "staff", "attendee", "absent_invitee", "outsider")
# (state, action) → who may; everyone else is refused.
TABLE = {
    ("draft", "save"): {"convener", "staff"},
    ("draft", "circulate"): {"convener", "staff"},
    ("draft", "comment"): set(),
    ("draft", "revise"): set(),
    ("draft", "approve"): set(),
    ("draft", "publish"): set(),
    ("circulated", "save"): set(),
    ("circulated", "circulate"): set(),
    ("circulated", "comment"): {"convener", "staff", "attendee"},
    ("circulated", "revise"): {"convener", "staff"},
    ("circulated", "approve"): {"convener"},
    ("circulated", "publish"): set(),
    ("approved", "save"): set(),
    ("approved", "circulate"): set(),
    ("approved", "comment"): set(),
    ("approved", "revise"): set(),
    ("approved", "approve"): set(),
    ("approved", "publish"): {"convener", "staff"},
    **{
        ("published", a): set()
        for a in ALLOWED[Minutes.State.DRAFT] + ("comment", "revise", "approve", "publish")
    },
}


def _do(action, minutes, user, al):
    if action == "save":
        return svc.minutes_save(minutes=minutes, by=user, summary="改")
    if action == "comment":
        return svc.minutes_comment(minutes=minutes, by=user, agenda_item=al.parking, body="同意")
    service = {
        "circulate": svc.minutes_circulate,
        "revise": svc.minutes_revise,
        "approve": svc.minutes_approve,
        "publish": svc.minutes_publish,
    }[action]
    return service(minutes=minutes, by=user)


@pytest.mark.parametrize("state", ["draft", "circulated", "approved", "published"])
def test_each_state_allows_exactly_its_actions_to_exactly_its_people(al, users, state):
    people = {
        "convener": users.secretary,
        "staff": users.coordinator,  # runs the alliance, did not convene
        "attendee": users.partner,
        "absent_invitee": users.leader,
        "outsider": users.secretary_b,
    }
    minutes = _in_state(al, users, state)
    wrong = []
    for action in ("save", "circulate", "comment", "revise", "approve", "publish"):
        for who in PEOPLE:
            sid = transaction.savepoint()
            fresh = Minutes.objects.select_related("meeting").get(pk=minutes.pk)
            offered = may(people[who], fresh, action)
            try:
                _do(action, fresh, people[who], al)
                allowed = True
            except (ValidationError, PermissionDenied):
                allowed = False
            transaction.savepoint_rollback(sid)
            assert offered == allowed, (state, action, who)
            if allowed != (who in TABLE[(state, action)]):
                wrong.append((state, action, who, "allowed" if allowed else "refused"))
    assert wrong == []


def test_only_the_convener_approves_and_is_told_so(al, users):
    minutes = _in_state(al, users, "circulated")
    with pytest.raises(PermissionDenied) as refused:
        svc.minutes_approve(minutes=minutes, by=users.coordinator)
    assert "只有会议召集人可以审定纪要" in str(refused.value)
    svc.minutes_approve(minutes=minutes, by=users.secretary)
    minutes.refresh_from_db()
    assert minutes.state == "approved"
    assert minutes.approved_by == users.secretary


def test_starting_makes_an_empty_entry_per_accepted_agenda_item(al, users):
    minutes = svc.minutes_start(meeting=al.meeting, by=users.secretary)
    titles = [e.agenda_item.title for e in minutes.entries.all()]
    assert titles == ["小区停车难问题", "暑期青少年读书活动"]
    assert svc.minutes_start(meeting=al.meeting, by=users.secretary) == minutes
    with pytest.raises(PermissionDenied):
        svc.minutes_start(meeting=al.meeting, by=users.partner)


# --- Saving, versions and comments ----------------------------------------------------------


def test_action_rows_are_checked_and_nothing_is_saved_when_one_is_wrong(al, users):
    minutes = svc.minutes_start(meeting=al.meeting, by=users.secretary)
    bad = [
        _action(al, key="a"),
        _action(al, key="b", owner_partner=None),
        _action(al, key="c", due_on=timezone.localdate() - dt.timedelta(days=1)),
        _action(al, key="d", owner=users.secretary_b.pk),
    ]
    with pytest.raises(ValidationError) as refused:
        svc.minutes_save(minutes=minutes, by=users.secretary, summary="新", actions=bad)
    errors = refused.value.message_dict
    assert set(errors) == {"b", "c", "d"}
    assert errors["b"] == ["请选择责任单位。"]
    assert errors["c"] == ["完成时限不能早于今天。"]
    assert ActionItem.objects.count() == 0
    minutes.refresh_from_db()
    assert minutes.summary == "" and minutes.version == 1


def test_every_save_and_change_of_state_is_a_version_with_its_content(al, users):
    minutes = _draft(al, users)  # v1 start, v2 save
    svc.minutes_save(
        minutes=minutes,
        by=users.secretary,
        summary="第二稿概要",
        entries={al.parking.pk: {"discussion": "第二稿讨论", "resolutions": "只开放操场"}},
    )  # v3
    svc.minutes_circulate(minutes=minutes, by=users.secretary)  # v4
    versions = list(MinutesVersion.objects.filter(minutes=minutes).order_by("number"))
    assert [(v.number, v.state) for v in versions] == [
        (1, "draft"),
        (2, "draft"),
        (3, "draft"),
        (4, "circulated"),
    ]
    second = versions[1].content
    assert second["summary"] == "会议听取了各单位共建工作汇报。"
    assert second["items"][0]["resolutions"] == ["开放学校操场", "规范路边停车"]
    assert second["items"][0]["actions"][0]["title"] == "协调学校操场夜间开放停车"
    assert second["items"][0]["actions"][0]["owner_unit"] == "幸福里小学"
    assert versions[2].content["items"][0]["resolutions"] == ["只开放操场"]


def test_versions_are_shown_and_each_is_viewable(client, al, users):
    minutes = _draft(al, users)
    svc.minutes_save(
        minutes=minutes,
        by=users.secretary,
        entries={al.parking.pk: {"discussion": "第二稿讨论", "resolutions": "只开放操场"}},
    )
    client.force_login(users.secretary)
    page = client.get(f"/alliance/meetings/{al.meeting.pk}/minutes/").content.decode()
    assert "第 3 版" in page and "第 2 版" in page
    old = client.get(f"/alliance/meetings/{al.meeting.pk}/minutes/versions/2/").content.decode()
    assert "规范路边停车" in old and "只开放操场" not in old
    new = client.get(f"/alliance/meetings/{al.meeting.pk}/minutes/versions/3/").content.decode()
    assert "只开放操场" in new and "规范路边停车" not in new


def test_comments_are_kept_with_their_version_and_seen_while_revising(client, al, users):
    minutes = _in_state(al, users, "circulated")
    comment = svc.minutes_comment(
        minutes=minutes, by=users.partner, agenda_item=al.parking, body="建议增加错峰停车"
    )
    assert comment.version == minutes.version == 3
    with pytest.raises(PermissionDenied):  # invited, but did not come
        svc.minutes_comment(minutes=minutes, by=users.leader, agenda_item=al.parking, body="我也说")
    client.force_login(users.partner)
    url = f"/alliance/meetings/{al.meeting.pk}/minutes/"
    response = client.post(
        url + "comment/", {"agenda_item": al.reading.pk, "body": "建议邀请作家讲座"}
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "建议增加错峰停车" in page and "建议邀请作家讲座" in page and "针对第 3 版" in page

    svc.minutes_revise(minutes=minutes, by=users.secretary)
    assert minutes.state == "draft" and minutes.version == 4
    assert "纪要正在修改" in client.get(url).content.decode()  # the partner waits
    client.force_login(users.secretary)
    editor = client.get(url).content.decode()
    assert "建议增加错峰停车" in editor and "保存草稿" in editor
    circulated = client.get(url + "versions/3/").content.decode()
    assert "建议增加错峰停车" in circulated


def test_the_editor_saves_discussion_resolutions_and_action_rows(client, al, users):
    minutes = svc.minutes_start(meeting=al.meeting, by=users.secretary)
    client.force_login(users.secretary)
    url = f"/alliance/meetings/{al.meeting.pk}/minutes/"
    due = (timezone.localdate() + dt.timedelta(days=14)).isoformat()
    response = client.post(
        url,
        {
            "summary": "概要",
            f"discussion-{al.parking.pk}": "讨论停车",
            f"resolutions-{al.parking.pk}": "决议一\n决议二",
            f"new-{al.parking.pk}-0-title": "摸排车位",
            f"new-{al.parking.pk}-0-unit": f"b{al.meeting.alliance.branches.get().pk}",
            f"new-{al.parking.pk}-0-owner": str(users.secretary.pk),
            f"new-{al.parking.pk}-0-due_on": due,
            f"new-{al.parking.pk}-0-expected_result": "形成车位清单",
            f"new-{al.reading.pk}-0-title": "没有单位的事项",
            f"new-{al.reading.pk}-0-due_on": due,
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "请选择责任单位。" in page and "摸排车位" in page  # typed values kept
    assert ActionItem.objects.count() == 0

    response = client.post(
        url,
        {
            "summary": "概要",
            f"discussion-{al.parking.pk}": "讨论停车",
            f"resolutions-{al.parking.pk}": "决议一\n决议二",
            f"new-{al.parking.pk}-0-title": "摸排车位",
            f"new-{al.parking.pk}-0-unit": f"p{al.school.pk}",
            f"new-{al.parking.pk}-0-due_on": due,
        },
    )
    assert response.status_code == 302
    action = ActionItem.objects.get()
    assert (action.title, action.owner_partner, action.agenda_item) == (
        "摸排车位",
        al.school,
        al.parking,
    )
    minutes.refresh_from_db()
    assert minutes.entries.get(agenda_item=al.parking).resolutions == "决议一\n决议二"
    response = client.post(
        url,
        {
            "summary": "概要",
            f"action-{action.pk}-title": "摸排车位",
            f"action-{action.pk}-unit": f"p{al.school.pk}",
            f"action-{action.pk}-due_on": due,
            f"action-{action.pk}-delete": "1",
        },
    )
    assert response.status_code == 302 and ActionItem.objects.count() == 0


# --- Who sees the minutes -------------------------------------------------------------------


def test_partners_see_minutes_only_once_circulated_and_drafts_are_staff_only(client, al, users):
    minutes = _draft(al, users)
    url = f"/alliance/meetings/{al.meeting.pk}/minutes/"
    client.force_login(users.partner)
    page = client.get(url).content.decode()
    assert "纪要尚未发出" in page and "开放学校操场" not in page
    assert client.get(url + "versions/2/").status_code == 404
    assert client.get(f"/alliance/meetings/{al.meeting.pk}/minutes.pdf").status_code == 404

    svc.minutes_circulate(minutes=minutes, by=users.secretary)
    page = client.get(url).content.decode()
    assert "开放学校操场" in page and "征求意见中" in page
    assert "保存草稿" not in page and "审定" not in page
    assert client.get(url + "versions/2/").status_code == 404  # a draft version
    assert client.get(url + "versions/3/").status_code == 200

    client.force_login(users.secretary_b)  # neither invited nor running it
    assert client.get(url).status_code == 404


def test_the_state_bar_offers_the_convener_approval(client, al, users):
    _in_state(al, users, "circulated")
    client.force_login(users.secretary)
    page = client.get(f"/alliance/meetings/{al.meeting.pk}/minutes/").content.decode()
    assert 'data-testid="do-approve"' in page and 'data-testid="do-revise"' in page
    client.force_login(users.coordinator)
    page = client.get(f"/alliance/meetings/{al.meeting.pk}/minutes/").content.decode()
    assert 'data-testid="do-approve"' not in page and 'data-testid="do-revise"' in page
    response = client.post(f"/alliance/meetings/{al.meeting.pk}/minutes/state/approve/")
    assert response.status_code == 403
    assert Minutes.objects.get().state == "circulated"


# --- Publishing -----------------------------------------------------------------------------


def test_circulating_tells_the_attendees(al, users, django_capture_on_commit_callbacks):
    minutes = _draft(al, users)
    with django_capture_on_commit_callbacks(execute=True):
        svc.minutes_circulate(minutes=minutes, by=users.secretary)
    told = set(
        InboxMessage.objects.filter(subject__startswith="纪要征求意见").values_list(
            "user__username", flat=True
        )
    )
    # attended, sent a deputy, signed in — not the one who declined nor the silent one
    assert told == {"partner", "member", "volunteer"}


def test_publishing_makes_items_live_and_tells_owners_and_invitees(
    al, users, django_capture_on_commit_callbacks
):
    minutes = _draft(
        al,
        users,
        actions=[
            _action(al),
            _action(
                al,
                title="排查楼道堆物",
                owner_partner=None,
                owner_branch=al.alliance.branches.get().pk,
                owner=users.leader.pk,
            ),
        ],
    )
    svc.minutes_circulate(minutes=minutes, by=users.secretary)
    svc.minutes_approve(minutes=minutes, by=users.secretary)
    action = ActionItem.objects.get(title="协调学校操场夜间开放停车")
    with pytest.raises(ValidationError, match="尚未生效"):
        action_progress(action=action, by=users.partner, note="已联系")
    assert not followup_board(user=users.partner)["open"].exists()

    with django_capture_on_commit_callbacks(execute=True):
        svc.minutes_publish(minutes=minutes, by=users.secretary)
    assert minutes.state == "published" and minutes.published_at is not None
    assert list(followup_board(user=users.partner)["open"]) == [action]
    inbox = InboxMessage.objects.filter(subject="您的督办事项：第二季度联席会议")
    owners = {m.user.username: m.body for m in inbox}
    assert set(owners) == {
        "partner",
        "leader",
        "secretary",
    }  # unit contact, person, branch secretary
    assert (
        "协调学校操场夜间开放停车" in owners["partner"] and "排查楼道堆物" not in owners["partner"]
    )
    assert "排查楼道堆物" in owners["leader"]
    published = InboxMessage.objects.filter(subject="纪要已发布：第二季度联席会议")
    assert published.count() == al.meeting.invitations.count() == 5


# --- Action items ---------------------------------------------------------------------------


def test_progress_only_by_the_right_people(client, al, users):
    _published(al, users)
    action = ActionItem.objects.get()
    with pytest.raises(PermissionDenied, match="只能更新本单位"):
        action_progress(action=action, by=al.doctor, note="我来更新")  # another unit
    with pytest.raises(PermissionDenied):
        action_progress(action=action, by=users.secretary_b, note="不是我们的")
    action_progress(action=action, by=users.partner, note="已与学校沟通")
    assert ActionProgress.objects.count() == 1

    client.force_login(al.doctor)  # invited: reads the item, may not update it
    page = client.get(f"/alliance/actions/{action.pk}/").content.decode()
    assert "协调学校操场夜间开放停车" in page and "报告进展" not in page
    assert client.post(f"/alliance/actions/{action.pk}/", {"note": "我来更新"}).status_code == 403
    client.force_login(users.secretary_b)
    assert client.get(f"/alliance/actions/{action.pk}/").status_code == 404
    client.force_login(users.partner)
    upload = SimpleUploadedFile("协议.pdf", b"%PDF-1.4 evidence", content_type="application/pdf")
    response = client.post(
        f"/alliance/actions/{action.pk}/",
        {"note": "操场已开放，签订停车协议", "evidence": upload, "done": "on"},
    )
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "done" and action.done_at is not None
    page = client.get(f"/alliance/actions/{action.pk}/").content.decode()
    assert "操场已开放，签订停车协议" in page and "佐证材料" in page and "完成" in page
    evidence = ActionProgress.objects.exclude(evidence="").get()
    assert client.get(f"/alliance/actions/progress/{evidence.pk}/evidence/").status_code == 200
    client.force_login(users.secretary_b)
    assert client.get(f"/alliance/actions/progress/{evidence.pk}/evidence/").status_code == 404
    with pytest.raises(ValidationError, match="已关闭"):
        action_progress(action=action, by=users.partner, note="再更新")


def test_an_action_item_becomes_a_service_request(client, al, users):
    _published(
        al,
        users,
        actions=[_action(al, owner_partner=None, owner_branch=al.alliance.branches.get().pk)],
    )
    action = ActionItem.objects.get()
    start = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(PermissionDenied):
        action_to_request(action=action, by=users.partner, window_start=start, window_end=start)
    request = action_to_request(
        action=action,
        by=users.secretary,
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
    )
    action.refresh_from_db()
    assert action.service_request == request
    assert request.source == ServiceRequest.Source.ACTION_ITEM
    grid = al.alliance.branches.get().get_parent()
    assert (request.title, request.grid_id) == ("协调学校操场夜间开放停车", grid.pk)
    client.force_login(users.secretary)
    page = client.get(f"/alliance/actions/{action.pk}/").content.decode()
    assert "已转为服务需求“协调学校操场夜间开放停车”" in page
    with pytest.raises(ValidationError, match="已转为服务需求"):
        action_to_request(action=action, by=users.secretary, window_start=start, window_end=start)


def test_an_action_item_becomes_a_need_with_a_project(client, al, users):
    _published(al, users)
    action = ActionItem.objects.get()
    client.force_login(users.secretary)
    response = client.post(
        f"/alliance/actions/{action.pk}/project/", {"need_title": "学校操场共享停车"}
    )
    assert response.status_code == 302
    action.refresh_from_db()
    need = Need.objects.get()
    assert (need.title, need.kind, need.branch_id) == (
        "学校操场共享停车",
        "other",
        al.alliance.branches.get().pk,
    )
    assert action.project.need == need and action.project.title == "学校操场共享停车"
    page = client.get(f"/alliance/actions/{action.pk}/").content.decode()
    assert "学校操场共享停车" in page
    client.force_login(users.partner)  # a partner may update, not convert
    response = client.post(f"/alliance/actions/{action.pk}/project/", {"need_title": "再来"})
    assert response.status_code == 403


# --- Overdue and the board ------------------------------------------------------------------


def test_overdue_items_are_reminded_once_a_day(al, users, django_capture_on_commit_callbacks):
    start = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        _published(
            al,
            users,
            actions=[
                _action(al, due_on=start.date() + dt.timedelta(days=2), owner=users.partner.pk),
                _action(al, title="按时办结的事项", due_on=start.date() + dt.timedelta(days=2)),
            ],
        )
    done = ActionItem.objects.get(title="按时办结的事项")
    action_progress(action=done, by=users.partner, note="已完成", done=True)
    late = ActionItem.objects.get(title="协调学校操场夜间开放停车")
    Notification.objects.all().delete()

    with time_machine.travel(start + dt.timedelta(days=2), tick=False):
        assert list(overdue_actions()) == []
        assert overdue_actions_remind() == 0
    with time_machine.travel(start + dt.timedelta(days=3), tick=False):
        assert list(overdue_actions()) == [late]
        with django_capture_on_commit_callbacks(execute=True):
            assert overdue_actions_remind() == 1
        assert overdue_actions_remind() == 0  # later the same day: nothing more
        late.refresh_from_db()
        assert late.reminded_on == timezone.localdate()
    with time_machine.travel(start + dt.timedelta(days=4), tick=False):
        assert overdue_actions_remind() == 1
    messages = InboxMessage.objects.filter(subject="督办事项已逾期：协调学校操场夜间开放停车")
    assert [m.user for m in messages] == [users.partner]
    assert "已逾期 1 天" in messages[0].body
    assert Notification.objects.filter(subject__startswith="督办事项已逾期").count() == 2


def test_the_due_work_sends_the_overdue_reminders(al, users):
    from portal.scheduling import run_due_work

    start = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        _published(al, users, actions=[_action(al, due_on=start.date())])
    with time_machine.travel(start + dt.timedelta(days=1), tick=False):
        run_due_work.call()
        assert ActionItem.objects.get().reminded_on == timezone.localdate()


def _board_meeting(al, users, start):
    """Published minutes with items due in 1, 5 and 20 days for the school and
    one for the hospital, and one done."""
    day = start.date()
    _published(
        al,
        users,
        actions=[
            _action(al, title="一天后到期", due_on=day + dt.timedelta(days=1)),
            _action(al, title="五天后到期", due_on=day + dt.timedelta(days=5)),
            _action(al, title="二十天后到期", due_on=day + dt.timedelta(days=20)),
            _action(
                al,
                title="医院的事项",
                owner_partner=al.hospital.pk,
                due_on=day + dt.timedelta(days=20),
            ),
            _action(al, title="已办结的事项", due_on=day + dt.timedelta(days=20)),
        ],
    )
    action_progress(
        action=ActionItem.objects.get(title="已办结的事项"),
        by=users.partner,
        note="完成",
        done=True,
    )


def test_the_board_groups_items_by_due_date_and_scope(client, al, users):
    start = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        _board_meeting(al, users, start)
    with time_machine.travel(start + dt.timedelta(days=3), tick=False):
        titles = lambda board: {k: [a.title for a in qs] for k, qs in board.items()}  # noqa: E731
        assert titles(followup_board(user=users.secretary)) == {
            "overdue": ["一天后到期"],
            "due_soon": ["五天后到期"],
            "open": ["医院的事项", "二十天后到期"],  # by owner unit: 光明路医院, 幸福里小学
            "done": ["已办结的事项"],
        }
        for user in (users.partner, users.secretary, users.coordinator, al.doctor, users.leader):
            on_board = {a.pk for qs in followup_board(user=user).values() for a in qs}
            updatable = {a.pk for a in actions_updatable_by(user) if a.status == "open"}
            assert updatable <= on_board, user
        partner = titles(followup_board(user=users.partner))
        assert "医院的事项" not in partner["open"] and "二十天后到期" in partner["open"]
        assert titles(followup_board(user=users.secretary_b)) == {
            "overdue": [],
            "due_soon": [],
            "open": [],
            "done": [],
        }
        client.force_login(users.partner)
        page = client.get("/alliance/followup/").content.decode()
        assert "督办台账" in page and "逾期事项" in page and "7 天内到期" in page
        assert "一天后到期" in page and "幸福里小学" in page and "医院的事项" not in page
    with time_machine.travel(start + dt.timedelta(days=40), tick=False):
        assert titles(followup_board(user=users.secretary))["done"] == []


def test_the_board_pages_each_group_with_a_fixed_number_of_queries(client, al, users):
    start = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        _published(al, users, actions=[_action(al, due_on=start.date() + dt.timedelta(days=1))])
    template = ActionItem.objects.get()

    def board_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/alliance/followup/")
        assert response.status_code == 200
        return len(queries), response.content.decode()

    with time_machine.travel(start + dt.timedelta(days=3), tick=False):
        client.force_login(users.secretary)
        client.get("/me/")  # a session's first request records it (SessionIdleMiddleware)
        few, _page = board_queries()
        ActionItem.objects.bulk_create(
            ActionItem(
                meeting=template.meeting,
                agenda_item=template.agenda_item,
                title=f"逾期事项{n:03d}",
                owner_partner=al.hospital if n % 2 else al.school,
                due_on=template.due_on,
            )
            for n in range(60)
        )
        many, page = board_queries()
        assert many == few
        assert page.count('data-testid="board-item"') == 50
        assert "第 1 页，共 2 页" in page
        second = client.get("/alliance/followup/?overdue_page=2").content.decode()
        assert second.count('data-testid="board-item"') == 11


# --- Printed minutes and agenda -------------------------------------------------------------


def _pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@needs_poppler
def test_the_minutes_pdf_carries_title_resolutions_and_action_table(al, users, tmp_path):
    minutes = _published(al, users)
    content = minutes_pdf(minutes, minutes_verify_url(minutes))
    text = _pdf_text(content, tmp_path)
    assert "幸福里党建联盟联席会议纪要" in text
    assert "第二季度联席会议" in text and "社区党群服务中心" in text
    assert "开放学校操场" in text and "规范路边停车" in text
    for header in ("序号", "督办事项", "责任单位", "责任人", "完成时限", "预期成果"):
        assert header in text
    assert "协调学校操场夜间开放停车" in text and "新增夜间车位50个" in text
    assert "李老师（幸福里小学）" in text  # present
    assert "委托钱进出席" in text  # deputy
    assert "周医生（光明路医院）" in text  # absent
    assert re.search(r"第\s*1\s*页\s*/\s*共", text)


@needs_poppler
def test_a_twenty_item_minutes_pdf_runs_over_several_pages(al, users, tmp_path):
    items = [
        AgendaItem.objects.create(meeting=al.meeting, title=f"议题{n:02d}", position=10 + n)
        for n in range(18)
    ]
    minutes = svc.minutes_start(meeting=al.meeting, by=users.secretary)
    text = "与会单位围绕该议题进行了充分讨论，提出了具体的工作措施和分工安排。" * 4
    svc.minutes_save(
        minutes=minutes,
        by=users.secretary,
        entries={
            item.pk: {"discussion": text, "resolutions": "决议甲\n决议乙\n决议丙"}
            for item in [al.parking, al.reading, *items]
        },
        actions=[
            _action(al, agenda_item=item.pk, title=f"{item.title}的督办事项") for item in items
        ],
    )
    assert minutes.entries.count() == 20
    extracted = _pdf_text(minutes_pdf(minutes, minutes_verify_url(minutes)), tmp_path)
    pages = int(re.search(r"第\s*1\s*页\s*/\s*共\s*(\d+)\s*页", extracted).group(1))
    assert pages >= 3
    assert "议题17的督办事项" in extracted and "二十、议题17" in extracted


@needs_poppler
def test_the_agenda_pdf_lists_items_and_a_sign_in_sheet(al, users, tmp_path):
    text = _pdf_text(agenda_pdf(al.meeting), tmp_path)
    assert "第二季度联席会议议程" in text
    assert "小区停车难问题" in text and "暑期青少年读书活动" in text
    assert "不予讨论的议题" not in text
    assert "签到表" in text and "李老师" in text


def test_the_pdfs_download_from_the_site(client, al, users):
    _published(al, users)
    client.force_login(users.partner)
    response = client.get(f"/alliance/meetings/{al.meeting.pk}/minutes.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    response = client.get(f"/alliance/meetings/{al.meeting.pk}/agenda.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_the_verification_page_confirms_the_printed_version(client, al, users):
    minutes = _published(al, users)
    url = minutes_verify_url(minutes)
    path = url.split("://", 1)[-1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200
    text = page.content.decode()
    assert "真实有效" in text and "第二季度联席会议" in text and str(minutes.version) in text
    assert "开放学校操场" not in text  # the content is not public
    forged = verify_token(minutes, 99)
    assert client.get(f"/alliance/minutes/verify/{minutes.pk}/{forged}/").status_code == 404
    assert client.get(f"/alliance/minutes/verify/{minutes.pk}/bad-token/").status_code == 404
    other = verify_token(Minutes(pk=minutes.pk + 1), minutes.version)
    assert client.get(f"/alliance/minutes/verify/{minutes.pk}/{other}/").status_code == 404


def test_publishing_carries_the_items_into_a_meeting_already_convened(al, users):
    later = JointMeeting.objects.create(
        alliance=al.alliance,
        title="第三季度联席会议",
        starts_at=timezone.now() + dt.timedelta(days=30),
        ends_at=timezone.now() + dt.timedelta(days=30, hours=2),
        place="社区党群服务中心",
        convener=users.secretary,
        proposals_until=timezone.now() + dt.timedelta(days=25),
    )
    _draft(al, users)
    assert not later.agenda.exists()  # a draft's items do not count yet
    minutes = JointMeeting.objects.get(pk=al.meeting.pk).minutes
    svc.minutes_circulate(minutes=minutes, by=users.secretary)
    svc.minutes_approve(minutes=minutes, by=users.secretary)
    svc.minutes_publish(minutes=minutes, by=users.secretary)
    (carried,) = later.agenda.all()
    assert carried.carried_from.title == "协调学校操场夜间开放停车"
    assert "协调学校操场夜间开放停车" in carried.title


def test_meetings_minutes_and_action_items_are_found_by_the_alliance_staff(al, users):
    import io

    from django.core.management import call_command
    from django.utils.html import strip_tags

    from search.query import search

    _published(al, users)
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())

    def found(user, text, doc_type):
        hits = search(user=user, text=text, doc_types=(doc_type,)).results.hits
        return [strip_tags(h.title) for h in hits]

    assert found(users.secretary, "联席会议", "meeting_joint") == ["第二季度联席会议"]
    assert found(users.secretary, "操场", "minutes") == ["纪要：第二季度联席会议"]
    assert found(users.secretary, "停车", "action") == ["协调学校操场夜间开放停车"]
    for outsider in (users.secretary_b, users.volunteer):
        assert not found(outsider, "联席会议", "meeting_joint")
        assert not found(outsider, "操场", "minutes")


def test_the_sign_in_sheet_decides_who_is_printed_as_present(al, users):
    from alliance.minutes.pdf import attendance_lists

    Invitation.objects.filter(meeting=al.meeting, user=users.leader).update(
        response=Invitation.Response.ATTEND
    )  # said yes, never signed in
    people = attendance_lists(al.meeting)
    assert not any("leader" in name for name in people["present"])
    assert any("leader" in name for name in people["absent"])
    Invitation.objects.filter(meeting=al.meeting).update(signed_in_at=None)
    # No sign-in taken at all: the answers decide.
    assert any("leader" in name for name in attendance_lists(al.meeting)["present"])
