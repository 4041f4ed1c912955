"""Calendars: a unit's public calendar page and iCalendar feed, and a member's
private feed behind a renewable secret URL. Every feed is parsed back with
icalendar; query counts do not grow with the number of events."""

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from branches.models import MeetingKind
from branches.schedule import meeting_cancel, meeting_schedule
from portal.models import CalendarToken
from portal.publishing import ActivityPage
from tests.factories import add_page, make_member, publish

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = timezone.localtime(timezone.now(), SHANGHAI).date()


def at(days, hour=19, minute=30):
    """A Shanghai wall-clock time ``days`` from today."""
    return dt.datetime.combine(TODAY + dt.timedelta(days=days), dt.time(hour, minute), SHANGHAI)


def meeting(branch, title, *, days=7, public=False, invitees=None, hour=19, minute=30, **kw):
    kw.setdefault("kind", MeetingKind.PARTY_DAY)
    kw.setdefault("place", "党群服务中心")
    (made,) = meeting_schedule(
        branch=branch,
        title=title,
        starts_at=at(days, hour, minute),
        duration=dt.timedelta(hours=1, minutes=30),
        public=public,
        invitees=invitees,
        **kw,
    )
    return made


def activity(unit, title, *, days=5, **kw):
    return publish(
        unit, ActivityPage(title=title, starts_at=at(days, 9, 0), place="南湖公园", **kw)
    )


def unit_ics_url(unit):
    return unit.url + unit.reverse_subpage("calendar_ics")


def calendar_url(unit):
    return unit.url + unit.reverse_subpage("calendar")


def feed_url(token):
    return reverse("member_calendar_feed", args=[token])


def get_calendar(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content), response.content.decode()


def events(calendar):
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def titles(calendar):
    return {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}


@pytest.fixture
def token(users):
    return CalendarToken.objects.create(user=users.member)


# --- The feed itself ------------------------------------------------------------------------


def test_feed_is_a_calendar_in_shanghai_time(client, tree):
    party_day = meeting(tree.branch_a, "主题党日", public=True, agenda="学习二十大精神")
    calendar, text = get_calendar(client, unit_ics_url(tree.branch_a))

    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert calendar["PRODID"]
    assert tree.branch_a.title in str(calendar["X-WR-CALNAME"])
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert "X-PUBLISHED-TTL:PT1H" in text
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]

    event = events(calendar)[f"meeting-{party_day.pk}@tongxin"]
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event["DTEND"].params["TZID"] == "Asia/Shanghai"
    start, end = event["DTSTART"].dt, event["DTEND"].dt
    assert (start.date(), start.hour, start.minute) == (at(7).date(), 19, 30)
    assert (end.hour, end.minute) == (21, 0)
    assert start.utcoffset() == dt.timedelta(hours=8)
    assert f"DTSTART;TZID=Asia/Shanghai:{at(7):%Y%m%d}T193000" in text
    assert event["DTSTAMP"]
    assert str(event["SUMMARY"]) == "主题党日"
    assert str(event["LOCATION"]) == "党群服务中心"
    assert str(event["DESCRIPTION"]) == "学习二十大精神"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["SEQUENCE"] == 0
    assert str(event["URL"]).endswith(calendar_url(tree.branch_a))


def test_empty_feed_still_has_its_time_zone(client, tree):
    calendar, _ = get_calendar(client, unit_ics_url(tree.branch_b))
    assert events(calendar) == {}
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]


def test_unit_feed_has_public_meetings_and_live_activities_only(client, tree):
    public_a = meeting(tree.branch_a, "A 主题党日", public=True)
    meeting(tree.branch_a, "A 支委会", kind=MeetingKind.COMMITTEE)
    public_b = meeting(tree.branch_b, "B 主题党日", public=True)
    tree_planting = activity(tree.branch_a, "植树活动", summary="欢迎居民参加")
    add_page(tree.branch_a, ActivityPage(title="草稿活动", starts_at=at(3), place="x", live=False))
    clean_up = activity(tree.branch_b, "清洁家园")

    calendar, _ = get_calendar(client, unit_ics_url(tree.branch_a))
    assert titles(calendar) == {"A 主题党日", "植树活动"}
    found = events(calendar)
    planting = found[f"activity-{tree_planting.pk}@tongxin"]
    assert str(planting["DESCRIPTION"]) == "欢迎居民参加"
    assert str(planting["URL"]).endswith(tree_planting.url)
    assert planting["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert planting["DTSTART"].dt.hour == 9
    assert f"meeting-{public_a.pk}@tongxin" in found

    # A grid's feed covers every branch under it; another grid's does not.
    calendar, _ = get_calendar(client, unit_ics_url(tree.grid2))
    assert titles(calendar) == {"A 主题党日", "B 主题党日", "植树活动", "清洁家园"}
    calendar, _ = get_calendar(client, unit_ics_url(tree.district))
    assert titles(calendar) == {"A 主题党日", "B 主题党日", "植树活动", "清洁家园"}
    calendar, _ = get_calendar(client, unit_ics_url(tree.other_l1))
    assert titles(calendar) == set()
    assert public_b and clean_up


def test_group_feed_has_its_public_group_meetings(client, tree):
    meeting(tree.branch_a, "3号楼党小组会", kind=MeetingKind.GROUP, group=tree.group_a, public=True)
    meeting(tree.branch_a, "支部主题党日", public=True)
    calendar, _ = get_calendar(client, unit_ics_url(tree.group_a))
    assert titles(calendar) == {"3号楼党小组会"}


def test_feed_window_is_bounded(client, tree):
    meeting(tree.branch_a, "太早", public=True, days=-200)
    meeting(tree.branch_a, "上个月", public=True, days=-30)
    meeting(tree.branch_a, "明年", public=True, days=300)
    meeting(tree.branch_a, "太远", public=True, days=500)
    calendar, _ = get_calendar(client, unit_ics_url(tree.branch_a))
    assert titles(calendar) == {"上个月", "明年"}


def test_moving_a_meeting_keeps_its_uid_and_raises_its_sequence(client, tree):
    party_day = meeting(tree.branch_a, "主题党日", public=True)
    uid = f"meeting-{party_day.pk}@tongxin"
    before = events(get_calendar(client, unit_ics_url(tree.branch_a))[0])[uid]

    party_day.starts_at += dt.timedelta(days=1, hours=-1)
    party_day.ends_at += dt.timedelta(days=1, hours=-1)
    party_day.save()

    after = events(get_calendar(client, unit_ics_url(tree.branch_a))[0])
    assert list(after) == [uid]
    moved = after[uid]
    assert moved["SEQUENCE"] > before["SEQUENCE"]
    assert moved["DTSTART"].dt.date() == at(8).date()
    assert (moved["DTSTART"].dt.hour, moved["DTSTART"].dt.minute) == (18, 30)
    assert moved["DTSTART"].params["TZID"] == "Asia/Shanghai"


def test_editing_an_activity_keeps_its_uid_and_raises_its_sequence(client, tree):
    planting = activity(tree.branch_a, "植树活动")
    uid = f"activity-{planting.pk}@tongxin"
    before = events(get_calendar(client, unit_ics_url(tree.branch_a))[0])[uid]

    planting.starts_at = at(6, 14, 0)
    planting.save_revision().publish()

    moved = events(get_calendar(client, unit_ics_url(tree.branch_a))[0])[uid]
    assert moved["SEQUENCE"] > before["SEQUENCE"]
    assert (moved["DTSTART"].dt.date(), moved["DTSTART"].dt.hour) == (at(6).date(), 14)


def test_a_cancelled_meeting_stays_in_the_feeds_as_cancelled(client, tree, users, token):
    party_day = meeting(tree.branch_a, "主题党日", public=True)
    uid = f"meeting-{party_day.pk}@tongxin"
    meeting_cancel(meeting=party_day)

    for url in (unit_ics_url(tree.branch_a), feed_url(token.token)):
        event = events(get_calendar(client, url)[0])[uid]
        assert str(event["STATUS"]) == "CANCELLED"
        assert event["SEQUENCE"] == 1


# --- The member's private feed ------------------------------------------------------------


def test_member_feed_has_the_members_invited_meetings_only(client, tree, users, token):
    other = make_member(branch=tree.branch_a, name="陈静")
    committee = meeting(
        tree.branch_a, "支委会", kind=MeetingKind.COMMITTEE, invitees=[users.own_member]
    )
    assembly = meeting(tree.branch_a, "党员大会", kind=MeetingKind.ASSEMBLY, days=20)
    meeting(tree.branch_a, "别人的党课", kind=MeetingKind.LECTURE, invitees=[other])
    meeting(tree.branch_b, "B 主题党日", public=True)

    calendar, _ = get_calendar(client, feed_url(token.token))
    found = events(calendar)
    assert set(found) == {f"meeting-{committee.pk}@tongxin", f"meeting-{assembly.pk}@tongxin"}
    event = found[f"meeting-{committee.pk}@tongxin"]
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert (event["DTSTART"].dt.hour, event["DTSTART"].dt.minute) == (19, 30)
    assert "URL" not in event  # a private meeting has no public page
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]


def test_unknown_token_is_404(client, db):
    assert client.get(feed_url("no-such-token")).status_code == 404


def test_feed_of_an_inactive_user_is_404(client, users, token):
    users.member.is_active = False
    users.member.save()
    assert client.get(feed_url(token.token)).status_code == 404


def test_renewing_the_token_stops_the_old_address(client, users):
    client.force_login(users.member)
    response = client.post(reverse("renew_calendar_token"), follow=True)
    assert response.status_code == 200
    first = CalendarToken.objects.get(user=users.member).token
    assert len(response.context["messages"]) == 1
    assert client.get(feed_url(first)).status_code == 200

    client.post(reverse("renew_calendar_token"))
    second = CalendarToken.objects.get(user=users.member).token
    assert second != first
    client.logout()  # calendar apps do not sign in
    assert client.get(feed_url(first)).status_code == 404
    assert client.get(feed_url(second)).status_code == 200


def test_renewing_needs_a_signed_in_account_and_a_post(client, users):
    url = reverse("renew_calendar_token")
    response = client.post(url)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(users.member)
    assert client.get(url).status_code == 405
    assert not CalendarToken.objects.exists()


def test_my_page_shows_the_absolute_subscription_address(client, users, settings):
    settings.PUBLIC_BASE_URL = "https://tongxin.example.org"  # the address, not the request's host
    client.force_login(users.member)
    body = client.get(reverse("me")).content.decode()
    assert reverse("renew_calendar_token") in body
    assert "/calendar/" not in body.replace(reverse("renew_calendar_token"), "")
    client.post(reverse("renew_calendar_token"))
    token = CalendarToken.objects.get(user=users.member).token
    body = client.get(reverse("me")).content.decode()
    assert f'value="https://tongxin.example.org/calendar/{token}.ics"' in body
    assert f'href="webcal://tongxin.example.org/calendar/{token}.ics"' in body


def test_a_volunteer_without_a_member_record_subscribes_to_their_shifts(client, tree, users):
    from tests.branches.test_calendar_sources import shift_at
    from tests.factories import make_duty
    from volunteers.duties.services import shift_sign_up

    duty = make_duty(tree, title="楼道清理志愿服务")
    shift_sign_up(shift=shift_at(duty, 2), user=users.volunteer)
    client.force_login(users.volunteer)
    assert reverse("renew_calendar_token") in client.get(reverse("me")).content.decode()
    client.post(reverse("renew_calendar_token"))
    token = CalendarToken.objects.get(user=users.volunteer).token
    assert feed_url(token) in client.get(reverse("me")).content.decode()
    client.logout()
    calendar = icalendar.Calendar.from_ical(client.get(feed_url(token)).content)
    assert [str(e["summary"]) for e in calendar.walk("VEVENT")] == ["楼道清理志愿服务"]


# --- The calendar page ----------------------------------------------------------------------


def test_calendar_page_without_events(client, tree):
    response = client.get(calendar_url(tree.branch_b))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="empty"' in body
    assert f'href="{unit_ics_url(tree.branch_b)}"' in body


def test_calendar_page_lists_upcoming_public_events_by_day(client, tree):
    meeting(tree.branch_a, "主题党日", public=True, days=2)
    cancelled = meeting(tree.branch_a, "取消的党课", public=True, days=2, hour=9)
    meeting_cancel(meeting=cancelled)
    meeting(tree.branch_a, "支委会", kind=MeetingKind.COMMITTEE, days=2)
    planting = activity(tree.branch_a, "植树活动", days=4)
    meeting(tree.branch_a, "两个月后", public=True, days=90)
    meeting(tree.branch_a, "上周", public=True, days=-7)

    response = client.get(calendar_url(tree.branch_a))
    assert response.status_code == 200
    days = response.context["days"]
    assert [day for day, _ in days] == [at(2).date(), at(4).date()]
    assert [item.title for item in days[0][1]] == ["取消的党课", "主题党日"]
    body = response.content.decode()
    assert "主题党日" in body and "植树活动" in body and "19:30" in body
    assert "支委会" not in body and "两个月后" not in body and "上周" not in body
    assert "<s>取消的党课</s>" in body
    assert f'<a href="{planting.url}">植树活动</a>' in body
    assert 'class="empty"' not in body
    assert f'href="{unit_ics_url(tree.branch_a)}"' in body

    # A grid above shows the branch's events too.
    response = client.get(calendar_url(tree.grid2))
    assert len(response.context["days"]) == 2


# --- Query budgets ------------------------------------------------------------------------


def _queries(client, url):
    client.get(url)  # warm the site's cached root paths
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_unit_feed_and_page_query_counts_do_not_grow_with_events(client, tree):
    meeting(tree.branch_a, "主题党日 0", public=True)
    activity(tree.branch_a, "活动 0")
    small_ics, _ = _queries(client, unit_ics_url(tree.grid2))
    small_page, _ = _queries(client, calendar_url(tree.grid2))
    for i in range(1, 8):
        meeting(tree.branch_a if i % 2 else tree.branch_b, f"主题党日 {i}", public=True, days=i)
        activity(tree.branch_b, f"活动 {i}", days=i)
    big_ics, response = _queries(client, unit_ics_url(tree.grid2))
    assert len(events(icalendar.Calendar.from_ical(response.content))) == 16
    assert big_ics == small_ics
    big_page, response = _queries(client, calendar_url(tree.grid2))
    assert response.context["event_count"] == 16
    assert big_page == small_page


def test_member_feed_query_count_does_not_grow_with_events(client, tree, users, token):
    meeting(tree.branch_a, "会议 0", public=True)
    small, _ = _queries(client, feed_url(token.token))
    for i in range(1, 10):
        meeting(tree.branch_a, f"会议 {i}", public=bool(i % 2), days=i)
    big, response = _queries(client, feed_url(token.token))
    assert len(events(icalendar.Calendar.from_ical(response.content))) == 10
    assert big == small
