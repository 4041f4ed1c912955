"""三会一课: recurrence in Asia/Shanghai, scheduling with invitees, attendance,
reminders sent once by the background worker at the right time, scheduled
publishing and expiry, and the admin screens with their scope."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from branches.models import Attendance, Meeting, MeetingKind, MeetingReminder, PartyPost
from branches.schedule import (
    attendance_record,
    meeting_cancel,
    meeting_schedule,
    occurrences,
    reminders_send_due,
)
from portal.models import InboxMessage
from portal.publishing import NoticePage
from tests.factories import make_member, make_user

SH = ZoneInfo("Asia/Shanghai")


def local(*args):
    return dt.datetime(*args, tzinfo=SH)


# --- Recurrence -------------------------------------------------------------------------------


def test_monthly_on_the_31st_skips_short_months():
    starts = occurrences("FREQ=MONTHLY;COUNT=4", local(2027, 1, 31, 19, 30))
    assert [s.date() for s in starts] == [
        dt.date(2027, 1, 31),
        dt.date(2027, 3, 31),
        dt.date(2027, 5, 31),
        dt.date(2027, 7, 31),
    ]


def test_last_day_of_every_month_across_february_and_a_leap_year():
    starts = occurrences("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4", local(2027, 12, 31, 9, 0))
    assert [s.date() for s in starts] == [
        dt.date(2027, 12, 31),
        dt.date(2028, 1, 31),
        dt.date(2028, 2, 29),
        dt.date(2028, 3, 31),
    ]


def test_wall_clock_time_and_offset_hold_all_year():
    """Asia/Shanghai has no daylight saving: 19:30 is 11:30 UTC in every month."""
    starts = occurrences("FREQ=MONTHLY;COUNT=12", local(2027, 1, 15, 19, 30))
    assert {(s.hour, s.minute) for s in starts} == {(19, 30)}
    assert {s.utcoffset() for s in starts} == {dt.timedelta(hours=8)}
    assert {s.astimezone(dt.UTC).hour for s in starts} == {11}


def test_first_friday_rule():
    starts = occurrences("FREQ=MONTHLY;BYDAY=1FR;COUNT=3", local(2027, 1, 1, 15, 0))
    assert [s.date() for s in starts] == [
        dt.date(2027, 1, 1),
        dt.date(2027, 2, 5),
        dt.date(2027, 3, 5),
    ]


@pytest.mark.parametrize(
    "rule",
    ["", "FREQ=SOMETIMES", "FREQ=MONTHLY;BYMONTHDAY=40", "DTSTART:20270101T000000\nFREQ=DAILY"],
)
def test_bad_rules_are_refused(rule):
    with pytest.raises(ValidationError):
        occurrences(rule, local(2027, 1, 1, 9, 0))


def test_unbounded_rule_is_capped():
    assert len(occurrences("FREQ=WEEKLY", local(2027, 1, 1, 9, 0))) == 24


# --- Scheduling and attendance ----------------------------------------------------------------


@pytest.fixture
def branch_members(tree):
    return {
        "secretary": make_member(
            branch=tree.branch_a, name="王书记", party_posts=[PartyPost.SECRETARY]
        ),
        "committee": make_member(
            branch=tree.branch_a, name="李委员", party_posts=[PartyPost.COMMITTEE_MEMBER]
        ),
        "group": make_member(branch=tree.branch_a, building_group=tree.group_a, name="张三"),
        "plain": make_member(branch=tree.branch_a, name="赵四"),
        "other": make_member(branch=tree.branch_b, name="钱五"),
    }


def assembly(tree, starts_at):
    """A two-hour branch assembly of branch A (every member invited)."""
    return meeting_schedule(
        branch=tree.branch_a,
        kind=MeetingKind.ASSEMBLY,
        title="支部党员大会",
        starts_at=starts_at,
        duration=dt.timedelta(hours=2),
        place="党群服务中心",
    )


def invited(meeting):
    return set(meeting.attendances.values_list("member__name", flat=True))


def test_recurring_group_meeting_invites_the_group(tree, branch_members):
    meetings = meeting_schedule(
        branch=tree.branch_a,
        group=tree.group_a,
        kind=MeetingKind.GROUP,
        title="3号楼党小组会",
        starts_at=local(2027, 1, 10, 19, 0),
        duration=dt.timedelta(hours=1),
        place="3号楼活动室",
        rrule="FREQ=MONTHLY;COUNT=3",
    )
    assert [m.starts_at.astimezone(SH).date() for m in meetings] == [
        dt.date(2027, 1, 10),
        dt.date(2027, 2, 10),
        dt.date(2027, 3, 10),
    ]
    assert len({m.series_id for m in meetings}) == 1
    assert all(invited(m) == {"张三"} for m in meetings)


def test_committee_meeting_invites_the_committee(tree, branch_members):
    (meeting,) = meeting_schedule(
        branch=tree.branch_a,
        kind=MeetingKind.COMMITTEE,
        title="支委会",
        starts_at=local(2027, 1, 5, 9, 0),
        duration=dt.timedelta(hours=2),
        place="党群服务中心",
    )
    assert invited(meeting) == {"王书记", "李委员"}


def test_assembly_invites_every_member_of_the_branch(tree, branch_members):
    (meeting,) = assembly(tree, local(2027, 1, 5, 9, 0))
    assert invited(meeting) == {"王书记", "李委员", "张三", "赵四"}


def test_group_meeting_needs_a_group_of_the_branch(tree, branch_members):
    for group in (None, tree.group_b):
        with pytest.raises(ValidationError):
            meeting_schedule(
                branch=tree.branch_a,
                group=group,
                kind=MeetingKind.GROUP,
                title="党小组会",
                starts_at=local(2027, 1, 5, 9, 0),
                duration=dt.timedelta(hours=1),
                place="活动室",
                rrule="FREQ=MONTHLY;COUNT=3",
            )
    assert not Meeting.objects.exists() and not Attendance.objects.exists()


def test_moving_or_cancelling_raises_the_sequence(tree, branch_members):
    (meeting,) = meeting_schedule(
        branch=tree.branch_a,
        kind=MeetingKind.LECTURE,
        title="党课",
        starts_at=local(2027, 1, 5, 9, 0),
        duration=dt.timedelta(hours=1),
        place="活动室",
    )
    assert meeting.sequence == 0
    meeting.agenda = "学习讨论"  # not a calendar change
    meeting.save()
    assert meeting.sequence == 0
    meeting.starts_at += dt.timedelta(days=1)
    meeting.ends_at += dt.timedelta(days=1)
    meeting.save()
    assert meeting.sequence == 1
    meeting_cancel(meeting=meeting)
    meeting.refresh_from_db()
    assert meeting.sequence == 2 and meeting.is_cancelled


def test_attendance_needs_a_reason_for_leave_and_saves_all_or_nothing(tree, branch_members):
    (meeting,) = assembly(tree, local(2027, 1, 5, 9, 0))
    m = branch_members
    bad = {m["group"].pk: ("present", ""), m["plain"].pk: ("leave", " ")}
    with pytest.raises(ValidationError):
        attendance_record(meeting=meeting, rows=bad)
    assert set(meeting.attendances.values_list("status", flat=True)) == {"invited"}
    with pytest.raises(ValidationError):
        attendance_record(meeting=meeting, rows={m["other"].pk: ("present", "")})
    good = {m["group"].pk: ("present", ""), m["plain"].pk: ("leave", "出差")}
    assert attendance_record(meeting=meeting, rows=good) == 2
    assert attendance_record(meeting=meeting, rows=good) == 0
    assert Attendance.objects.get(meeting=meeting, member=m["plain"]).reason == "出差"


# --- Reminders and the background worker ------------------------------------------------------


@pytest.fixture
def reminded(tree, branch_members, settings):
    settings.TONGXIN_MEETING_REMINDER_HOURS = 24
    accounts = {}
    for key in ("group", "plain"):
        user = make_user(f"u-{key}", email=f"{key}@example.com")
        branch_members[key].user = user
        branch_members[key].save()
        accounts[key] = user
    return accounts


def test_reminders_go_out_once_a_day_before(
    tree, branch_members, reminded, django_capture_on_commit_callbacks
):
    start = local(2027, 3, 1, 19, 30)
    with time_machine.travel(local(2027, 2, 27, 12, 0), tick=False):
        (meeting,) = assembly(tree, start)
        assert reminders_send_due() == 0  # 55 hours ahead: too early
    with (
        time_machine.travel(local(2027, 2, 28, 20, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert reminders_send_due() == 2  # the two members with accounts
        assert reminders_send_due() == 0  # the task ran twice: nobody twice
    assert MeetingReminder.objects.filter(meeting=meeting).count() == 2
    assert InboxMessage.objects.filter(user=reminded["group"]).count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["group@example.com", "plain@example.com"]
    assert "19:30" in mail.outbox[0].body and "党群服务中心" in mail.outbox[0].body


def test_no_reminder_for_a_cancelled_meeting(tree, branch_members, reminded):
    with time_machine.travel(local(2027, 2, 27, 12, 0), tick=False):
        (meeting,) = assembly(tree, local(2027, 2, 28, 9, 0))
        meeting_cancel(meeting=meeting)
        assert reminders_send_due() == 0


def test_worker_sends_reminders_when_due(
    tree, branch_members, reminded, django_capture_on_commit_callbacks, run_worker
):
    """Scheduling enqueues the due work for (start - 24 h) on the scheduled backend;
    the worker runs nothing before then and sends the reminders at that time."""
    with time_machine.travel(local(2027, 2, 20, 12, 0), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assembly(tree, local(2027, 3, 1, 19, 30))
        run_worker()
        assert not InboxMessage.objects.exists()
    with (
        time_machine.travel(local(2027, 2, 28, 19, 31), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_worker()
        run_worker()
    assert InboxMessage.objects.count() == 2


def test_scheduled_go_live_and_expiry_run_by_the_worker(
    tree, django_capture_on_commit_callbacks, run_worker
):
    go_live, expire = local(2027, 5, 1, 8, 0), local(2027, 5, 8, 8, 0)
    with time_machine.travel(local(2027, 4, 30, 9, 0), tick=False):
        notice = NoticePage(title="五一假期安排", go_live_at=go_live, expire_at=expire, live=False)
        tree.branch_a.add_child(instance=notice)
        with django_capture_on_commit_callbacks(execute=True):
            notice.save_revision().publish()
        run_worker()
        notice.refresh_from_db()
        assert not notice.live
    with time_machine.travel(go_live + dt.timedelta(minutes=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            run_worker()
        notice.refresh_from_db()
        assert notice.live
    with time_machine.travel(expire + dt.timedelta(minutes=1), tick=False):
        run_worker()
        notice.refresh_from_db()
        assert not notice.live and notice.expired


# --- Admin ------------------------------------------------------------------------------------


def _form(tree, **extra):
    data = {
        "branch": tree.branch_a.pk,
        "group": tree.group_a.pk,
        "kind": MeetingKind.GROUP,
        "title": "3号楼党小组会",
        "starts_at": "2027-01-10 19:00",
        "ends_at": "2027-01-10 20:00",
        "place": "3号楼活动室",
        "agenda": "学习",
        "status": "scheduled",
        "minutes": "",
        "repeat": "FREQ=MONTHLY",
        "repeat_count": "6",
        "custom_rrule": "",
        "photos-TOTAL_FORMS": "0",
        "photos-INITIAL_FORMS": "0",
        "photos-MIN_NUM_FORMS": "0",
        "photos-MAX_NUM_FORMS": "1000",
    }
    data.update(extra)
    return data


def test_secretary_schedules_a_recurring_group_meeting(client, tree, users, branch_members):
    client.force_login(users.secretary)
    response = client.post("/admin/meetings/new/", _form(tree))
    assert response.status_code == 302, response.content.decode()[:2000]
    meetings = Meeting.objects.order_by("starts_at")
    assert meetings.count() == 6
    assert meetings[0].starts_at == local(2027, 1, 10, 19, 0)
    assert invited(meetings[5]) == {"张三", "赵敏"}  # the group, incl. the users fixture member


def test_secretary_cannot_schedule_for_another_branch(client, tree, users):
    client.force_login(users.secretary)
    response = client.post(
        "/admin/meetings/new/", _form(tree, branch=tree.branch_b.pk, group=tree.group_b.pk)
    )
    assert response.status_code == 200 and not Meeting.objects.exists()


def test_repeat_without_a_count_is_refused_with_a_message(client, tree, users):
    client.force_login(users.secretary)
    response = client.post("/admin/meetings/new/", _form(tree, repeat_count=""))
    assert response.status_code == 200 and not Meeting.objects.exists()
    assert "安排多少次" in response.content.decode()


def test_attendance_sheet_and_its_scope(client, tree, users, branch_members):
    (meeting,) = assembly(tree, local(2027, 1, 5, 9, 0))
    url = f"/admin/meetings/{meeting.pk}/attendance/"
    for user in (users.secretary_b, users.leader, users.member):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code in (302, 403)
        assert "赵四" not in response.content.decode()
    client.force_login(users.secretary)
    assert "赵四" in client.get(url).content.decode()
    m = branch_members
    data = {f"status-{x.pk}": "present" for x in m.values() if x.branch_id == tree.branch_a.pk}
    data[f"status-{m['plain'].pk}"] = "leave"
    response = client.post(url, data)
    assert response.status_code == 200 and "请假原因" in response.content.decode()
    assert not Attendance.objects.filter(status="present").exists()
    data[f"reason-{m['plain'].pk}"] = "外出"
    assert client.post(url, data).status_code == 302
    assert Attendance.objects.filter(meeting=meeting, status="present").count() == 3


def test_meeting_records_are_searchable_by_their_branch_only(
    tree, users, branch_members, django_capture_on_commit_callbacks
):
    from search.query import search

    with django_capture_on_commit_callbacks(execute=True):
        (meeting,) = assembly(tree, local(2027, 1, 5, 9, 0))
        meeting.minutes = "会议研究了楼道加装电梯的意见征集"
        meeting.save()
    for user in (users.secretary, users.coordinator, users.district):
        hits = search(user=user, text="加装电梯").results.hits
        assert [(h.doc_type, h.object_id) for h in hits] == [("meeting", str(meeting.pk))]
    for user in (users.secretary_b, users.member, None):
        assert search(user=user, text="加装电梯").results.total == 0


@pytest.mark.parametrize(
    "extra",
    [
        {"repeat": "custom", "custom_rrule": "FREQ=SOMETIMES"},
        {"repeat": "custom", "custom_rrule": ""},
        {"ends_at": "2027-01-10 18:00"},
        {"group": ""},
    ],
)
def test_bad_meeting_forms_come_back_with_errors(client, tree, users, extra):
    client.force_login(users.secretary)
    response = client.post("/admin/meetings/new/", _form(tree, **extra))
    assert response.status_code == 200
    assert not Meeting.objects.exists()
    assert "3号楼活动室" in response.content.decode()  # what was typed is kept
