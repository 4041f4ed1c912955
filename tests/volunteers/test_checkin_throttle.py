"""Six-digit check-in codes cannot be brute-forced: wrong codes are throttled
per person and per shift or meeting (portal.throttle through codes.verify),
a locked person is refused even the right code, a paused shift or meeting
still takes the scanned QR code, and the organiser is told once."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from alliance.meetings.attendance import meeting_sign_in
from alliance.models import Alliance, Invitation, JointMeeting
from portal import codes
from portal.models import Notification
from tests.factories import make_duty, make_user
from volunteers.duties.services import shift_check
from volunteers.models import CheckIn, Shift, SignUp


def running_shift(tree, **kwargs):
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
    return Shift.objects.create(
        duty=make_duty(tree, **kwargs),
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        capacity=50,
    )


def wrong_code(target_id, purpose=codes.SHIFT):
    """Six digits that are none of the codes accepted now."""
    accepted = {
        codes.current(target_id, action, now, purpose=purpose).digits
        for action in codes.ACTIONS
        for now in (timezone.now().timestamp(), timezone.now().timestamp() - codes.PERIOD)
    }
    return next(f"{n:06d}" for n in range(123456, 999999) if f"{n:06d}" not in accepted)


def right_code(target_id, purpose=codes.SHIFT):
    return codes.current(target_id, "in", purpose=purpose).digits


def later(minutes):
    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False)


def test_five_wrong_codes_lock_the_person_out_even_for_the_right_code(client, tree, users):
    shift = running_shift(tree)
    SignUp.objects.create(shift=shift, user=users.member, status=SignUp.Status.CONFIRMED)
    client.force_login(users.member)
    url = reverse("volunteer_check", args=[shift.pk])
    for _ in range(4):
        page = client.post(url, {"code": wrong_code(shift.pk)}, follow=True).content.decode()
        assert "签到码错误或已过期" in page
    page = client.post(url, {"code": wrong_code(shift.pk)}, follow=True).content.decode()
    assert "签到码错误次数过多" in page and "15 分钟后再试" in page
    # The right code is refused during the cool-down, and nothing is recorded.
    page = client.post(url, {"code": right_code(shift.pk)}, follow=True).content.decode()
    assert "签到码错误次数过多" in page and "签到成功" not in page
    token = codes.current(shift.pk, "in").token
    page = client.post(reverse("volunteer_scan", args=[shift.pk]), {"t": token}, follow=True)
    assert "签到码错误次数过多" in page.content.decode()
    assert not CheckIn.objects.exists()
    # Another person is not affected.
    SignUp.objects.create(shift=shift, user=users.volunteer, status=SignUp.Status.CONFIRMED)
    shift_check(shift=shift, user=users.volunteer, digits=right_code(shift.pk))
    # After the cool-down the right code works again.
    with later(16):
        page = client.post(url, {"code": right_code(shift.pk)}, follow=True).content.decode()
    assert "签到成功" in page
    assert CheckIn.objects.filter(user=users.member).exists()


def test_a_malformed_entry_is_no_guess(tree, users):
    shift = running_shift(tree)
    SignUp.objects.create(shift=shift, user=users.member, status=SignUp.Status.CONFIRMED)
    for _ in range(10):
        with pytest.raises(ValidationError, match="6 位"):
            shift_check(shift=shift, user=users.member, digits="12ab")
    shift_check(shift=shift, user=users.member, digits=right_code(shift.pk))
    assert CheckIn.objects.filter(user=users.member).exists()


def test_many_guessers_pause_the_typed_code_and_the_organiser_is_told_once(tree, users):
    shift = running_shift(tree, created_by=users.secretary)
    guessers = [make_user(f"guesser{i}") for i in range(7)]
    failures = 0
    for user in guessers:
        for _ in range(codes.PERSON_LIMIT.failures):
            if failures == codes.TARGET_LIMIT.failures:
                break
            with pytest.raises(ValidationError):
                shift_check(shift=shift, user=user, digits=wrong_code(shift.pk))
            failures += 1
    assert failures == codes.TARGET_LIMIT.failures
    alerts = Notification.objects.filter(subject__contains="签到码错误")
    assert [n.user for n in alerts] == [users.secretary]
    assert shift.duty.title in alerts.get().subject
    # Now even a fresh person's right digits are refused; nothing is recorded...
    SignUp.objects.create(shift=shift, user=users.member, status=SignUp.Status.CONFIRMED)
    with pytest.raises(ValidationError, match="请扫描组织者的二维码"):
        shift_check(shift=shift, user=users.member, digits=right_code(shift.pk))
    assert not CheckIn.objects.exists()
    # ... the scanned code still works, and the organiser is not told again.
    shift_check(shift=shift, user=users.member, token=codes.current(shift.pk, "in").token)
    assert CheckIn.objects.filter(user=users.member).exists()
    for _ in range(3):
        with pytest.raises(ValidationError):
            shift_check(shift=shift, user=users.volunteer, digits=wrong_code(shift.pk))
    assert alerts.count() == 1


@pytest.fixture
def meeting(tree, users):
    alliance = Alliance.objects.create(name="幸福里共建联盟", unit=tree.branch_a)
    starts_at = timezone.now().replace(microsecond=0) + dt.timedelta(minutes=20)
    meeting = JointMeeting.objects.create(
        alliance=alliance,
        title="第二季度联席会议",
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=2),
        place="社区党群服务中心",
        convener=users.secretary,
        proposals_until=starts_at - dt.timedelta(days=1),
    )
    Invitation.objects.create(meeting=meeting, user=users.partner)
    return meeting


def test_meeting_sign_in_locks_the_person_out_even_for_the_right_code(meeting, users):
    for _ in range(codes.PERSON_LIMIT.failures - 1):
        with pytest.raises(ValidationError, match="签到码错误或已过期"):
            meeting_sign_in(
                meeting=meeting, user=users.partner, digits=wrong_code(meeting.pk, "meeting")
            )
    with pytest.raises(ValidationError, match="签到码错误次数过多"):
        meeting_sign_in(
            meeting=meeting, user=users.partner, digits=wrong_code(meeting.pk, "meeting")
        )
    with pytest.raises(ValidationError, match="签到码错误次数过多"):
        meeting_sign_in(
            meeting=meeting, user=users.partner, digits=right_code(meeting.pk, "meeting")
        )
    assert not Invitation.objects.filter(signed_in_at__isnull=False).exists()
    with later(16):
        invitation, repeated = meeting_sign_in(
            meeting=meeting, user=users.partner, digits=right_code(meeting.pk, "meeting")
        )
    assert invitation.signed_in_at is not None and not repeated


def test_many_wrong_meeting_codes_tell_the_convener_once(meeting, users):
    invitees = [make_user(f"invitee{i}") for i in range(7)]
    for user in invitees:
        Invitation.objects.create(meeting=meeting, user=user)
    failures = 0
    for user in invitees:
        for _ in range(codes.PERSON_LIMIT.failures):
            if failures == codes.TARGET_LIMIT.failures + 2:
                break
            with pytest.raises(ValidationError):
                meeting_sign_in(
                    meeting=meeting, user=user, digits=wrong_code(meeting.pk, "meeting")
                )
            failures += 1
    alerts = Notification.objects.filter(subject__contains="签到码错误")
    assert [(n.user, n.url) for n in alerts] == [
        (users.secretary, reverse("meeting_detail", args=[meeting.pk]))
    ]
    with pytest.raises(ValidationError, match="请扫描召集人的二维码"):
        meeting_sign_in(
            meeting=meeting, user=users.partner, digits=right_code(meeting.pk, "meeting")
        )
    invitation, _ = meeting_sign_in(
        meeting=meeting,
        user=users.partner,
        token=codes.current(meeting.pk, "in", purpose="meeting").token,
    )
    assert invitation.signed_in_at is not None
