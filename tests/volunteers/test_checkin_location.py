"""An on-the-spot check-in refuses a position that is not a real place:
``nan`` compares false with every radius, so it used to pass."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portal import codes
from tests.factories import make_duty
from volunteers.models import CheckIn, Shift, SignUp


@pytest.fixture
def on_the_spot(tree, users):
    duty = make_duty(
        tree, latitude=Decimal("31.2304"), longitude=Decimal("121.4737"), require_location=True
    )
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
    shift = Shift.objects.create(
        duty=duty, starts_at=start, ends_at=start + dt.timedelta(hours=2), capacity=5
    )
    SignUp.objects.create(shift=shift, user=users.member, status=SignUp.Status.CONFIRMED)
    return shift


@pytest.mark.parametrize(
    ("latitude", "longitude", "message"),
    [
        ("nan", "nan", "纬度须在 -90 到 90 之间"),
        ("31.2304", "nan", "纬度须在 -90 到 90 之间"),
        ("NaN", "121.4737", "纬度须在 -90 到 90 之间"),
        ("inf", "121.4737", "纬度须在 -90 到 90 之间"),
        ("-Infinity", "121.4737", "纬度须在 -90 到 90 之间"),
        ("1e999", "121.4737", "纬度须在 -90 到 90 之间"),
        ("9" * 400, "121.4737", "纬度须在 -90 到 90 之间"),
        ("91", "121.4737", "纬度须在 -90 到 90 之间"),
        ("31.2304", "-180.5", "纬度须在 -90 到 90 之间"),
        ("31.2304", "400", "纬度须在 -90 到 90 之间"),
        ("north", "121.4737", "无法读取您的位置"),
        ("31.2304", "0x1F", "无法读取您的位置"),
    ],
)
def test_impossible_positions_are_refused_and_record_nothing(
    client, on_the_spot, users, latitude, longitude, message
):
    client.force_login(users.member)
    response = client.post(
        reverse("volunteer_check", args=[on_the_spot.pk]),
        {
            "code": codes.current(on_the_spot.pk, "in").digits,
            "latitude": latitude,
            "longitude": longitude,
        },
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and "签到成功" not in page
    assert not CheckIn.objects.exists()


def test_a_real_position_on_the_spot_still_checks_in(client, on_the_spot, users):
    client.force_login(users.member)
    response = client.post(
        reverse("volunteer_check", args=[on_the_spot.pk]),
        {
            "code": codes.current(on_the_spot.pk, "in").digits,
            "latitude": "31.2312",
            "longitude": "121.4737",
        },
        follow=True,
    )
    assert "签到成功" in response.content.decode()
    assert CheckIn.objects.filter(user=users.member).exists()
