"""Signing up for shifts: capacity and waitlist, overlap, eligibility, deadlines,
cancellation and promotion — with properties checked over random sequences, and
capacity under real concurrency on PostgreSQL."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from portal.models import InboxMessage
from tests.factories import NOW, make_duty, make_member, make_shift, make_user
from volunteers.duties.services import shift_sign_up, signup_cancel
from volunteers.models import Duty, SignUp, Skill, VolunteerProfile


def people(n, prefix="v"):
    return [make_user(f"{prefix}{i}") for i in range(n)]


def statuses(shift):
    return list(shift.signups.order_by("created_at", "id").values_list("user__username", "status"))


def test_places_then_waitlist_and_signing_up_twice_changes_nothing(tree):
    shift = make_shift(make_duty(tree), capacity=2)
    a, b, c = people(3)
    assert shift_sign_up(shift=shift, user=a).status == "confirmed"
    assert shift_sign_up(shift=shift, user=b).status == "confirmed"
    assert shift_sign_up(shift=shift, user=c).status == "waitlisted"
    again = shift_sign_up(shift=shift, user=a)
    assert again.status == "confirmed" and shift.signups.count() == 3


def test_overlapping_shift_is_refused_with_a_message(tree):
    duty = make_duty(tree)
    first = make_shift(duty)
    overlapping = make_shift(
        make_duty(tree, title="敬老服务"), start_in=dt.timedelta(days=2, hours=1)
    )
    later = make_shift(duty, start_in=dt.timedelta(days=3))
    (a,) = people(1)
    shift_sign_up(shift=first, user=a)
    with pytest.raises(ValidationError, match="楼道清理"):
        shift_sign_up(shift=overlapping, user=a)
    assert shift_sign_up(shift=later, user=a).status == "confirmed"
    assert not overlapping.signups.exists()


def test_who_may_sign_up(tree):
    skill = Skill.objects.create(name="急救培训")
    outsider = make_user("outsider")
    member_a = make_user("ma")
    make_member(branch=tree.branch_a, name="甲", user=member_a)
    member_b = make_user("mb")
    make_member(branch=tree.branch_b, name="乙", user=member_b)
    trained = make_user("trained")
    VolunteerProfile.objects.create(user=trained).skills.add(skill)

    def can(eligibility, user, **kw):
        shift = make_shift(make_duty(tree, eligibility=eligibility, **kw))
        try:
            shift_sign_up(shift=shift, user=user)
        except ValidationError:
            return False
        return True

    assert can("volunteers", outsider)
    assert not can("members", outsider) and can("members", member_b)
    assert can("branch", member_a) and not can("branch", member_b)
    assert can("skill", trained, required_skill=skill)
    assert not can("skill", member_a, required_skill=skill)


def test_closed_deadline_and_cancelled_shift(tree):
    duty = make_duty(tree)
    closed = make_shift(duty, signup_deadline=NOW - dt.timedelta(minutes=1))
    called_off = make_shift(duty, start_in=dt.timedelta(days=5), cancelled=True)
    (a,) = people(1)
    with pytest.raises(ValidationError, match="报名已截止"):
        shift_sign_up(shift=closed, user=a)
    with pytest.raises(ValidationError):
        shift_sign_up(shift=called_off, user=a)
    assert not SignUp.objects.exists()


def test_cancel_promotes_the_first_on_the_waitlist_and_tells_them(
    tree, django_capture_on_commit_callbacks
):
    shift = make_shift(make_duty(tree), capacity=1)
    a, b, c = people(3)
    first = shift_sign_up(shift=shift, user=a)
    shift_sign_up(shift=shift, user=b)
    shift_sign_up(shift=shift, user=c)
    with django_capture_on_commit_callbacks(execute=True):
        assert signup_cancel(signup=first).status == "cancelled"
    assert statuses(shift) == [("v0", "cancelled"), ("v1", "confirmed"), ("v2", "waitlisted")]
    message = InboxMessage.objects.get(user=b)
    assert "楼道清理" in message.subject
    assert not InboxMessage.objects.filter(user=c).exists()


def test_cancelling_after_the_deadline_is_late(tree):
    shift = make_shift(make_duty(tree), cancel_deadline=NOW - dt.timedelta(hours=1))
    (a,) = people(1)
    assert signup_cancel(signup=shift_sign_up(shift=shift, user=a)).status == "late"


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    capacity=st.integers(min_value=1, max_value=4),
    steps=st.lists(
        st.tuples(st.sampled_from(["sign_up", "cancel"]), st.integers(min_value=0, max_value=7)),
        max_size=30,
    ),
)
def test_capacity_and_waitlist_hold_after_any_sequence(tree, capacity, steps):
    shift = make_shift(make_duty(tree), capacity=capacity)
    users = [make_user(f"p{shift.pk}-{i}") for i in range(8)]
    for action, who in steps:
        user = users[who]
        if action == "sign_up":
            shift_sign_up(shift=shift, user=user)
        else:
            live = SignUp.objects.filter(shift=shift, user=user, status__in=SignUp.ACTIVE).first()
            if live:
                signup_cancel(signup=live)
        confirmed = shift.signups.filter(status="confirmed").count()
        waiting = list(shift.signups.filter(status="waitlisted").order_by("created_at", "id"))
        assert confirmed <= capacity
        assert not waiting or confirmed == capacity  # nobody waits while a place is free
        active = shift.signups.filter(status__in=SignUp.ACTIVE)
        assert active.count() == active.values("user").distinct().count()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_hundred_simultaneous_sign_ups_for_twenty_places(tree):
    shift = make_shift(make_duty(tree), capacity=20)
    users = people(200, prefix="c")
    start = threading.Barrier(50)
    errors = []

    def one(batch):
        try:
            for user in batch:  # four rounds; in each, 50 sign-ups start together
                start.wait()
                shift_sign_up(shift=shift, user=user)
        except Exception as error:  # noqa: BLE001 - any error fails the test below
            errors.append(error)
        finally:
            connections.close_all()

    # 50 connections at once (PostgreSQL's default limit is 100), 4 sign-ups each.
    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(one, [users[i::50] for i in range(50)]))
    assert errors == []
    assert shift.signups.filter(status="confirmed").count() == 20
    assert shift.signups.filter(status="waitlisted").count() == 180


# --- From a phone -----------------------------------------------------------------------------


def test_member_signs_up_in_two_taps_and_cancels(client, tree, users):
    shift = make_shift(make_duty(tree), capacity=1)
    listing = client.get("/volunteer/").content.decode()
    assert "楼道清理" in listing
    client.force_login(users.member)
    page = client.get(f"/volunteer/shifts/{shift.pk}/").content.decode()
    assert "我要报名" in page
    response = client.post(f"/volunteer/shifts/{shift.pk}/sign-up/", follow=True)
    assert "报名成功" in response.content.decode()
    assert SignUp.objects.get(shift=shift, user=users.member).status == "confirmed"
    assert "已报名" in client.get("/volunteer/").content.decode()
    # someone else now joins the waitlist
    client.force_login(users.volunteer)
    response = client.post(f"/volunteer/shifts/{shift.pk}/sign-up/", follow=True)
    assert "候补" in response.content.decode()
    client.force_login(users.member)
    response = client.post(f"/volunteer/shifts/{shift.pk}/cancel/", follow=True)
    assert response.status_code == 200
    assert SignUp.objects.get(shift=shift, user=users.volunteer).status == "confirmed"


def test_refusals_are_messages_not_errors(client, tree, users):
    shift = make_shift(make_duty(tree, eligibility="branch"), capacity=1)
    client.force_login(users.volunteer)  # not a member of the branch
    page = client.get(f"/volunteer/shifts/{shift.pk}/").content.decode()
    assert "幸福里网格党支部" in page and "我要报名" not in page
    response = client.post(f"/volunteer/shifts/{shift.pk}/sign-up/", follow=True)
    assert response.status_code == 200 and not SignUp.objects.exists()
    assert client.get("/volunteer/shifts/999999/").status_code == 404
    assert client.get(f"/volunteer/shifts/{shift.pk}/sign-up/").status_code == 405


def test_anonymous_must_sign_in(client, tree):
    shift = make_shift(make_duty(tree))
    assert "登录后报名" in client.get(f"/volunteer/shifts/{shift.pk}/").content.decode()
    response = client.post(f"/volunteer/shifts/{shift.pk}/sign-up/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not SignUp.objects.exists()


def test_sign_up_sheet_is_scoped(client, tree, users):
    shift = make_shift(make_duty(tree), capacity=1)
    shift_sign_up(shift=shift, user=users.member)
    url = f"/admin/duties/shift/{shift.pk}/signups/"
    client.force_login(users.secretary)
    assert "member" in client.get(url).content.decode()
    client.force_login(users.secretary_b)
    assert client.get(url).status_code in (302, 403)
    client.force_login(users.secretary)
    assert client.get("/admin/duties/").status_code == 200


def _duty_form(tree, shifts, **extra):
    data = {
        "branch": tree.branch_a.pk,
        "group": "",
        "kind": "activity",
        "published": "on",
        "title": "周六助老服务",
        "description": "",
        "place": "幸福里活动室",
        "latitude": "",
        "longitude": "",
        "radius_m": "200",
        "eligibility": "volunteers",
        "required_skill": "",
        "holder": "",
        "repeat": "FREQ=WEEKLY",
        "repeat_count": "4",
        "custom_rrule": "",
        "shifts-TOTAL_FORMS": str(len(shifts)),
        "shifts-INITIAL_FORMS": "0",
        "shifts-MIN_NUM_FORMS": "0",
        "shifts-MAX_NUM_FORMS": "1000",
    }
    for i, (start, end) in enumerate(shifts):
        data |= {
            f"shifts-{i}-starts_at": start,
            f"shifts-{i}-ends_at": end,
            f"shifts-{i}-capacity": "6",
            f"shifts-{i}-minimum": "2",
            f"shifts-{i}-signup_deadline": "",
            f"shifts-{i}-cancel_deadline": "2027-01-08 20:00",
            f"shifts-{i}-ORDER": str(i),
        }
    return data | extra


def test_a_recurring_duty_repeats_its_shift_weekly(client, tree, users):
    client.force_login(users.secretary)
    response = client.post(
        "/admin/duties/new/", _duty_form(tree, [("2027-01-09 09:00", "2027-01-09 11:00")])
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    shifts = list(Duty.objects.get(title="周六助老服务").shifts.order_by("starts_at"))
    local = [timezone.localtime(s.starts_at).strftime("%m-%d %H:%M") for s in shifts]
    assert local == ["01-09 09:00", "01-16 09:00", "01-23 09:00", "01-30 09:00"]
    last = shifts[-1]
    assert (last.capacity, last.minimum) == (6, 2)
    assert timezone.localtime(last.cancel_deadline).strftime("%m-%d %H:%M") == "01-29 20:00"
    assert last.ends_at - last.starts_at == dt.timedelta(hours=2)


def test_a_repeat_needs_one_shift_and_a_count(client, tree, users):
    client.force_login(users.secretary)
    two = [("2027-01-09 09:00", "2027-01-09 11:00"), ("2027-01-10 09:00", "2027-01-10 11:00")]
    response = client.post("/admin/duties/new/", _duty_form(tree, two))
    assert response.status_code == 200 and "请只填写一个班次" in response.content.decode()
    one = [two[0]]
    response = client.post("/admin/duties/new/", _duty_form(tree, one, repeat_count=""))
    assert response.status_code == 200 and "安排多少次" in response.content.decode()
    assert not Duty.objects.exists()


def test_a_late_cancel_asks_first_and_says_it_will_be_recorded_late(client, tree, users):
    """The cancel button asks before a cancel that counts as late (site.js shows
    ``data-confirm``); before the cancel deadline it cancels without asking."""
    late = make_shift(make_duty(tree), cancel_deadline=NOW - dt.timedelta(hours=1))
    free = make_shift(make_duty(tree, title="敬老探访"), start_in=dt.timedelta(days=5))
    client.force_login(users.member)
    for shift in (late, free):
        shift_sign_up(shift=shift, user=users.member)
    page = client.get(f"/volunteer/shifts/{late.pk}/").content.decode()
    assert 'data-confirm="确定现在取消吗？已过取消截止时间，本次取消将记为迟取消。"' in page
    assert "/static/portal/site.js" in page
    assert "data-confirm" not in client.get(f"/volunteer/shifts/{free.pk}/").content.decode()
