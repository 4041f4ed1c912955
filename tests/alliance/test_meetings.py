"""Joint meetings: convening with invitations, carry-over of open action items,
agenda proposals and their deadline, answers, sign-in with the rotating code,
quorum, the .ics invitation and who sees which meeting."""

import datetime as dt
import time

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from alliance.meetings.agenda import agenda_carry_over, agenda_propose
from alliance.meetings.attendance import (
    attendance_counts,
    invitation_rsvp,
    meeting_sign_in,
    meeting_sign_in_record,
)
from alliance.meetings.services import meeting_cancel, meeting_convene, meeting_reschedule
from alliance.models import (
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
from portal import codes
from portal.models import InboxMessage, Role
from portal.services import role_assign
from tests.factories import NOW, make_user


@pytest.fixture
def alliance(tree, users):
    school = Partner.objects.create(name="幸福里小学", kind=Partner.Kind.SCHOOL)
    PartnerContact.objects.create(partner=school, user=users.partner, name="孙老师")
    shop = Partner.objects.create(name="光明超市", kind=Partner.Kind.ENTERPRISE)
    shop_user = make_user("shop_contact", email="shop@example.com")
    role_assign(user=shop_user, role=Role.PARTNER_CONTACT)
    PartnerContact.objects.create(partner=shop, user=shop_user, name="钱经理")
    alliance = Alliance.objects.create(name="幸福里共建联盟", unit=tree.branch_a)
    alliance.branches.add(tree.branch_a)
    alliance.partners.add(school, shop)
    alliance.school, alliance.shop, alliance.shop_user = school, shop, shop_user
    return alliance


def convene(alliance, by, *, start_in=dt.timedelta(days=3), **kwargs):
    starts_at = timezone.now().replace(microsecond=0) + start_in
    fields = {
        "title": "第二季度联席会议",
        "starts_at": starts_at,
        "ends_at": starts_at + dt.timedelta(hours=2),
        "place": "社区党群服务中心",
        "proposals_until": starts_at - dt.timedelta(days=1),
        "partners": [alliance.school],
    }
    fields.update(kwargs)
    return meeting_convene(alliance=alliance, by=by, **fields)


def past_meeting(alliance, convener, *, days_ago=30, title="第一季度联席会议"):
    starts_at = NOW - dt.timedelta(days=days_ago)
    return JointMeeting.objects.create(
        alliance=alliance,
        title=title,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=2),
        place="社区党群服务中心",
        convener=convener,
        proposals_until=starts_at - dt.timedelta(days=1),
        status=JointMeeting.Status.HELD,
    )


def action(meeting, title, *, status=ActionItem.Status.OPEN, **kwargs):
    """An action item of ``meeting`` whose minutes are published (it counts)."""
    Minutes.objects.get_or_create(meeting=meeting, defaults={"state": Minutes.State.PUBLISHED})
    item = AgendaItem.objects.create(meeting=meeting, title=f"议题：{title}")
    return ActionItem.objects.create(
        meeting=meeting,
        agenda_item=item,
        title=title,
        due_on=dt.date(2026, 6, 30),
        status=status,
        **kwargs,
    )


# --- Convening --------------------------------------------------------------------------------


def test_convening_invites_the_partner_contacts_and_members_and_tells_them(
    alliance, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = convene(alliance, users.secretary, members=[users.member])
    invited = set(meeting.invitations.values_list("user__username", "partner__name"))
    assert invited == {("partner", "幸福里小学"), ("member", None)}
    inbox = InboxMessage.objects.get(user=users.partner)
    assert inbox.subject == "会议通知：第二季度联席会议"
    assert "社区党群服务中心" in inbox.body
    assert f"/alliance/meetings/{meeting.pk}/invite.ics" in inbox.body
    assert InboxMessage.objects.filter(user=users.member).exists()
    assert not InboxMessage.objects.filter(user=alliance.shop_user).exists()  # not invited


def test_invitation_email_carries_the_calendar_link(
    alliance, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = convene(alliance, users.secretary, partners=[alliance.shop])
    (email,) = mail.outbox
    assert email.to == ["shop@example.com"]
    assert f"/alliance/meetings/{meeting.pk}/invite.ics" in email.body


def test_staff_of_another_branch_cannot_convene_for_the_alliance(alliance, users, client):
    with pytest.raises(PermissionDenied):
        convene(alliance, users.secretary_b)
    assert not JointMeeting.objects.exists()
    client.force_login(users.secretary_b)
    assert client.get("/alliance/meetings/new/").status_code == 403


def test_convening_checks_times_and_quorum(alliance, users):
    with pytest.raises(ValidationError) as error:
        convene(alliance, users.secretary, start_in=-dt.timedelta(hours=1))
    assert "会议开始时间须在将来" in str(error.value)
    starts_at = timezone.now() + dt.timedelta(days=3)
    with pytest.raises(ValidationError) as error:
        convene(alliance, users.secretary, proposals_until=starts_at + dt.timedelta(days=1))
    assert "议题征集须在会议开始前截止" in str(error.value)
    with pytest.raises(ValidationError) as error:
        convene(alliance, users.secretary, quorum=5)
    assert "法定人数不能多于受邀的 1 人" in str(error.value)
    assert not JointMeeting.objects.exists()


def test_convene_page_limits_alliances_and_invitees(alliance, users, client, tree):
    other = Alliance.objects.create(name="光明路共建联盟", unit=tree.branch_b)
    client.force_login(users.secretary)
    page = client.get("/alliance/meetings/new/").content.decode()
    assert "幸福里小学" in page and "光明超市" in page  # partner units as checkboxes
    assert "赵敏 · 幸福里网格党支部" in page  # members with accounts of the branch
    assert other.name not in page
    starts = timezone.localtime() + dt.timedelta(days=5)
    response = client.post(
        "/alliance/meetings/new/",
        {
            "alliance": alliance.pk,
            "title": "共建项目推进会",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "place": "幸福里社区会议室",
            "proposals_until": (starts - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "quorum": "1",
            "partners": [alliance.shop.pk],
            "members": [users.member.pk],
            "agenda": "通报上季度工作\n研究暑期托管项目",
        },
    )
    meeting = JointMeeting.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{meeting.pk}/")
    assert meeting.invitations.count() == 2
    assert list(meeting.agenda.values_list("title", flat=True)) == [
        "通报上季度工作",
        "研究暑期托管项目",
    ]


# --- Carry-over of open action items ----------------------------------------------------------


def test_open_action_items_are_carried_over_once(alliance, users):
    earlier = past_meeting(alliance, users.secretary)
    open_item = action(
        earlier, "修缮小学门前人行道", owner_partner=alliance.school, owner=users.partner
    )
    ActionProgress.objects.create(action=open_item, author=users.partner, note="已完成施工招标")
    action(earlier, "暑期托管", owner_branch=alliance.branches.get(), status="done")
    action(earlier, "图书角", owner_partner=alliance.shop, status="dropped")

    meeting = convene(alliance, users.secretary)
    (carried,) = meeting.agenda.filter(carried_from__isnull=False)
    assert carried.carried_from == open_item
    assert carried.title == "督办跟进：修缮小学门前人行道"
    assert carried.status == AgendaItem.Status.ACCEPTED
    assert "幸福里小学" in carried.background and "孙老师" in carried.background
    assert "2026-06-30" in carried.background
    assert "已完成施工招标" in carried.background

    agenda_carry_over(meeting=meeting)  # again: nothing doubles
    meeting_reschedule(
        meeting=meeting,
        by=users.secretary,
        starts_at=meeting.starts_at + dt.timedelta(days=1),
        ends_at=meeting.ends_at + dt.timedelta(days=1),
    )
    assert meeting.agenda.filter(carried_from=open_item).count() == 1

    # A meeting convened later follows it up too, while it stays open.
    later = convene(alliance, users.secretary, start_in=dt.timedelta(days=10))
    assert later.agenda.filter(carried_from=open_item).count() == 1


def test_the_meeting_page_marks_carried_items(alliance, users, client):
    action(past_meeting(alliance, users.secretary), "修缮人行道", owner_partner=alliance.school)
    meeting = convene(alliance, users.secretary, agenda=["研究暑期托管项目"])
    client.force_login(users.partner)
    page = client.get(f"/alliance/meetings/{meeting.pk}/").content.decode()
    assert "跟进</span> 督办跟进：修缮人行道" in page
    assert page.index("督办跟进：修缮人行道") < page.index("研究暑期托管项目")


# --- Agenda proposals -------------------------------------------------------------------------


def test_invitees_propose_until_the_deadline(alliance, users):
    meeting = convene(alliance, users.secretary)
    item = agenda_propose(
        meeting=meeting,
        by=users.partner,
        title="开放学校操场",
        background="周末向居民开放",
        minutes_allotted=20,
    )
    assert item.status == AgendaItem.Status.PROPOSED
    assert item.proposer_partner == alliance.school
    with time_machine.travel(meeting.proposals_until + dt.timedelta(minutes=1)):
        with pytest.raises(ValidationError) as error:
            agenda_propose(
                meeting=meeting, by=users.partner, title="晚到的议题", background="",
                minutes_allotted=10,
            )  # fmt: skip
    assert "议题征集已于" in str(error.value) and "截止" in str(error.value)
    assert not meeting.agenda.filter(title="晚到的议题").exists()


def test_only_invitees_propose(alliance, users):
    meeting = convene(alliance, users.secretary)
    for outsider in (alliance.shop_user, users.volunteer):
        with pytest.raises(PermissionDenied):
            agenda_propose(
                meeting=meeting, by=outsider, title="不该有的议题", background="",
                minutes_allotted=10,
            )  # fmt: skip
    assert not meeting.agenda.exists()


def test_the_convener_accepts_and_orders_proposals(
    alliance, users, client, django_capture_on_commit_callbacks
):
    meeting = convene(alliance, users.secretary, agenda=["通报工作"])
    item = agenda_propose(
        meeting=meeting, by=users.partner, title="开放学校操场", background="",
        minutes_allotted=20,
    )  # fmt: skip
    client.force_login(users.secretary)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/alliance/meetings/{meeting.pk}/agenda/{item.pk}/decide/", {"accept": "1"})
    client.post(f"/alliance/meetings/{meeting.pk}/agenda/{item.pk}/move/", {"dir": "up"})
    titles = list(
        meeting.agenda.filter(status="accepted")
        .order_by("position")
        .values_list("title", flat=True)
    )
    assert titles == ["开放学校操场", "通报工作"]
    assert InboxMessage.objects.filter(
        user=users.partner, subject="您的议题已列入议程：开放学校操场"
    ).exists()


def test_partner_proposes_on_the_page_and_sees_the_deadline(alliance, users, client):
    meeting = convene(alliance, users.secretary)
    client.force_login(users.partner)
    url = f"/alliance/meetings/{meeting.pk}/"
    assert "提出议题" in client.get(url).content.decode()
    client.post(f"{url}propose/", {"title": "开放学校操场", "minutes_allotted": "20"})
    page = client.get(url).content.decode()
    assert "我的提议" in page and "开放学校操场" in page and "待定" in page
    with time_machine.travel(meeting.proposals_until + dt.timedelta(hours=1)):
        client.force_login(users.partner)  # sessions end after a while idle
        page = client.get(url).content.decode()
        assert "议题征集已于" in page and "提出议题" not in page
        response = client.post(f"{url}propose/", {"title": "晚到", "minutes_allotted": "5"})
        assert "议题征集已于" in client.get(response["Location"]).content.decode()
    assert meeting.agenda.count() == 1


# --- Answers ----------------------------------------------------------------------------------


def test_rsvp_answers_and_the_deputy_needs_a_name(alliance, users):
    meeting = convene(alliance, users.secretary, members=[users.member])
    invitation = invitation_rsvp(meeting=meeting, user=users.partner, response="attend")
    assert invitation.response == Invitation.Response.ATTEND
    with pytest.raises(ValidationError) as error:
        invitation_rsvp(meeting=meeting, user=users.partner, response="deputy", deputy_name=" ")
    assert "请填写代您参会人员的姓名" in str(error.value)
    invitation = invitation_rsvp(
        meeting=meeting, user=users.partner, response="deputy", deputy_name="李副校长"
    )
    assert (invitation.response, invitation.deputy_name) == ("deputy", "李副校长")
    invitation = invitation_rsvp(meeting=meeting, user=users.partner, response="decline")
    assert (invitation.response, invitation.deputy_name) == ("decline", "")
    with pytest.raises(PermissionDenied):
        invitation_rsvp(meeting=meeting, user=users.volunteer, response="attend")
    with pytest.raises(ValidationError):
        invitation_rsvp(meeting=meeting, user=users.member, response="maybe")


def test_rsvp_on_the_page(alliance, users, client):
    meeting = convene(alliance, users.secretary)
    client.force_login(users.partner)
    url = f"/alliance/meetings/{meeting.pk}/"
    response = client.post(f"{url}rsvp/", {"response": "deputy", "deputy_name": ""})
    assert "请填写代您参会人员的姓名" in client.get(response["Location"]).content.decode()
    client.post(f"{url}rsvp/", {"response": "deputy", "deputy_name": "李副校长"})
    page = client.get(url).content.decode()
    assert "委派代表</span> · 李副校长" in page


# --- Sign-in and quorum -----------------------------------------------------------------------


def code(meeting, now=None):
    return codes.current(meeting.pk, "in", now, purpose="meeting")


def test_sign_in_with_the_code_is_idempotent(alliance, users):
    meeting = convene(alliance, users.secretary, start_in=dt.timedelta(minutes=20))
    invitation, repeated = meeting_sign_in(
        meeting=meeting, user=users.partner, digits=code(meeting).digits
    )
    assert invitation.signed_in_at is not None and not repeated
    first = invitation.signed_in_at
    again, repeated = meeting_sign_in(
        meeting=meeting, user=users.partner, token=code(meeting).token
    )
    assert repeated and again.signed_in_at == first
    assert Invitation.objects.filter(meeting=meeting, signed_in_at__isnull=False).count() == 1


def test_sign_in_refuses_wrong_expired_and_foreign_codes(alliance, users):
    meeting = convene(alliance, users.secretary, start_in=dt.timedelta(minutes=20))
    digits = code(meeting).digits
    wrong = f"{(int(digits) + 1) % 1_000_000:06d}"
    with pytest.raises(ValidationError) as error:
        meeting_sign_in(meeting=meeting, user=users.partner, digits=wrong)
    assert "签到码错误或已过期" in str(error.value)
    with pytest.raises(ValidationError) as error:
        meeting_sign_in(
            meeting=meeting, user=users.partner, token=code(meeting, time.time() - 120).token
        )
    assert "已过期" in str(error.value)
    # A shift's code with the same id is no meeting code.
    shift_token = codes.current(meeting.pk, "in").token
    with pytest.raises(ValidationError):
        meeting_sign_in(meeting=meeting, user=users.partner, token=shift_token)
    assert not Invitation.objects.filter(signed_in_at__isnull=False).exists()


def test_sign_in_only_in_its_window_and_only_for_invitees(alliance, users):
    meeting = convene(alliance, users.secretary)
    with time_machine.travel(meeting.starts_at - dt.timedelta(minutes=31)):
        with pytest.raises(ValidationError) as error:
            meeting_sign_in(meeting=meeting, user=users.partner, digits=code(meeting).digits)
        assert "签到于会前 30 分钟开放" in str(error.value)
    with time_machine.travel(meeting.ends_at + dt.timedelta(minutes=1)):
        with pytest.raises(ValidationError) as error:
            meeting_sign_in(meeting=meeting, user=users.partner, digits=code(meeting).digits)
        assert "签到已结束" in str(error.value)
    with time_machine.travel(meeting.starts_at - dt.timedelta(minutes=29)):
        with pytest.raises(PermissionDenied):
            meeting_sign_in(meeting=meeting, user=users.volunteer, digits=code(meeting).digits)
        invitation, _ = meeting_sign_in(
            meeting=meeting, user=users.partner, digits=code(meeting).digits
        )
    assert invitation.signed_in_at is not None


def test_attendance_and_quorum(alliance, users):
    meeting = convene(
        alliance,
        users.secretary,
        start_in=dt.timedelta(minutes=10),
        partners=[alliance.school, alliance.shop],
        members=[users.member],
        quorum=2,
    )
    invitation_rsvp(meeting=meeting, user=users.partner, response="attend")
    invitation_rsvp(meeting=meeting, user=alliance.shop_user, response="deputy", deputy_name="周")
    invitation_rsvp(meeting=meeting, user=users.member, response="decline")
    meeting_sign_in(meeting=meeting, user=users.partner, digits=code(meeting).digits)
    counts = attendance_counts(meeting)
    assert counts == {
        "invited": 3,
        "expected": 3,
        "attending": 1,
        "deputies": 1,
        "declined": 1,
        "pending": 0,
        "signed_in": 1,
        "quorum": 2,
        "quorum_met": False,
    }
    shop = Invitation.objects.get(meeting=meeting, user=alliance.shop_user)
    meeting_sign_in_record(meeting=meeting, by=users.secretary, invitation=shop)
    meeting_sign_in_record(meeting=meeting, by=users.secretary, invitation=shop)  # idempotent
    counts = attendance_counts(meeting)
    assert (counts["signed_in"], counts["quorum_met"]) == (2, True)
    with pytest.raises(PermissionDenied):
        meeting_sign_in_record(meeting=meeting, by=users.partner, invitation=shop)


def test_staff_see_the_quorum_and_the_code_page(alliance, users, client):
    meeting = convene(
        alliance, users.secretary, start_in=dt.timedelta(minutes=10),
        partners=[alliance.school, alliance.shop], quorum=1,
    )  # fmt: skip
    meeting_sign_in(meeting=meeting, user=users.partner, digits=code(meeting).digits)
    client.force_login(users.secretary)
    page = client.get(f"/alliance/meetings/{meeting.pk}/").content.decode()
    assert "已到 1 / 应到 2，达到法定人数" in page
    code_page = client.get(f"/alliance/meetings/{meeting.pk}/code/").content.decode()
    assert code(meeting).digits in code_page and "<svg" in code_page
    client.force_login(users.partner)
    assert client.get(f"/alliance/meetings/{meeting.pk}/code/").status_code == 403
    assert "已到" not in client.get(f"/alliance/meetings/{meeting.pk}/").content.decode()


def test_scan_confirm_and_code_entry_on_the_pages(alliance, users, client):
    meeting = convene(
        alliance, users.secretary, start_in=dt.timedelta(minutes=10),
        partners=[alliance.school, alliance.shop],
    )  # fmt: skip
    url = f"/alliance/meetings/{meeting.pk}/sign-in/"
    client.force_login(users.partner)
    page = client.get(f"{url}?t={code(meeting).token}").content.decode()
    assert "确认签到" in page
    response = client.post(url, {"t": code(meeting).token})
    assert "签到成功" in client.get(response["Location"]).content.decode()
    client.force_login(alliance.shop_user)
    response = client.post(
        url, {"code": "000000" if code(meeting).digits != "000000" else "111111"}
    )
    assert "签到码错误或已过期" in client.get(response["Location"]).content.decode()
    client.post(url, {"code": code(meeting).digits})
    assert attendance_counts(meeting)["signed_in"] == 2


# --- The .ics invitation ----------------------------------------------------------------------


def test_invitation_file_and_its_sequence(alliance, users, client):
    meeting = convene(alliance, users.secretary)
    client.force_login(users.partner)
    url = f"/alliance/meetings/{meeting.pk}/invite.ics"
    response = client.get(url)
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    unfolded = body.replace("\r\n ", "")
    assert "METHOD:REQUEST" in body
    assert f"UID:alliance-meeting-{meeting.pk}@tongxin" in body
    assert "SEQUENCE:0" in body
    assert "BEGIN:VTIMEZONE" in body and "TZID:Asia/Shanghai" in body
    assert "DTSTART;TZID=Asia/Shanghai:" in body
    assert "ORGANIZER;CN=secretary" in unfolded
    assert "ATTENDEE;CN=孙老师" in unfolded and "PARTSTAT=NEEDS-ACTION" in unfolded
    assert "LOCATION:社区党群服务中心" in unfolded

    meeting_reschedule(
        meeting=meeting,
        by=users.secretary,
        starts_at=meeting.starts_at + dt.timedelta(days=1),
        ends_at=meeting.ends_at + dt.timedelta(days=1),
    )
    body = client.get(url).content.decode()
    assert "SEQUENCE:1" in body and f"UID:alliance-meeting-{meeting.pk}@tongxin" in body
    meeting_cancel(meeting=meeting, by=users.secretary)
    body = client.get(url).content.decode()
    assert "METHOD:CANCEL" in body and "STATUS:CANCELLED" in body and "SEQUENCE:2" in body


def test_moving_a_meeting_tells_the_invitees(alliance, users, django_capture_on_commit_callbacks):
    meeting = convene(alliance, users.secretary)
    with django_capture_on_commit_callbacks(execute=True):
        meeting_reschedule(
            meeting=meeting,
            by=users.secretary,
            starts_at=meeting.starts_at + dt.timedelta(hours=1),
            ends_at=meeting.ends_at + dt.timedelta(hours=1),
            place="小学报告厅",
        )
    inbox = InboxMessage.objects.get(user=users.partner, subject__startswith="会议改期")
    assert "小学报告厅" in inbox.body


# --- Who sees what ----------------------------------------------------------------------------


def test_partner_sees_only_the_meetings_they_are_invited_to(alliance, users, client):
    invited = convene(alliance, users.secretary, title="邀请了小学的会")
    other = convene(alliance, users.secretary, title="只邀请超市的会", partners=[alliance.shop])
    client.force_login(users.partner)
    listing = client.get("/alliance/meetings/").content.decode()
    assert "邀请了小学的会" in listing and "只邀请超市的会" not in listing
    assert client.get(f"/alliance/meetings/{invited.pk}/").status_code == 200
    assert client.get(f"/alliance/meetings/{other.pk}/").status_code == 404
    assert client.get(f"/alliance/meetings/{other.pk}/invite.ics").status_code == 404
    assert (
        client.post(f"/alliance/meetings/{other.pk}/rsvp/", {"response": "attend"}).status_code
        == 404
    )


def test_past_meetings_are_listed_apart(alliance, users, client):
    earlier = past_meeting(alliance, users.secretary)
    Invitation.objects.create(meeting=earlier, user=users.partner)
    convene(alliance, users.secretary)
    client.force_login(users.partner)
    assert "第一季度联席会议" not in client.get("/alliance/meetings/").content.decode()
    past = client.get("/alliance/meetings/?when=past").content.decode()
    assert "第一季度联席会议" in past and "第二季度联席会议" not in past


def test_the_meeting_page_has_a_fixed_query_count(
    alliance, users, client, django_assert_max_num_queries
):
    meeting = convene(alliance, users.secretary, partners=[alliance.school, alliance.shop])
    client.force_login(users.secretary)
    client.get(f"/alliance/meetings/{meeting.pk}/")
    for i in range(5):
        extra = make_user(f"extra{i}")
        Invitation.objects.create(meeting=meeting, user=extra)
        agenda_propose(
            meeting=meeting, by=users.secretary, title=f"议题{i}", background="",
            minutes_allotted=10,
        )  # fmt: skip
    with django_assert_max_num_queries(30) as captured:
        client.get(f"/alliance/meetings/{meeting.pk}/")
    few = len(captured)
    for i in range(5, 15):
        Invitation.objects.create(meeting=meeting, user=make_user(f"extra{i}"))
    with django_assert_max_num_queries(few):
        client.get(f"/alliance/meetings/{meeting.pk}/")


def test_member_search_keeps_what_was_typed(alliance, users, client, members):
    client.force_login(users.secretary)
    page = client.post(
        "/alliance/meetings/new/",
        {"alliance": alliance.pk, "title": "共建项目推进会", "find": "赵", "search_members": "1"},
    ).content.decode()
    assert 'value="共建项目推进会"' in page
    assert "赵敏 · 幸福里网格党支部" in page
    assert not JointMeeting.objects.exists()
    assert "errorlist" not in page


def test_attachments_are_served_only_through_the_meeting(alliance, users, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    meeting = convene(alliance, users.secretary)
    client.force_login(users.partner)
    client.post(
        f"/alliance/meetings/{meeting.pk}/propose/",
        {
            "title": "开放学校操场",
            "minutes_allotted": "20",
            "attachment": SimpleUploadedFile("方案.pdf", b"%PDF-1.4 test", "application/pdf"),
        },
    )
    item = meeting.agenda.get()
    url = f"/alliance/meetings/{meeting.pk}/agenda/{item.pk}/attachment/"
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 test"
    refused = client.post(
        f"/alliance/meetings/{meeting.pk}/propose/",
        {"title": "x", "minutes_allotted": "5", "attachment": SimpleUploadedFile("a.exe", b"MZ")},
    )
    assert "请上传照片" in client.get(refused["Location"]).content.decode()
    # No /media/ address opens it (private files are not routed).
    assert client.get(item.attachment.url).status_code == 404
    client.force_login(alliance.shop_user)
    assert client.get(url).status_code == 404
    page = client.post(
        f"/alliance/meetings/{meeting.pk}/propose/",
        {"title": "x", "minutes_allotted": "5", "attachment": SimpleUploadedFile("a.exe", b"MZ")},
    )
    assert page.status_code == 404  # not invited: the meeting does not exist for them


def test_my_page_links_the_alliance_for_partners_and_staff_only(client, tree, users):
    for user, shown in ((users.partner, True), (users.secretary, True), (users.volunteer, False)):
        client.force_login(user)
        page = client.get("/me/").content.decode()
        assert ("党建共建联盟" in page) == shown, user
        assert ("本单位与资源" in page) == (user == users.partner)
