"""三会一课 compliance: the monthly and quarterly requirements, attendance rates,
overdue records, the roll-up, its query count, and who may see which unit."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from branches.compliance import (
    State,
    branch_compliance,
    period_bounds,
    unit_rollup,
)
from branches.models import Attendance, GridBranchPage, GridPage, Meeting, MeetingKind
from tests.factories import add_page, make_member

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2025, 8, 15, 12, 0, tzinfo=SH)
K = MeetingKind


def at(month, day=10, hour=19, year=2025):
    return dt.datetime(year, month, day, hour, 0, tzinfo=SH)


def meet(branch, kind, starts_at, *, status=Meeting.Status.SCHEDULED, minutes="会议记录", rows=()):
    """A meeting with attendance ``rows``: [(member, status)]."""
    meeting = Meeting.objects.create(
        branch=branch,
        kind=kind,
        title=f"{kind} {starts_at:%m-%d}",
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=2),
        place="党群服务站",
        status=status,
        minutes=minutes,
    )
    Attendance.objects.bulk_create(
        [Attendance(meeting=meeting, member=m, status=s) for m, s in rows]
    )
    return meeting


def present(*members):
    return [(m, Attendance.Status.PRESENT) for m in members]


@pytest.fixture
def people(tree):
    return [make_member(branch=tree.branch_a, name=f"党员{i}") for i in range(4)]


# --- Periods and requirements --------------------------------------------------------------


def test_periods_are_calendar_months_and_quarters_in_shanghai():
    assert period_bounds(2025, "month", 12) == (
        dt.datetime(2025, 12, 1, tzinfo=SH),
        dt.datetime(2026, 1, 1, tzinfo=SH),
    )
    assert period_bounds(2025, "quarter", 3) == (
        dt.datetime(2025, 7, 1, tzinfo=SH),
        dt.datetime(2025, 10, 1, tzinfo=SH),
    )


def test_months_and_quarters_met_missed_open_and_future(tree, people):
    b = tree.branch_a
    meet(b, K.COMMITTEE, at(1), rows=present(*people))
    meet(b, K.COMMITTEE, at(3), rows=present(*people))
    meet(b, K.COMMITTEE, at(3, 20), rows=present(*people))
    meet(b, K.ASSEMBLY, at(2), rows=present(*people))
    meet(b, K.GROUP, at(7), rows=present(*people))
    # Late on 31 March in Shanghai is still March (15:30 UTC).
    meet(b, K.PARTY_DAY, dt.datetime(2025, 3, 31, 23, 30, tzinfo=SH), rows=present(*people))

    report = branch_compliance(b, 2025, now=NOW)
    cell = report.cells
    assert (cell[(K.COMMITTEE, 1)].state, cell[(K.COMMITTEE, 1)].count) == (State.MET, 1)
    assert cell[(K.COMMITTEE, 2)].state == State.MISSED
    assert cell[(K.COMMITTEE, 3)].count == 2 and cell[(K.COMMITTEE, 3)].met
    assert cell[(K.COMMITTEE, 8)].state == State.OPEN  # August is running
    assert cell[(K.COMMITTEE, 9)].state == State.FUTURE
    assert cell[(K.PARTY_DAY, 3)].met and cell[(K.PARTY_DAY, 4)].missed
    assert cell[(K.GROUP, 7)].met and cell[(K.GROUP, 6)].missed
    # Quarterly kinds: one meeting anywhere in the quarter meets it.
    assert cell[(K.ASSEMBLY, 1)].met and cell[(K.ASSEMBLY, 2)].missed
    assert cell[(K.ASSEMBLY, 3)].state == State.OPEN
    assert cell[(K.ASSEMBLY, 4)].state == State.FUTURE
    assert cell[(K.LECTURE, 1)].missed and cell[(K.LECTURE, 2)].missed
    assert report.cell(K.ASSEMBLY, 3) is cell[(K.ASSEMBLY, 1)]
    # Closed periods: Jan-Jul for the 3 monthly kinds, Q1-Q2 for the 2 quarterly kinds.
    assert len(report.missed) == (21 - 2 - 1 - 1) + (4 - 1)
    assert report.held == {K.COMMITTEE: 3, K.ASSEMBLY: 1, K.GROUP: 1, K.PARTY_DAY: 1}
    assert report.last_meeting == at(7)


def test_a_month_is_missed_only_after_it_has_ended(tree):
    last_day = dt.datetime(2025, 7, 31, 20, 0, tzinfo=SH)
    first_day = dt.datetime(2025, 8, 1, 9, 0, tzinfo=SH)
    assert branch_compliance(tree.branch_a, 2025, now=last_day).cells[(K.COMMITTEE, 7)].state == (
        State.OPEN
    )
    assert branch_compliance(tree.branch_a, 2025, now=first_day).cells[(K.COMMITTEE, 7)].missed


def test_cancelled_and_future_meetings_do_not_count(tree, people):
    b = tree.branch_a
    meet(b, K.COMMITTEE, at(4), status=Meeting.Status.CANCELLED, rows=present(*people))
    meet(b, K.COMMITTEE, at(8, 20), rows=[(people[0], Attendance.Status.INVITED)])
    meet(b, K.LECTURE, at(11))
    report = branch_compliance(b, 2025, now=NOW)
    assert report.cells[(K.COMMITTEE, 4)].missed
    assert report.cells[(K.COMMITTEE, 8)].state == State.OPEN
    assert report.cells[(K.LECTURE, 4)].state == State.FUTURE
    assert report.held == {}
    assert report.attendance_total.rows == 0 and report.attendance_total.rate is None
    assert report.last_meeting is None
    assert report.missing_records == []


def test_attendance_rate_is_present_over_everyone_invited(tree, people):
    b = tree.branch_a
    p0, p1, p2, p3 = people
    meet(
        b,
        K.ASSEMBLY,
        at(5),
        rows=[
            (p0, Attendance.Status.PRESENT),
            (p1, Attendance.Status.PRESENT),
            (p2, Attendance.Status.LEAVE),
            (p3, Attendance.Status.ABSENT),
        ],
    )
    meet(b, K.LECTURE, at(6), rows=[(p0, Attendance.Status.PRESENT), (p1, "invited")])
    # Neither a cancelled nor a future meeting's rows count.
    meet(b, K.LECTURE, at(6, 12), status=Meeting.Status.CANCELLED, rows=present(p2, p3))
    meet(b, K.LECTURE, at(9), rows=present(p2, p3))
    # Another branch's meetings do not count either.
    other = make_member(branch=tree.branch_b, name="外支部")
    meet(tree.branch_b, K.ASSEMBLY, at(5), rows=[(other, Attendance.Status.ABSENT)])

    report = branch_compliance(b, 2025, now=NOW)
    assembly = report.attendance[K.ASSEMBLY]
    assert (assembly.rows, assembly.present, assembly.leave, assembly.absent) == (4, 2, 1, 1)
    assert assembly.rate == 0.5
    lecture = report.attendance[K.LECTURE]
    assert (lecture.rows, lecture.present, lecture.unrecorded) == (2, 1, 1)
    total = report.attendance_total
    assert (total.rows, total.present, total.leave) == (6, 3, 1)
    assert total.percent == 50


def test_overdue_records(tree, people):
    b = tree.branch_a
    no_attendance = meet(b, K.COMMITTEE, at(6), rows=[(p, "invited") for p in people])
    no_minutes = meet(b, K.COMMITTEE, at(7), minutes="  \n ", rows=present(*people))
    neither = meet(b, K.PARTY_DAY, at(7, 20), minutes="", rows=[])
    meet(b, K.GROUP, at(7, 25), rows=present(*people))  # complete
    # Within the grace period: not overdue yet.
    meet(b, K.COMMITTEE, at(8, 12), minutes="", rows=[(people[0], "invited")])
    # One recorded row is enough ("attendance recorded").
    meet(b, K.LECTURE, at(5), rows=[(people[0], "absent"), (people[1], "invited")])

    report = branch_compliance(b, 2025, now=NOW)
    overdue = {m.meeting_id: (m.no_attendance, m.no_minutes) for m in report.missing_records}
    assert overdue == {
        no_attendance.pk: (True, False),
        no_minutes.pk: (False, True),
        neither.pk: (True, True),
    }
    assert [m.meeting_id for m in report.missing_records] == [
        no_attendance.pk,
        no_minutes.pk,
        neither.pk,
    ]
    assert report.overdue == len(report.missed) + 3


def test_a_past_year_is_closed_and_a_future_year_is_all_future(tree):
    past = branch_compliance(tree.branch_a, 2024, now=NOW)
    assert len(past.missed) == 3 * 12 + 2 * 4
    future = branch_compliance(tree.branch_a, 2026, now=NOW)
    assert {c.state for c in future.cells.values()} == {State.FUTURE}
    assert len(future.cells) == 3 * 12 + 2 * 4


# --- Roll-up ------------------------------------------------------------------------------------


def add_branch(tree, title, parent=None):
    parent = parent or tree.grid2
    grid = add_page(parent, GridPage(title=f"{title}网格", slug=f"g-{title}", level="3"))
    return add_page(grid, GridBranchPage(title=title, slug=f"b-{title}"))


def comply_fully(branch, members, until_month=7):
    for month in range(1, until_month + 1):
        for kind in (K.COMMITTEE, K.GROUP, K.PARTY_DAY):
            meet(branch, kind, at(month), rows=present(*members))
    for month in (2, 5):
        for kind in (K.ASSEMBLY, K.LECTURE):
            meet(branch, kind, at(month, 15), rows=present(*members))


def test_rollup_orders_most_overdue_first_then_by_name(tree, people):
    comply_fully(tree.branch_a, people)  # nothing overdue
    comply_fully(tree.branch_b, [], until_month=6)  # July missed ×3
    empty_b = add_branch(tree, "B支部")  # everything missed
    empty_a = add_branch(tree, "A支部")
    add_page(tree.other_l1, GridPage(title="西城二级", slug="w2", level="2"))

    rollup = unit_rollup(tree.district, 2025, now=NOW)
    assert [r.branch_id for r in rollup.rows] == [
        empty_a.pk,
        empty_b.pk,
        tree.branch_b.pk,
        tree.branch_a.pk,
    ]
    by_id = {r.branch_id: r for r in rollup.rows}
    assert by_id[empty_a.pk].missed == 25 and by_id[empty_a.pk].held == 0
    assert by_id[empty_a.pk].last_meeting is None
    assert by_id[tree.branch_b.pk].missed == 3
    assert by_id[tree.branch_b.pk].attendance.rate is None  # nobody invited
    a = by_id[tree.branch_a.pk]
    assert (a.overdue, a.held, a.attendance.rate) == (0, 25, 1.0)
    assert a.last_meeting == at(7)
    assert (rollup.behind, rollup.total) == (3, 4)

    only_a = unit_rollup(tree.grid3a, 2025, now=NOW)
    assert [r.branch_id for r in only_a.rows] == [tree.branch_a.pk]
    assert unit_rollup(tree.other_l1, 2025, now=NOW).rows == []


def test_rollup_counts_records_missing_per_branch(tree, people):
    comply_fully(tree.branch_a, people)
    meet(tree.branch_a, K.COMMITTEE, at(7, 2), minutes="")
    meet(tree.branch_a, K.GROUP, at(7, 3), rows=[(people[0], "invited")])
    row = next(
        r for r in unit_rollup(tree.grid2, 2025, now=NOW).rows if r.branch_id == tree.branch_a.pk
    )
    assert (row.missed, row.missing_records, row.overdue) == (0, 2, 2)


def _queries(fn):
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_branches_or_meetings(tree, people):
    comply_fully(tree.branch_a, people[:2], until_month=2)
    comply_fully(tree.branch_b, [], until_month=1)
    small_rollup = _queries(lambda: unit_rollup(tree.district, 2025, now=NOW))
    small_branch = _queries(lambda: branch_compliance(tree.branch_a, 2025, now=NOW))

    for i in range(6):
        branch = add_branch(tree, f"支部{i}")
        members = [make_member(branch=branch, name=f"成员{i}{j}") for j in range(2)]
        comply_fully(branch, members)
        meet(branch, K.COMMITTEE, at(7, 2), minutes="", rows=[(members[0], "invited")])
    comply_fully(tree.branch_a, people)
    assert GridBranchPage.objects.count() == 8

    assert _queries(lambda: unit_rollup(tree.district, 2025, now=NOW)) == small_rollup
    assert _queries(lambda: branch_compliance(tree.branch_a, 2025, now=NOW)) == small_branch
    assert small_rollup <= 5 and small_branch <= 4


# --- The admin page --------------------------------------------------------------------------------

LAST_YEAR = timezone.localdate().year - 1


def last_year(month, day=10):
    return dt.datetime(LAST_YEAR, month, day, 19, 0, tzinfo=SH)


@pytest.fixture
def history(tree, people):
    meet(tree.branch_a, K.COMMITTEE, last_year(3), rows=present(*people), minutes="")
    meet(tree.branch_a, K.ASSEMBLY, last_year(2), rows=present(*people))
    secret = meet(tree.branch_b, K.COMMITTEE, last_year(4))
    secret.title = "光明路机密议题"
    secret.save()
    return secret


def page(client, user, query=""):
    client.force_login(user)
    return client.get(f"/admin/compliance/{query}")


def test_district_admin_sees_the_district_rollup_by_default(client, tree, users, history):
    response = page(client, users.district, f"?year={LAST_YEAR}")
    assert response.status_code == 200
    body = response.content.decode()
    assert "data-compliance-rollup" in body
    assert f'data-branch="{tree.branch_a.pk}"' in body
    assert f'data-branch="{tree.branch_b.pk}"' in body
    assert 'data-behind="2" data-total="2"' in body
    assert f"?unit={tree.branch_a.pk}&amp;year={LAST_YEAR}" in body


def test_branch_grid_shows_months_kinds_attendance_and_overdue(client, tree, users, history):
    response = page(client, users.district, f"?unit={tree.branch_a.pk}&year={LAST_YEAR}")
    assert response.status_code == 200
    body = response.content.decode()
    assert "data-compliance-grid" in body and "data-compliance-branch" in body
    assert 'data-kind="committee" data-period="3">' in body
    report = response.context["report"]
    assert report.cells[(K.COMMITTEE, 3)].met and report.cells[(K.COMMITTEE, 4)].missed
    assert report.attendance_total.percent == 100
    # The committee meeting in March has no minutes.
    assert [m.title for m in report.missing_records] == [f"{K.COMMITTEE} 03-10"]
    assert "data-compliance-records" in body and "光明路机密议题" not in body
    # Quarterly kinds span the quarter's three months.
    assert body.count('rowspan="3"') == 2 * 4


def test_coordinator_sees_their_grid_and_its_branches_only(client, tree, users, history):
    response = page(client, users.coordinator, f"?year={LAST_YEAR}")
    assert response.status_code == 200
    assert response.context["unit"].pk == tree.grid2.pk
    assert {r.branch_id for r in response.context["rollup"].rows} == {
        tree.branch_a.pk,
        tree.branch_b.pk,
    }
    assert page(client, users.coordinator, f"?unit={tree.branch_b.pk}").status_code == 200
    for unit in (tree.district, tree.grid1, tree.other_l1):
        response = page(client, users.coordinator, f"?unit={unit.pk}")
        assert response.status_code == 403
        assert unit.title not in response.content.decode()


def test_secretary_sees_their_own_branch_only(client, tree, users, history):
    response = page(client, users.secretary, f"?year={LAST_YEAR}")
    assert response.status_code == 200
    assert response.context["unit"].pk == tree.branch_a.pk
    assert "data-compliance-grid" in response.content.decode()

    for unit in (tree.branch_b, tree.grid2, tree.district):
        response = page(client, users.secretary, f"?unit={unit.pk}&year={LAST_YEAR}")
        assert response.status_code == 403
        body = response.content.decode()
        assert "data-compliance-forbidden" in body
        assert tree.branch_b.title not in body and "光明路机密议题" not in body
        assert "data-compliance-grid" not in body and "data-compliance-rollup" not in body


def test_members_and_group_leaders_may_not_see_compliance(client, tree, users, history):
    for user in (users.member, users.leader, users.volunteer):
        response = page(client, user, f"?unit={tree.branch_a.pk}&year={LAST_YEAR}")
        assert response.status_code in (302, 403)
        assert tree.branch_a.title not in response.content.decode()
    client.logout()
    assert client.get("/admin/compliance/").status_code == 302


@pytest.mark.parametrize("year", ["abc", "1999", "3000", "2024.5", "-1", "9" * 30, "²"])
def test_bad_year_is_reported_and_the_current_year_shown(client, tree, users, year):
    response = page(client, users.secretary, f"?year={year}")
    assert response.status_code == 200
    assert 'data-compliance-problem="year"' in response.content.decode()
    assert response.context["year"] == timezone.localdate().year


def test_bad_unit_is_reported_and_the_users_own_unit_shown(client, tree, users):
    for unit in ("abc", "999999", str(tree.group_a.pk), "-3", "9" * 30, "²", "1e3"):
        response = page(client, users.secretary, f"?unit={unit}")
        assert response.status_code == 200
        assert 'data-compliance-problem="unit"' in response.content.decode()
        assert response.context["unit"].pk == tree.branch_a.pk


def test_rollup_paginates_fifty_branches_a_page(client, tree, users):
    west = add_page(tree.other_l1, GridPage(title="西城二级", slug="w2", level="2"))
    for i in range(52):
        add_branch(tree, f"分页支部{i:02d}", parent=west)
    first = page(client, users.district, f"?unit={tree.district.pk}&year={LAST_YEAR}")
    assert first.status_code == 200
    assert len(first.context["rows"]) == 50
    assert first.context["rollup"].total == 54
    second = client.get(f"/admin/compliance/?unit={tree.district.pk}&year={LAST_YEAR}&p=2")
    assert len(second.context["rows"]) == 4
    assert "p=2" in first.content.decode()
    assert client.get("/admin/compliance/?p=99").status_code == 200


def test_menu_item_is_shown_to_coordinators_and_secretaries_only(rf, users):
    from branches.compliance_views import compliance_menu_item

    item = compliance_menu_item()
    for user, shown in (
        (users.district, True),
        (users.coordinator, True),
        (users.secretary, True),
        (users.leader, False),
        (users.member, False),
    ):
        request = rf.get("/admin/")
        request.user = user
        assert item.is_shown(request) is shown
