"""Ranking volunteers for a service request: each factor moves a person the
way a dispatcher expects, busy people are left out, the reasons read in
Chinese, and the number of queries does not grow with the volunteers."""

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from branches.models import GridPage
from tests.factories import NOW, add_page, make_duty, make_member, make_shift, make_user
from volunteers.dispatch.matching import rank_candidates
from volunteers.models import CheckIn, Offer, ServiceRequest, SignUp, Skill, VolunteerProfile

# The request's place, and points north of it (1° of latitude ≈ 111.32 km).
LAT, LNG = 39.900000, 116.400000
METRE = 1 / 111_320
_numbers = itertools.count()


@pytest.fixture
def micro(tree):
    """A micro-grid inside third-level grid A: where the requests are."""
    return add_page(tree.grid3a, GridPage(title="幸福里一号微网格", slug="micro-a", level="micro"))


@pytest.fixture
def skills(db):
    return {name: Skill.objects.create(name=name) for name in ("急救培训", "电工")}


def volunteer(name, *, home=None, skills=(), metres=None, accepts=True, active=True):
    """A user with a volunteer profile; ``metres`` north of the request's point."""
    user = make_user(f"v{next(_numbers)}", first_name=name, is_active=active)
    profile = VolunteerProfile.objects.create(
        user=user,
        home_grid=home,
        latitude=None if metres is None else round(LAT + metres * METRE, 6),
        longitude=None if metres is None else LNG,
        accepts_tasks=accepts,
    )
    profile.skills.set(skills)
    return user


def service_request(tree, grid, *, skills=(), point=False, urgent=False, start_in=None, **kw):
    start = NOW + (start_in or dt.timedelta(days=1))
    request = ServiceRequest.objects.create(
        title="帮独居老人买药",
        category=ServiceRequest.Category.ELDERLY,
        grid=grid,
        branch=tree.branch_a,
        latitude=LAT if point else None,
        longitude=LNG if point else None,
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
        urgency=ServiceRequest.Urgency.URGENT if urgent else ServiceRequest.Urgency.NORMAL,
        **kw,
    )
    request.skills.set(skills)
    return request


def ranked(request, **kwargs):
    return {c.name: c for c in rank_candidates(request, **kwargs)}


def names(request, **kwargs):
    return [c.name for c in rank_candidates(request, **kwargs)]


def take_task(tree, user, *, days_ago=1, status=Offer.Status.COMPLETED):
    """A task ``user`` took ``days_ago`` days ago, on a request that is over."""
    past = service_request(tree, tree.grid3a, start_in=-dt.timedelta(days=days_ago))
    offer = Offer.objects.create(
        request=past, user=user, status=status, expires_at=past.window_start
    )
    Offer.objects.filter(pk=offer.pk).update(offered_at=NOW - dt.timedelta(days=days_ago))
    return offer


def shift_history(tree, user, *, attended=0, missed=0, late=0, days_ago=10):
    """Ended shifts ``user`` signed up for: came to ``attended``, did not come
    to ``missed``, and cancelled ``late`` of them late."""
    duty = make_duty(tree)
    outcomes = ["came"] * attended + ["missed"] * missed + ["late"] * late
    for k, outcome in enumerate(outcomes):
        shift = make_shift(duty, start_in=-dt.timedelta(days=days_ago + k))
        SignUp.objects.create(
            shift=shift,
            user=user,
            status=SignUp.Status.LATE_CANCELLED if outcome == "late" else SignUp.Status.CONFIRMED,
        )
        if outcome == "came":
            CheckIn.objects.create(
                shift=shift,
                user=user,
                checked_in_at=shift.starts_at,
                checked_out_at=shift.ends_at,
                in_method=CheckIn.Method.CODE,
            )


# --- Each factor, the others held equal ---------------------------------------------------------


def test_more_of_the_needed_skills_ranks_higher_and_none_still_ranks(tree, micro, skills):
    volunteer("两项都会", home=micro, skills=skills.values())
    volunteer("会一项", home=micro, skills=[skills["急救培训"]])
    volunteer("都不会", home=micro)
    request = service_request(tree, micro, skills=skills.values())

    found = ranked(request)

    assert names(request) == ["两项都会", "会一项", "都不会"]
    assert found["两项都会"].factors["skills"] == 30
    assert found["会一项"].factors["skills"] == 15
    assert found["都不会"].factors["skills"] == 0
    assert "具备所需技能：急救培训、电工" in found["两项都会"].reasons
    assert "具备所需技能：急救培训" in found["会一项"].reasons
    assert "缺少：电工" in found["会一项"].reasons
    assert "缺少：急救培训、电工" in found["都不会"].reasons


def test_nearer_in_the_grid_tree_ranks_higher(tree, micro):
    volunteer("别的一级网格", home=tree.other_l1)
    volunteer("同二级网格", home=tree.grid3b)
    volunteer("同三级网格", home=tree.grid3a)
    volunteer("同一微网格", home=micro)
    request = service_request(tree, micro)

    found = ranked(request)

    assert names(request) == ["同一微网格", "同三级网格", "同二级网格", "别的一级网格"]
    assert [found[n].factors["grid"] for n in names(request)] == [20, 14, 8, 0]
    assert "同一网格" in found["同一微网格"].reasons
    assert "同一三级网格" in found["同三级网格"].reasons
    assert "同一二级网格" in found["同二级网格"].reasons
    assert not {"同一网格", "同一三级网格", "同一二级网格"} & set(found["别的一级网格"].reasons)


def test_a_member_without_a_profile_lives_in_their_branch(tree, micro):
    make_member(branch=tree.branch_a, name="李党员", user=make_user("li"))
    make_member(branch=tree.branch_b, name="王党员", user=make_user("wang"))
    request = service_request(tree, micro)

    found = ranked(request)

    assert names(request) == ["李党员", "王党员"]
    assert found["李党员"].reasons[:2] == ["同一三级网格", "本支部党员"]
    assert found["王党员"].reasons[0] == "同一二级网格"


def test_members_of_the_requests_branch_rank_higher(tree, micro):
    for name, branch in (("外支部党员", tree.branch_b), ("本支部的", tree.branch_a)):
        user = volunteer(name, home=tree.grid2)
        make_member(branch=branch, name=name, user=user)
    request = service_request(tree, micro)

    found = ranked(request)

    assert names(request) == ["本支部的", "外支部党员"]
    assert found["本支部的"].factors["branch"] == 10
    assert found["外支部党员"].factors["branch"] == 0
    assert "本支部党员" in found["本支部的"].reasons
    assert "本支部党员" not in found["外支部党员"].reasons


def test_closer_by_coordinates_ranks_higher(tree, micro):
    volunteer("没有坐标", home=micro)
    volunteer("三公里外", home=micro, metres=3000)
    volunteer("六百米", home=micro, metres=600)
    volunteer("一百米", home=micro, metres=100)
    request = service_request(tree, micro, point=True)

    found = ranked(request)

    assert names(request)[:2] == ["一百米", "六百米"]
    assert found["一百米"].factors["distance"] == 20
    assert found["六百米"].factors["distance"] == 10
    assert found["三公里外"].factors["distance"] == 0
    assert "约 100 米" in found["一百米"].reasons
    assert "约 600 米" in found["六百米"].reasons
    assert "约 3.0 公里" in found["三公里外"].reasons
    assert not any("米" in r or "公里" in r for r in found["没有坐标"].reasons)


def test_reliable_volunteers_rank_higher_and_new_ones_are_neutral(tree, micro):
    flaky = volunteer("常缺勤", home=micro)
    shift_history(tree, flaky, attended=1, missed=3)
    late = volunteer("临时取消", home=micro)
    shift_history(tree, late, attended=2, late=2)
    volunteer("新志愿者", home=micro)
    steady = volunteer("全勤", home=micro)
    shift_history(tree, steady, attended=4)
    shift_history(tree, steady, missed=2, days_ago=400)  # over a year ago: forgotten
    request = service_request(tree, micro)

    found = ranked(request)

    assert names(request) == ["全勤", "新志愿者", "临时取消", "常缺勤"]
    assert [found[n].factors["reliability"] for n in names(request)] == [10, 7.5, 5, 2.5]
    assert "出勤率 100%" in found["全勤"].reasons
    assert "暂无出勤记录" in found["新志愿者"].reasons
    assert {"出勤率 50%", "临时取消 2 次"} <= set(found["临时取消"].reasons)
    assert {"出勤率 25%", "缺勤 3 次"} <= set(found["常缺勤"].reasons)


def test_fewer_tasks_in_the_last_30_days_rank_higher(tree, micro):
    busy_lately = volunteer("近期接单多", home=micro)
    take_task(tree, busy_lately, days_ago=3)
    take_task(tree, busy_lately, days_ago=5)
    volunteer("没接过单", home=micro)
    earlier = volunteer("上个月前接过", home=micro)
    for days in (40, 41, 42):
        take_task(tree, earlier, days_ago=days)
    request = service_request(tree, micro)

    found = ranked(request)

    assert names(request)[-1] == "近期接单多"
    assert found["近期接单多"].factors["load"] == 6
    assert found["没接过单"].factors["load"] == found["上个月前接过"].factors["load"] == 10
    assert "近30天已接 2 单" in found["近期接单多"].reasons
    assert "近30天未接单" in found["上个月前接过"].reasons


def test_an_urgent_request_weighs_nearness_more(tree, micro, skills):
    volunteer("远处的急救员", home=tree.other_l1, skills=[skills["急救培训"]])
    volunteer("附近的邻居", home=tree.grid3a, metres=600)

    normal = service_request(tree, micro, skills=[skills["急救培训"]], point=True)
    urgent = service_request(tree, micro, skills=[skills["急救培训"]], point=True, urgent=True)

    assert names(normal) == ["远处的急救员", "附近的邻居"]
    assert names(urgent) == ["附近的邻居", "远处的急救员"]
    assert ranked(urgent)["附近的邻居"].factors["grid"] == 21


def test_history_can_lift_someone_past_a_nearer_person(tree, micro):
    """Only the best is asked for: the nearer person has taken five tasks this
    month, the other none, and history decides."""
    near_but_busy = volunteer("同网格但常接单", home=micro)
    for days in range(1, 6):
        take_task(tree, near_but_busy, days_ago=days)
    volunteer("同三级网格", home=tree.grid3a)
    request = service_request(tree, micro)

    assert names(request, limit=1) == ["同三级网格"]


def test_skill_holders_beyond_the_neighbourhood_are_found(tree, micro, skills):
    """Four neighbours without the skill, and an electrician elsewhere in the
    first-level grid (outside the second-level grid, so not a neighbour)."""
    for k in range(4):
        volunteer(f"邻居{k}", home=micro)
    volunteer("一级网格的电工", home=tree.grid1, skills=[skills["电工"]])
    request = service_request(tree, micro, skills=[skills["电工"]])

    found = rank_candidates(request, limit=3)

    assert found[0].name == "一级网格的电工"
    assert "具备所需技能：电工" in found[0].reasons


def test_score_is_the_sum_of_the_factors_best_first(tree, micro, skills):
    for k in range(6):
        volunteer(f"志愿者{k}", home=[micro, tree.grid3a, tree.grid3b][k % 3], metres=200 * k)
    request = service_request(tree, micro, point=True, skills=[skills["电工"]])

    found = rank_candidates(request, limit=4)

    assert len(found) == 4
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    for c in found:
        assert c.score == pytest.approx(sum(c.factors.values()), abs=0.1)
        assert set(c.factors) == {"skills", "grid", "distance", "branch", "reliability", "load"}


# --- Who is not ranked --------------------------------------------------------------------------


def test_people_busy_then_or_already_offered_are_not_ranked(tree, micro):
    request = service_request(tree, micro)
    duty = make_duty(tree)
    start = request.window_start - NOW

    on_shift = volunteer("有重叠班次", home=micro)
    overlapping = make_shift(duty, start_in=start + dt.timedelta(hours=1))
    SignUp.objects.create(shift=overlapping, user=on_shift, status=SignUp.Status.CONFIRMED)
    waiting = volunteer("只在候补", home=micro)
    SignUp.objects.create(shift=overlapping, user=waiting, status=SignUp.Status.WAITLISTED)
    before = volunteer("班次在之前", home=micro)
    earlier = make_shift(duty, start_in=start - dt.timedelta(hours=2))  # ends as it starts
    SignUp.objects.create(shift=earlier, user=before, status=SignUp.Status.CONFIRMED)
    called_off = volunteer("班次已取消", home=micro)
    cancelled = make_shift(duty, start_in=start, cancelled=True)
    SignUp.objects.create(shift=cancelled, user=called_off, status=SignUp.Status.CONFIRMED)

    on_task = volunteer("有重叠任务", home=micro)
    other = service_request(tree, micro, start_in=start + dt.timedelta(minutes=30))
    Offer.objects.create(request=other, user=on_task, status=Offer.Status.ACCEPTED, expires_at=NOW)
    volunteer("不接任务", home=micro, accepts=False)
    volunteer("已停用", home=micro, active=False)
    offered = volunteer("已派过", home=micro)
    Offer.objects.create(request=request, user=offered, expires_at=NOW + dt.timedelta(hours=1))
    declined = volunteer("拒绝过", home=micro)
    Offer.objects.create(
        request=request, user=declined, status=Offer.Status.DECLINED, expires_at=NOW
    )
    make_user("普通账号")  # neither a volunteer nor a member

    assert sorted(names(request)) == sorted(["只在候补", "班次在之前", "班次已取消", "拒绝过"])


# --- Language and cost --------------------------------------------------------------------------


def test_reasons_follow_the_active_language(tree, micro, skills):
    volunteer("张三", home=micro, skills=[skills["电工"]], metres=340)
    request = service_request(tree, micro, skills=[skills["电工"]], point=True)

    assert rank_candidates(request)[0].reasons == [
        "具备所需技能：电工",
        "同一网格",
        "约 340 米",
        "暂无出勤记录",
        "近30天未接单",
    ]
    with translation.override("en"):
        assert rank_candidates(request)[0].reasons == [
            "Has the skills needed: 电工",
            "In the same grid",
            "About 340 m away",
            "No attendance record yet",
            "No task taken in the last 30 days",
        ]


def _population(tree, micro, skills, count):
    homes = [micro, tree.grid3a, tree.grid3b]
    for k in range(count):
        user = volunteer(f"人{k}", home=homes[k % 3], metres=150 * k, skills=[skills["电工"]])
        if k % 2:
            shift_history(tree, user, attended=1, missed=k % 3, late=1)
        if k % 3 == 0:
            take_task(tree, user, days_ago=2)
        if k % 5 == 0:
            make_member(branch=tree.branch_a, name=f"人{k}", user=user)


@pytest.mark.parametrize("count", [5, 50])
def test_the_number_of_queries_does_not_grow_with_the_volunteers(tree, micro, skills, count):
    _population(tree, micro, skills, count)
    request = service_request(tree, micro, point=True, skills=[skills["电工"]])

    with CaptureQueriesContext(connection) as queries:
        found = rank_candidates(request, limit=3)

    assert len(found) == 3
    assert len(queries.captured_queries) == 5
