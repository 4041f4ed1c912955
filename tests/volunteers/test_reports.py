"""The service statistics (服务统计): fill rates, no-shows, late cancellations,
net hours and points by person, group and month; who may see which branch;
the Excel and PDF downloads; a query budget that does not grow with the data."""

import datetime as dt
import re
import shutil
import subprocess
from decimal import Decimal
from io import BytesIO
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from portal.templatetags.portal_tags import minutes_to_hours, one_decimal
from tests.factories import make_duty, make_member, make_user
from volunteers.models import CheckIn, CreditEvent, Shift, SignUp
from volunteers.selectors import (
    Period,
    hours_by_group_and_month,
    people_served,
    report_headline,
    shift_fill_rates,
)

YEAR = timezone.localdate().year - 1
MARCH = Period(YEAR, 3)
URL = "/admin/volunteering/report/"


def at(month, day, hour):
    return timezone.make_aware(dt.datetime(YEAR, month, day, hour))


def shift(duty, start, *, hours, capacity, minimum=0):
    return Shift.objects.create(
        duty=duty, starts_at=start, ends_at=start + dt.timedelta(hours=hours),
        capacity=capacity, minimum=minimum,
    )  # fmt: skip


def signup(shift, user, status="confirmed"):
    return SignUp.objects.create(shift=shift, user=user, status=status)


def check_in(shift, user):
    return CheckIn.objects.create(
        shift=shift,
        user=user,
        checked_in_at=shift.starts_at,
        checked_out_at=shift.ends_at,
        in_method=CheckIn.Method.QR,
    )


def credit(record, minutes, points, *, revision=0, kind="credit"):
    return CreditEvent.objects.create(
        user=record.user, check_in=record, revision=revision, kind=kind, year=YEAR,
        minutes=minutes, points=Decimal(points),
    )  # fmt: skip


@pytest.fixture
def served(tree, users):
    """March: group A's 楼道清理 (4 places, minimum 3) with 赵敏 served, 刘洋 a
    no-show, the volunteer cancelled late and 王芳 waiting; the branch-wide
    敬老探访 (2 places) served by 赵敏 and the volunteer. April: 赵敏 again.
    赵敏's first credit was corrected (reversed, then 90 minutes). Branch B has
    a March shift of its own that must never show in branch A."""
    liu = make_user("liuyang")
    make_member(branch=tree.branch_a, building_group=tree.group_a, name="刘洋", user=liu)
    wang = make_user("wangfang", first_name="王芳")
    stairs = make_duty(tree, title="楼道清理", group=tree.group_a)
    visits = make_duty(tree, title="敬老探访")
    elsewhere = make_duty(tree, title="光明路巡逻", branch=tree.branch_b, group=tree.group_b)

    s1 = shift(stairs, at(3, 3, 9), hours=2, capacity=4, minimum=3)
    signup(s1, users.member)
    signup(s1, liu)
    signup(s1, users.volunteer, SignUp.Status.LATE_CANCELLED)
    signup(s1, wang, SignUp.Status.WAITLISTED)
    first = check_in(s1, users.member)
    credit(first, 120, "10")
    credit(first, -120, "-10", kind="reversal")
    credit(first, 90, "8", revision=1)

    s2 = shift(visits, at(3, 10, 14), hours=3, capacity=2, minimum=1)
    for user in (users.member, users.volunteer):
        signup(s2, user)
        credit(check_in(s2, user), 180, "15")

    s3 = shift(stairs, at(4, 5, 9), hours=1, capacity=2)
    signup(s3, users.member)
    credit(check_in(s3, users.member), 60, "5")

    b1 = shift(elsewhere, at(3, 4, 9), hours=2, capacity=2)
    outsider = make_user("outsider", first_name="黄强")
    signup(b1, outsider)
    credit(check_in(b1, outsider), 120, "10")
    return SimpleNamespace(s1=s1, s2=s2, s3=s3, liu=liu, wang=wang)


# --- The figures ------------------------------------------------------------------------------


def test_fill_rate_and_below_minimum_per_shift(tree, served):
    rows = list(shift_fill_rates(branch=tree.branch_a, period=MARCH))
    assert [r.pk for r in rows] == [served.s1.pk, served.s2.pk]
    stairs, visits = rows
    assert (stairs.confirmed, stairs.waitlisted, stairs.checked_in) == (2, 1, 1)
    assert stairs.fill_rate == pytest.approx(0.5) and stairs.below_minimum
    assert (visits.confirmed, visits.checked_in) == (2, 2)
    assert visits.fill_rate == pytest.approx(1.0) and not visits.below_minimum


def test_no_shows_late_cancellations_and_net_hours_per_person(tree, users, served):
    rows = {p.pk: p for p in people_served(branch=tree.branch_a, period=MARCH)}
    assert set(rows) == {users.member.pk, users.volunteer.pk, served.liu.pk, served.wang.pk}
    zhao = rows[users.member.pk]
    assert zhao.display_name == "赵敏"
    assert (zhao.sign_ups, zhao.attended, zhao.no_shows, zhao.late_cancellations) == (2, 2, 0, 0)
    # 90 (after the reversal of 120) + 180 minutes; 8 + 15 points.
    assert (zhao.minutes, zhao.points) == (270, Decimal("23.0"))
    liu = rows[served.liu.pk]
    assert (liu.display_name, liu.sign_ups, liu.attended, liu.no_shows) == ("刘洋", 1, 0, 1)
    volunteer = rows[users.volunteer.pk]
    assert (volunteer.sign_ups, volunteer.attended, volunteer.late_cancellations) == (2, 1, 1)
    assert volunteer.no_shows == 0 and volunteer.minutes == 180
    wang = rows[served.wang.pk]
    assert (wang.display_name, wang.sign_ups, wang.no_shows) == ("王芳", 1, 0)
    # Most hours first.
    assert next(iter(rows)) == users.member.pk


def test_headline_of_the_month(tree, served):
    h = report_headline(branch=tree.branch_a, period=MARCH)
    assert (h.shifts, h.places, h.filled, h.people) == (2, 6, 4, 2)
    assert h.fill_rate == pytest.approx(4 / 6)
    assert (h.minutes, h.hours, h.points) == (450, 7.5, Decimal("38.0"))
    assert (h.no_shows, h.late_cancellations, h.below_minimum) == (1, 1, 1)


def test_hours_and_points_by_duty_group_and_month(tree, served):
    table = hours_by_group_and_month(branch=tree.branch_a, year=YEAR, branch_label="全支部")
    by_title = {row.title: row for row in table.rows}
    assert set(by_title) == {"幸福里3号楼党小组", "全支部"}
    group = by_title["幸福里3号楼党小组"]
    assert (group.months[2].minutes, group.months[2].points) == (90, Decimal("8.0"))
    assert (group.months[3].minutes, group.months[3].points) == (60, Decimal("5.0"))
    assert (group.total.hours, group.total.points) == (2.5, Decimal("13.0"))
    assert by_title["全支部"].total.minutes == 360
    assert [c.minutes for c in table.totals.months][2:4] == [450, 60]
    assert (table.totals.total.hours, table.totals.total.points) == (8.5, Decimal("43.0"))


# --- The page and who sees it ------------------------------------------------------------------


def report(client, user, **params):
    client.force_login(user)
    return client.get(URL, {"year": YEAR, "month": 3, **params})


def test_secretary_sees_the_figures_of_their_branch(client, tree, users, served):
    response = report(client, users.secretary, branch=tree.branch_a.pk)
    body = response.content.decode()
    assert response.status_code == 200
    assert "服务统计" in body and "楼道清理" in body and "敬老探访" in body
    assert 'data-figure="hours">7.5<' in body and 'data-figure="fill-rate">67%<' in body
    assert "赵敏" in body and "刘洋" in body
    assert "光明路巡逻" not in body and "黄强" not in body
    assert "低于最少人数" in body


def test_secretary_of_another_branch_is_refused_and_not_offered_it(client, tree, users, served):
    response = report(client, users.secretary_b, branch=tree.branch_a.pk)
    assert response.status_code == 403
    assert "楼道清理" not in response.content.decode()
    for path in ("export/", "pdf/"):
        refused = client.get(f"{URL}{path}", {"branch": tree.branch_a.pk})
        assert refused.status_code == 403
    own = client.get(URL).content.decode()
    assert "光明路网格党支部" in own and "幸福里网格党支部" not in own
    assert "光明路巡逻" not in own  # March of last year is not the default month


def test_group_leader_sees_only_their_groups_duties(client, tree, users, served):
    body = report(client, users.leader, branch=tree.branch_a.pk).content.decode()
    assert "楼道清理" in body and "敬老探访" not in body
    assert 'data-figure="hours">1.5<' in body
    assert "只显示你所在楼栋党小组的岗位" in body
    assert report(client, users.leader, branch=tree.branch_b.pk).status_code == 403


@pytest.mark.parametrize("role", ["member", "volunteer", "partner"])
def test_people_without_a_staff_role_are_refused(client, users, role):
    client.force_login(getattr(users, role))
    assert client.get(URL).status_code in (302, 403)


def test_coordinator_may_pick_any_branch_under_their_grid(client, tree, users, served):
    body = report(client, users.coordinator, branch=tree.branch_b.pk).content.decode()
    assert "光明路巡逻" in body and "幸福里网格党支部" in body


def test_bad_filters_fall_back_with_a_message(client, tree, users, served):
    response = report(client, users.secretary, year="abc", month="13", branch="x1")
    body = response.content.decode()
    assert response.status_code == 200
    assert "不是" in body and 'data-report-problem="year"' in body
    assert 'data-report-problem="month"' in body and "没有这个编号的支部" in body
    assert "幸福里网格党支部" in body


def test_missing_branch_number_is_a_message_not_a_500(client, users):
    response = report(client, users.district, branch="99999999")
    assert response.status_code == 200
    assert "没有这个编号的支部" in response.content.decode()


# --- Downloads ---------------------------------------------------------------------------------


def test_excel_has_the_three_tables(client, tree, users, served):
    from openpyxl import load_workbook

    client.force_login(users.secretary)
    response = client.get(f"{URL}export/", {"branch": tree.branch_a.pk, "year": YEAR, "month": 3})
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert "filename*=UTF-8''%E6%9C%8D%E5%8A%A1%E7%BB%9F%E8%AE%A1-" in disposition
    assert f"{YEAR}-03.xlsx" in disposition
    book = load_workbook(BytesIO(response.content))
    shifts, people, groups = book.worksheets
    shift_rows = list(shifts.iter_rows(values_only=True))
    assert shift_rows[0][0] == "岗位" and len(shift_rows) == 3
    assert [r[0] for r in shift_rows[1:]] == ["楼道清理", "敬老探访"]
    assert shift_rows[1][5:9] == (2, 1, 1, 0.5)
    person_rows = list(people.iter_rows(values_only=True))
    assert person_rows[1][0] == "赵敏" and person_rows[1][5:7] == (4.5, 23.0)
    assert {r[0] for r in person_rows[1:]} == {"赵敏", "volunteer", "刘洋", "王芳"}
    group_rows = list(groups.iter_rows(values_only=True))
    assert group_rows[-1][0] == "合计" and group_rows[-1][-2:] == (8.5, 43.0)
    # Staff see names; never phones or ID numbers.
    text = repr([shift_rows, person_rows, group_rows])
    member = users.own_member
    assert member.phone not in text and member.id_number not in text


def pdf_text(content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


def test_monthly_pdf_names_the_branch_and_the_hours(client, tree, users, served):
    client.force_login(users.secretary)
    response = client.get(f"{URL}pdf/", {"branch": tree.branch_a.pk, "year": YEAR, "month": 3})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert f"幸福里网格党支部 {YEAR}年3月志愿服务月报" in text
    assert "7.5" in text and "赵敏" in text and "楼道清理" in text  # below minimum


# --- Query budget ---------------------------------------------------------------------------------


def _queries(client, tree, users, *, month, shifts):
    duty = make_duty(tree, title=f"巡逻{month}", group=tree.group_a)
    for i in range(shifts):
        s = shift(duty, at(month, 1 + i, 9), hours=2, capacity=3, minimum=2)
        person = make_user(f"p{shifts}-{i}")
        signup(s, person)
        credit(check_in(s, person), 120, "10")
    client.force_login(users.secretary)
    client.get(URL)  # warm the session and caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"branch": tree.branch_a.pk, "year": YEAR, "month": month})
    assert response.status_code == 200
    assert response.content.decode().count("data-shift=") == shifts
    return len(queries)


def test_query_count_does_not_grow_with_the_shifts(client, tree, users):
    two = _queries(client, tree, users, month=5, shifts=2)
    ten = _queries(client, tree, users, month=6, shifts=10)
    assert two == ten


def test_hours_and_points_show_one_decimal_in_the_language_of_the_page(client, tree, users):
    """Sums of points the database returns with many digits (SQLite: 22.7000000000000)
    show with one decimal; English groups thousands (Chinese does not)."""
    duty = make_duty(tree, title="楼道清理", group=tree.group_a)
    for day, points in ((3, "7.7"), (10, "7.5"), (17, "7.5")):
        credit(check_in(shift(duty, at(3, day, 9), hours=2, capacity=2), users.member), 114, points)
    big = shift(duty, at(3, 24, 9), hours=2, capacity=2)
    credit(check_in(big, users.volunteer), 60 * 1500, "1000")
    body = report(client, users.secretary, branch=tree.branch_a.pk).content.decode()
    assert not re.search(r"\d\.\d{2,}", body.split("data-report-headline", 1)[1])
    assert 'data-col="points">22.7<' in body and 'data-col="hours">5.7<' in body
    assert 'data-figure="hours">1505.7<' in body and 'data-figure="points">1022.7<' in body
    with translation.override("en"):
        assert (minutes_to_hours(90342), one_decimal(Decimal("1022.70000"))) == (
            "1,505.7",
            "1,022.7",
        )
