"""Calendar sources: a unit's calendar shows volunteer shifts beside meetings
and activities, and a person's private feed carries their signed-up shifts,
accepted tasks and joint meetings as well as branch meetings — each with a UID
that stays and a SEQUENCE that goes up, cancelled ones as STATUS:CANCELLED."""

import datetime as dt

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alliance.models import Alliance, Invitation, JointMeeting
from portal.models import CalendarToken
from tests.branches.test_calendars import at, calendar_url, meeting, unit_ics_url
from tests.factories import make_duty
from volunteers.dispatch.services import offers_send, request_create
from volunteers.dispatch.task_services import offer_accept
from volunteers.duties.services import shift_sign_up, signup_cancel
from volunteers.models import Duty, ServiceRequest, Shift


def shift_at(duty, days, hour=9):
    start = at(days, hour, 0)
    return Shift.objects.create(
        duty=duty, starts_at=start, ends_at=start + dt.timedelta(hours=2), capacity=5
    )


def feed(client, token):
    response = client.get(reverse("member_calendar_feed", args=[token.token]))
    assert response.status_code == 200
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(response.content).walk("VEVENT")}


def unit_feed(client, unit):
    response = client.get(unit_ics_url(unit))
    assert response.status_code == 200
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(response.content).walk("VEVENT")}


@pytest.fixture
def token(users):
    return CalendarToken.objects.create(user=users.member)


@pytest.fixture
def duty(tree):
    return make_duty(tree, title="周末楼道清理", place="幸福里3号楼")


def test_the_unit_calendar_shows_shifts_of_open_duties(client, tree, duty):
    shift = shift_at(duty, 3)
    hidden = make_duty(tree, title="未开放的岗位", published=False)
    shift_at(hidden, 3)

    page = client.get(calendar_url(tree.branch_a)).content.decode()
    assert "周末楼道清理" in page and "未开放的岗位" not in page
    assert reverse("volunteer_shift", args=[shift.pk]) in page  # links to its sign-up

    grid_feed = unit_feed(client, tree.grid2)  # shifts of the branches below, too
    event = grid_feed[f"shift-{shift.pk}@tongxin"]
    assert str(event["SUMMARY"]) == "周末楼道清理" and str(event["LOCATION"]) == "幸福里3号楼"
    assert str(event["STATUS"]) == "CONFIRMED"


def test_moving_or_cancelling_a_shift_keeps_its_uid_and_raises_its_sequence(client, tree, duty):
    shift = shift_at(duty, 3)
    uid = f"shift-{shift.pk}@tongxin"
    first = int(unit_feed(client, tree.branch_a)[uid]["SEQUENCE"])
    shift.starts_at += dt.timedelta(hours=1)
    shift.ends_at += dt.timedelta(hours=1)
    shift.save()
    moved = int(unit_feed(client, tree.branch_a)[uid]["SEQUENCE"])
    assert moved > first
    duty.place = "幸福里5号楼"
    duty.save()
    relocated = unit_feed(client, tree.branch_a)[uid]
    assert int(relocated["SEQUENCE"]) > moved and str(relocated["LOCATION"]) == "幸福里5号楼"
    shift.refresh_from_db()
    shift.cancelled = True
    shift.save()
    cancelled = unit_feed(client, tree.branch_a)[uid]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(relocated["SEQUENCE"])


def test_the_personal_feed_has_shifts_tasks_and_joint_meetings(client, tree, users, token, duty):
    branch_meeting = meeting(tree.branch_a, "支部党员大会", invitees=[users.own_member])
    shift = shift_at(duty, 4)
    signup = shift_sign_up(shift=shift, user=users.member)

    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=2)
    task = request_create(
        by=users.gridworker,
        grid=tree.grid3a,
        title="帮独居老人买药",
        category=ServiceRequest.Category.ELDERLY,
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
    )
    (offer,) = offers_send(request=task, users=[users.member])
    offer_accept(offer=offer, user=users.member)

    alliance = Alliance.objects.create(name="幸福里共建联盟", unit=tree.branch_a)
    joint = JointMeeting.objects.create(
        alliance=alliance,
        title="第二季度联席会议",
        starts_at=start + dt.timedelta(days=1),
        ends_at=start + dt.timedelta(days=1, hours=2),
        place="社区党群服务中心",
        convener=users.secretary,
        proposals_until=start,
    )
    Invitation.objects.create(meeting=joint, user=users.member)
    other_duty = make_duty(tree, title="别人的岗位", kind=Duty.Kind.ACTIVITY)
    shift_at(other_duty, 4)  # not signed up: not in the feed

    events = feed(client, token)
    assert set(events) == {
        f"meeting-{branch_meeting.pk}@tongxin",
        f"signup-{signup.pk}@tongxin",
        f"task-{offer.pk}@tongxin",
        f"alliance-meeting-{joint.pk}@tongxin",
    }
    assert str(events[f"signup-{signup.pk}@tongxin"]["SUMMARY"]) == "周末楼道清理"
    assert str(events[f"task-{offer.pk}@tongxin"]["SUMMARY"]) == "帮独居老人买药"
    assert str(events[f"alliance-meeting-{joint.pk}@tongxin"]["SUMMARY"]) == "第二季度联席会议"

    before = int(events[f"signup-{signup.pk}@tongxin"]["SEQUENCE"])
    signup_cancel(signup=signup, by=users.member)
    after = feed(client, token)[f"signup-{signup.pk}@tongxin"]
    assert str(after["STATUS"]) == "CANCELLED" and int(after["SEQUENCE"]) > before


def test_a_volunteer_without_a_member_record_gets_their_shifts(client, tree, users, duty):
    token = CalendarToken.objects.create(user=users.volunteer)
    signup = shift_sign_up(shift=shift_at(duty, 2), user=users.volunteer)
    assert set(feed(client, token)) == {f"signup-{signup.pk}@tongxin"}


def test_feed_query_counts_do_not_grow_with_events(client, tree, users, token, duty):
    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    url = reverse("member_calendar_feed", args=[token.token])
    shift_sign_up(shift=shift_at(duty, 1), user=users.member)
    shift_at(duty, 1, hour=14)
    queries(url)
    queries(unit_ics_url(tree.branch_a))
    small, small_unit = queries(url), queries(unit_ics_url(tree.branch_a))
    for day in range(2, 8):
        shift_sign_up(shift=shift_at(duty, day), user=users.member)
    assert queries(url) == small
    assert queries(unit_ics_url(tree.branch_a)) == small_unit
