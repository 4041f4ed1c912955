"""A repeat rule no date matches (30 February) is a form error at once, not
seconds of dateutil walking to the year 9999; the expansion is bounded before
it starts (branches.schedule.occurrences), for meetings and duty shifts alike."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from branches.models import Meeting
from branches.schedule import HORIZON_YEARS, occurrences
from tests.branches.test_meetings import _form
from tests.volunteers.test_signup import _duty_form
from volunteers.models import Duty

SHANGHAI = ZoneInfo("Asia/Shanghai")
NO_DATES = "年内没有任何日期"
DAILY_AT_MOST = "重复日程最多每天一次"


def local(*args):
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", NO_DATES),
        ("FREQ=WEEKLY;BYMONTH=4;BYMONTHDAY=31;COUNT=3", NO_DATES),
        ("FREQ=DAILY;BYYEARDAY=366;BYMONTH=1", NO_DATES),
        ("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", DAILY_AT_MOST),
        ("FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30", DAILY_AT_MOST),
    ],
)
def test_an_impossible_meeting_rule_is_a_form_error(client, tree, users, rule, message):
    client.force_login(users.secretary)
    response = client.post("/admin/meetings/new/", _form(tree, repeat="custom", custom_rrule=rule))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Meeting.objects.exists()


def test_an_impossible_duty_rule_is_a_form_error(client, tree, users):
    client.force_login(users.secretary)
    shifts = [("2027-01-09 09:00", "2027-01-09 11:00")]
    response = client.post(
        "/admin/duties/new/",
        _duty_form(
            tree, shifts, repeat="custom", custom_rrule="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"
        ),
    )
    assert response.status_code == 200 and NO_DATES in response.content.decode()
    assert not Duty.objects.exists()


def test_rare_dates_are_found_within_the_horizon_and_not_beyond():
    # 29 February: the same dates as without the bound.
    starts = occurrences("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", local(2027, 3, 1, 19, 30))
    assert starts == [
        local(2028, 2, 29, 19, 30),
        local(2032, 2, 29, 19, 30),
        local(2036, 2, 29, 19, 30),
    ]
    # A yearly rule stops at the horizon, whatever its count.
    starts = occurrences("FREQ=YEARLY;COUNT=24", local(2027, 1, 10, 9, 0))
    assert len(starts) == HORIZON_YEARS + 1 and starts[-1] == local(2037, 1, 10, 9, 0)
    # Weekdays and week numbers survive the expansion 400·k years later.
    starts = occurrences("FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO;COUNT=2", local(2027, 1, 1, 9, 0))
    assert starts == [local(2027, 1, 4, 9, 0), local(2028, 1, 3, 9, 0)]
    assert all(s.weekday() == 0 for s in starts)
    # UNTIL is kept.
    starts = occurrences("FREQ=WEEKLY;UNTIL=20270125T000000", local(2027, 1, 4, 9, 0))
    assert starts == [local(2027, 1, 4, 9, 0), local(2027, 1, 11, 9, 0), local(2027, 1, 18, 9, 0)]


def test_a_first_date_near_the_end_of_time_is_no_error():
    with pytest.raises(ValidationError):
        occurrences("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", local(9999, 3, 1, 9, 0))
    assert occurrences("FREQ=DAILY;COUNT=3", local(9999, 12, 30, 9, 0)) == [
        local(9999, 12, 30, 9, 0),
        local(9999, 12, 31, 9, 0),
    ]
