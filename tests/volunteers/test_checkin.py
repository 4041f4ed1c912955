"""Check-in and check-out with the organiser's rotating code, walk-ins and
corrections, and the three ledgers kept in step by one credit event — with
the ledger property checked over random sequences and replays under real
concurrency on PostgreSQL."""

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from portal import codes
from tests.factories import make_duty, make_member, make_user
from volunteers.duties.services import (
    check_in_correct,
    check_in_verify,
    check_ins_auto_close,
    credit_post,
    shift_check,
    walk_in_record,
)
from volunteers.models import (
    CheckIn,
    CheckInCorrection,
    CommunityRegistration,
    CreditEvent,
    RegistrationRecord,
    ServiceLedger,
    Shift,
    SignUp,
)

START = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=10)


def running_shift(duty, *, hours=2, start=START):
    return Shift.objects.create(
        duty=duty, starts_at=start, ends_at=start + dt.timedelta(hours=hours), capacity=5
    )


def place_for(shift, user):
    return SignUp.objects.create(shift=shift, user=user, status=SignUp.Status.CONFIRMED)


def code(shift, action="in"):
    return codes.current(shift.pk, action).digits


def at(moment):
    return time_machine.travel(moment, tick=False)


def assert_ledgers_match_events(user):
    """Every ledger equals the sum of the posted events, year by year."""
    for ledger in ServiceLedger.objects.filter(user=user):
        events = CreditEvent.objects.filter(user=user, year=ledger.year)
        sums = events.aggregate(m=Sum("minutes"), p=Sum("points"))
        credits = events.filter(kind="credit").count() - events.filter(kind="reversal").count()
        assert (ledger.minutes, ledger.points, ledger.shifts) == (
            sums["m"] or 0,
            sums["p"] or Decimal("0"),
            credits,
        )
    for record in RegistrationRecord.objects.filter(registration__member__user=user):
        events = CreditEvent.objects.filter(registration=record.registration, year=record.year)
        sums = events.aggregate(s=Sum("services"), m=Sum("minutes"))
        assert (record.services, record.minutes) == (sums["s"] or 0, sums["m"] or 0)


# --- The rotating code --------------------------------------------------------


def test_token_and_digits_are_tied_to_shift_action_and_time(tree):
    now = time.time()
    token = codes.current(7, "in", now).token
    assert codes.verify_token(7, token, now) == "in"
    assert codes.verify_token(7, token, now + 29) == "in"  # the next window still accepts it
    with pytest.raises(ValidationError, match="已过期"):
        codes.verify_token(7, token, now + 61)
    with pytest.raises(ValidationError, match="其他班次"):
        codes.verify_token(8, token, now)
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    with pytest.raises(ValidationError, match="无效"):
        codes.verify_token(7, forged, now)
    with pytest.raises(ValidationError, match="无效"):
        codes.verify_token(7, "not-a-token", now)
    digits_in, digits_out = (
        codes.current(7, "in", now).digits,
        codes.current(7, "out", now).digits,
    )
    assert digits_in != digits_out and len(digits_in) == 6
    assert codes.verify_digits(7, digits_in, now) == "in"
    assert codes.verify_digits(7, digits_out, now) == "out"
    with pytest.raises(ValidationError, match="错误或已过期"):
        codes.verify_digits(7, digits_in, now + 90)
    with pytest.raises(ValidationError, match="6 位"):
        codes.verify_digits(7, "12ab", now)


# --- Checking in and out ----------------------------------------------------------


def test_check_in_then_out_posts_one_credit_to_every_ledger(client, tree):
    user = make_user("m1")
    member = make_member(branch=tree.branch_a, name="钱进", user=user)
    registration = CommunityRegistration.objects.create(
        member=member, branch=tree.branch_a, status=CommunityRegistration.Status.APPROVED
    )
    shift = running_shift(make_duty(tree))
    place_for(shift, user)
    with at(START + dt.timedelta(minutes=10)):
        record, action, repeated = shift_check(shift=shift, user=user, digits=code(shift))
        assert (action, repeated, record.in_method) == ("in", False, "qr")
        again, action, repeated = shift_check(shift=shift, user=user, digits=code(shift))
        assert (again.pk, repeated) == (record.pk, True)
    with at(START + dt.timedelta(hours=1, minutes=40)):
        record, action, repeated = shift_check(shift=shift, user=user, digits=code(shift, "out"))
        assert (action, repeated) == ("out", False)
        shift_check(shift=shift, user=user, digits=code(shift, "out"))  # a double tap
    assert CheckIn.objects.count() == 1
    event = CreditEvent.objects.get()
    # In at START+10 min, out at START+100 min: 90 minutes; activity = 1 + 2/h.
    assert (event.minutes, event.points, event.registration, event.services) == (
        90,
        Decimal("4.0"),
        registration,
        1,
    )
    ledger = ServiceLedger.objects.get(user=user)
    assert (ledger.minutes, ledger.hours, ledger.points, ledger.shifts) == (
        90,
        1.5,
        Decimal("4.0"),
        1,
    )
    assert RegistrationRecord.objects.get(registration=registration).services == 1
    assert_ledgers_match_events(user)
    # The member sees it on their community registration.
    client.force_login(user)
    page = client.get(reverse("my_registration")).content.decode()
    assert "本年度在报到社区服务" in page and "1 次，共 1.5 小时" in page


def test_refusals_record_nothing(tree):
    user = make_user("m1")
    duty = make_duty(tree, latitude="31.230400", longitude="121.473700", radius_m=200)
    duty.require_location = True
    duty.save()
    shift = running_shift(duty)
    later = running_shift(duty, start=START + dt.timedelta(days=2))
    other = running_shift(make_duty(tree, title="敬老"))
    # No confirmed place.
    with pytest.raises(ValidationError, match="没有本班次的确认名额"):
        shift_check(
            shift=shift, user=user, digits=code(shift), latitude="31.2304", longitude="121.4737"
        )
    place_for(shift, user)
    place_for(later, user)
    # Outside the time window.
    with pytest.raises(ValidationError, match="签到时间为"):
        shift_check(shift=later, user=user, digits=code(later))
    # A token of another shift.
    with pytest.raises(ValidationError, match="其他班次"):
        shift_check(shift=shift, user=user, token=codes.current(other.pk, "in").token)
    # Location: missing, then 1.1 km away.
    with pytest.raises(ValidationError, match="允许浏览器使用您的位置"):
        shift_check(shift=shift, user=user, digits=code(shift))
    with pytest.raises(ValidationError, match="需在 200 米范围内"):
        shift_check(
            shift=shift, user=user, digits=code(shift), latitude="31.2404", longitude="121.4737"
        )
    # Checking out before checking in.
    with pytest.raises(ValidationError, match="尚未在本班次签到"):
        shift_check(
            shift=shift,
            user=user,
            digits=code(shift, "out"),
            latitude="31.2304",
            longitude="121.4737",
        )
    assert CheckIn.objects.count() == 0 and CreditEvent.objects.count() == 0
    # Within 200 m it works.
    shift_check(
        shift=shift, user=user, digits=code(shift), latitude="31.2312", longitude="121.4737"
    )
    assert CheckIn.objects.count() == 1


def test_auto_check_out_waits_for_review_then_verify_credits(tree, users):
    user = make_user("m1")
    shift = running_shift(make_duty(tree))
    place_for(shift, user)
    with at(START + dt.timedelta(minutes=10)):
        record, _, _ = shift_check(shift=shift, user=user, digits=code(shift))
    assert check_ins_auto_close() == 0  # the shift is still on
    assert check_ins_auto_close(now=shift.ends_at + dt.timedelta(hours=3)) == 1
    record.refresh_from_db()
    assert (record.checked_out_at, record.out_method, record.needs_review) == (
        shift.ends_at,
        "auto",
        True,
    )
    assert not CreditEvent.objects.exists()
    with pytest.raises(PermissionDenied):
        check_in_verify(check_in=record, by=users.secretary_b)
    check_in_verify(check_in=record, by=users.secretary)
    check_in_verify(check_in=record, by=users.secretary)  # again: nothing more
    # START+10 min until the end: 110 minutes, credited as 1.8 hours (108 minutes).
    assert CreditEvent.objects.get().minutes == 108
    assert_ledgers_match_events(user)


def test_correction_reverses_and_reposts_and_keeps_its_author(tree, users):
    user = make_user("m1")
    shift = running_shift(make_duty(tree, kind="post"))
    place_for(shift, user)
    with at(START + dt.timedelta(minutes=10)):
        shift_check(shift=shift, user=user, digits=code(shift))
    with at(START + dt.timedelta(minutes=70)):
        record, _, _ = shift_check(shift=shift, user=user, digits=code(shift, "out"))
    assert CreditEvent.objects.get().minutes == 60
    with at(START + dt.timedelta(hours=3)):
        with pytest.raises(ValidationError, match="更正原因"):
            check_in_correct(
                check_in=record, by=users.secretary, checked_in_at=START,
                checked_out_at=START + dt.timedelta(hours=2), reason=" ",
            )  # fmt: skip
        check_in_correct(
            check_in=record, by=users.secretary, checked_in_at=START,
            checked_out_at=START + dt.timedelta(hours=2), reason="到场即开始服务",
        )  # fmt: skip
    kinds = list(CreditEvent.objects.order_by("id").values_list("kind", "minutes", "points"))
    # post: 2 + 1/h → 3.0 for the hour, 4.0 for two hours.
    assert kinds == [
        ("credit", 60, Decimal("3.0")),
        ("reversal", -60, Decimal("-3.0")),
        ("credit", 120, Decimal("4.0")),
    ]
    ledger = ServiceLedger.objects.get(user=user)
    assert (ledger.minutes, ledger.points, ledger.shifts) == (120, Decimal("4.0"), 1)
    correction = CheckInCorrection.objects.get()
    assert (correction.author, correction.reason) == (users.secretary, "到场即开始服务")
    assert_ledgers_match_events(user)


def test_walk_in_and_who_may_organise(tree, users):
    shift = running_shift(make_duty(tree, group=tree.group_a))
    other_group = running_shift(make_duty(tree, group=tree.group_b, title="巡逻"))
    person = make_user("walker")
    times = {"checked_in_at": START, "checked_out_at": START + dt.timedelta(minutes=5)}
    for outsider in (users.member, users.secretary_b, users.volunteer):
        with pytest.raises(PermissionDenied):
            walk_in_record(shift=shift, user=person, by=outsider, **times)
    # A group leader runs their group's shifts, not another group's.
    walk_in_record(shift=shift, user=person, by=users.leader, **times)
    with pytest.raises(PermissionDenied):
        walk_in_record(shift=other_group, user=person, by=users.leader, **times)
    with pytest.raises(ValidationError, match="已在本班次签到"):
        walk_in_record(shift=shift, user=person, by=users.secretary, **times)
    record = CheckIn.objects.get(user=person)
    assert record.walk_in and record.verified_by == users.leader
    assert CreditEvent.objects.get(check_in=record).minutes == 6  # 5 minutes: 0.1 hours


# --- Properties and concurrency ---------------------------------------------------

minutes_st = st.integers(min_value=0, max_value=240)


@hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["close", "auto", "verify", "correct"]),
            st.integers(0, 2),
            minutes_st,
            minutes_st,
        ),
        min_size=1,
        max_size=12,
    )
)
def test_ledgers_equal_the_sum_of_events_after_any_sequence(tree, users, steps):
    person = make_user(f"p{time.monotonic_ns()}")
    member = make_member(branch=tree.branch_a, name="孙丽", user=person)
    CommunityRegistration.objects.create(
        member=member, branch=tree.branch_a, status=CommunityRegistration.Status.APPROVED
    )
    base = START - dt.timedelta(days=1)
    shifts = [
        running_shift(make_duty(tree, kind=kind), start=base + dt.timedelta(hours=3 * i), hours=2)
        for i, kind in enumerate(["activity", "post", "area"])
    ]
    records = [
        CheckIn.objects.create(shift=s, user=person, checked_in_at=s.starts_at, in_method="qr")
        for s in shifts
    ]
    for action, which, a, b in steps:
        record = CheckIn.objects.get(pk=records[which].pk)
        shift = shifts[which]
        try:
            if action == "auto":
                check_ins_auto_close()
            elif action == "verify":
                check_in_verify(check_in=record, by=users.secretary)
            elif action == "close" and record.checked_out_at is None:
                record.checked_out_at = shift.starts_at + dt.timedelta(minutes=a)
                record.out_method, record.verified_at = "qr", timezone.now()
                record.save()
                credit_post(check_in=record)
            elif action == "correct":
                begin = shift.starts_at + dt.timedelta(minutes=min(a, b) - 30)
                end = shift.starts_at + dt.timedelta(minutes=max(a, b) + 1)
                check_in_correct(
                    check_in=record, by=users.secretary, checked_in_at=begin,
                    checked_out_at=end, reason="复核",
                )  # fmt: skip
        except ValidationError:
            pass
        assert_ledgers_match_events(person)
    # Each check-in is credited at most once net, whatever happened.
    for record in records:
        kinds = CreditEvent.objects.filter(check_in=record)
        assert kinds.filter(kind="credit").count() - kinds.filter(kind="reversal").count() in (0, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_thousand_replayed_check_ins_make_one_record_and_one_credit(tree):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (SQLite runs writers one at a time)")
    user = make_user("replayer")
    shift = running_shift(make_duty(tree))
    place_for(shift, user)
    barrier = threading.Barrier(20)

    def replay(action, i):
        if i < 20:
            barrier.wait()
        try:
            return shift_check(shift=shift, user=user, digits=code(shift, action))[2]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        repeats = list(pool.map(lambda i: replay("in", i), range(1000)))
    assert repeats.count(False) == 1 and CheckIn.objects.count() == 1
    barrier.reset()
    # Check-out replays (1,000 of them) post one credit event.
    CheckIn.objects.update(checked_in_at=START - dt.timedelta(minutes=30))
    with ThreadPoolExecutor(max_workers=20) as pool:
        repeats = list(pool.map(lambda i: replay("out", i), range(1000)))
    assert repeats.count(False) == 1
    assert CheckIn.objects.count() == 1 and CreditEvent.objects.count() == 1
    assert ServiceLedger.objects.get(user=user).shifts == 1
    assert_ledgers_match_events(user)


# --- Pages ----------------------------------------------------------------------


def test_member_checks_in_by_code_on_the_shift_page(client, tree, users):
    shift = running_shift(make_duty(tree))
    place_for(shift, users.member)
    client.force_login(users.member)
    page = client.get(reverse("volunteer_shift", args=[shift.pk])).content.decode()
    assert "6 位签到码" in page and "出示签到码" not in page
    response = client.post(
        reverse("volunteer_check", args=[shift.pk]), {"code": "000000"}, follow=True
    )
    assert "签到码错误或已过期" in response.content.decode()
    assert not CheckIn.objects.exists()
    response = client.post(
        reverse("volunteer_check", args=[shift.pk]), {"code": code(shift)}, follow=True
    )
    assert "签到成功" in response.content.decode()
    assert CheckIn.objects.get().user == users.member
    # The organiser's code page is not the member's.
    assert client.get(reverse("volunteer_shift_code", args=[shift.pk])).status_code == 403


def test_organiser_shows_the_code_and_a_scan_checks_in(client, tree, users):
    shift = running_shift(make_duty(tree, group=tree.group_a))
    place_for(shift, users.member)
    client.force_login(users.leader)
    # One instant for the page and the code it should show (codes rotate).
    with time_machine.travel(timezone.now(), tick=False):
        page = client.get(reverse("volunteer_shift_code", args=[shift.pk])).content.decode()
        assert code(shift) in page and "<svg" in page and 'http-equiv="refresh"' in page
        out = reverse("volunteer_shift_code", args=[shift.pk]) + "?mode=out"
        assert code(shift, "out") in client.get(out).content.decode()
    client.force_login(users.member)
    token = codes.current(shift.pk, "in").token
    scan = reverse("volunteer_scan", args=[shift.pk])
    assert "确认签到" in client.get(scan, {"t": token}).content.decode()
    response = client.post(scan, {"t": token}, follow=True)
    assert "签到成功" in response.content.decode()
    response = client.post(scan, {"t": token}, follow=True)
    assert "已于" in response.content.decode() and CheckIn.objects.count() == 1
    bad = client.get(scan, {"t": token[:-2] + "xx"}).content.decode()
    assert "签到码无效" in bad and "确认签到" not in bad


def test_my_service_page_shows_hours_points_rank_and_history(client, tree, users):
    peer = make_user("peer")
    make_member(branch=tree.branch_a, name="周强", user=peer)
    year = timezone.localtime().year
    ServiceLedger.objects.create(user=peer, year=year, minutes=600, points=Decimal("30"), shifts=3)
    shift = running_shift(make_duty(tree, title="垃圾分类指导"))
    place_for(shift, users.member)
    with at(START + dt.timedelta(minutes=10)):
        shift_check(shift=shift, user=users.member, digits=code(shift))
    with at(START + dt.timedelta(hours=2)):
        shift_check(shift=shift, user=users.member, digits=code(shift, "out"))
    client.force_login(users.member)
    page = client.get(reverse("my_service")).content.decode()
    assert "垃圾分类指导" in page
    assert 'data-testid="hours">1.8<' in page  # 110 minutes, credited as 1.8 hours
    assert "第 2 名" in page and "下载志愿服务证明" in page
    assert client.get(reverse("my_service")).status_code == 200
    client.logout()
    assert client.get(reverse("my_service")).status_code == 302
