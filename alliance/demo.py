"""What the co-building alliance adds to the demo (branches/demo.py)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from alliance.action_items.services import action_progress
from alliance.meetings.services import meeting_convene
from alliance.minutes.services import (
    minutes_approve,
    minutes_circulate,
    minutes_publish,
    minutes_save,
    minutes_start,
)
from alliance.models import (
    AgendaItem,
    Agreement,
    Alliance,
    Invitation,
    JointMeeting,
    Need,
    Partner,
    PartnerContact,
    Resource,
)
from branches.demo import demo_step


def _partners(branch, *, secretary, partner_user, today):
    """A school (the demo partner account is its contact) and a hospital
    co-building with ``branch``; the school's agreement and resource, and the
    branch's need. Returns the school and the hospital."""
    school = Partner.objects.create(
        name="阳光实验小学", kind=Partner.Kind.SCHOOL, intro="与社区共建“四点半课堂”。"
    )
    school.branches.add(branch)
    PartnerContact.objects.create(partner=school, user=partner_user, name="共建单位联络人")
    hospital = Partner.objects.create(name="区人民医院", kind=Partner.Kind.OTHER)
    hospital.branches.add(branch)
    Agreement.objects.create(
        partner=school, title="党建共建协议（2026—2027）", starts_on=today.replace(month=1, day=1),
        ends_on=today.replace(year=today.year + 1, month=12, day=31),
        commitments="开放操场、组织教师志愿者参与社区课后服务。",
    )  # fmt: skip
    Resource.objects.create(
        partner=school, title="学校操场周末开放", kind="venue", quantity=1, unit="处"
    )
    Need.objects.create(
        title="社区老年活动场地不足", kind="venue", branch=branch, raised_by=secretary,
        description="老年人周末健身缺少场地。",
    )  # fmt: skip
    return school, hospital


def _held_meeting(alliance, *, school, secretary, partner_user, now, today) -> None:
    """Last month's joint meeting, its published minutes and an action item the
    school has reported progress on."""
    start = (timezone.localtime(now) - timedelta(days=20)).replace(hour=14, minute=30, second=0)
    held = JointMeeting.objects.create(
        alliance=alliance, title="第三季度党建联席会议", starts_at=start,
        ends_at=start + timedelta(hours=2), place="社区党群服务中心会议室", convener=secretary,
        proposals_until=start - timedelta(days=3), status=JointMeeting.Status.HELD,
    )  # fmt: skip
    Invitation.objects.create(
        meeting=held, user=partner_user, partner=school, response="attend", signed_in_at=start
    )
    item = AgendaItem.objects.create(meeting=held, title="校园周边交通安全", position=1)
    minutes = minutes_start(meeting=held, by=secretary)
    minutes_save(
        minutes=minutes, by=secretary, summary="会议由支部书记主持，共建单位参加。",
        entries={item.pk: {"discussion": "上下学时段校门口拥堵。", "resolutions": "设立护学岗"}},
        actions=[{
            "agenda_item": item.pk, "title": "排定护学岗教师志愿者", "owner_partner": school.pk,
            "due_on": today + timedelta(days=14), "expected_result": "排班表覆盖每个上学日",
        }],
    )  # fmt: skip
    minutes_circulate(minutes=minutes, by=secretary)
    minutes_approve(minutes=minutes, by=secretary)
    minutes_publish(minutes=minutes, by=secretary)
    action_progress(
        action=held.actions.get(), by=partner_user, note="排班表初稿已完成，正征求家长意见。"
    )


@demo_step
def demo_alliance(*, branch, now) -> None:
    """The first branch's co-building alliance: a school (the demo partner
    account is its contact) and a hospital, an agreement, a resource and a need;
    last month's joint meeting with published minutes and an action item the
    school has reported progress on; next month's meeting, which carries it."""
    User = get_user_model()
    secretary, partner_user = (
        User.objects.get(username="secretary"),
        User.objects.get(username="partner"),
    )
    today = timezone.localdate(now)
    school, hospital = _partners(
        branch, secretary=secretary, partner_user=partner_user, today=today
    )
    alliance = Alliance.objects.create(name=f"{branch.title}党建共建联盟", unit=branch.get_parent())
    alliance.branches.add(branch)
    alliance.partners.add(school, hospital)
    _held_meeting(
        alliance, school=school, secretary=secretary, partner_user=partner_user, now=now,
        today=today,
    )  # fmt: skip
    upcoming = (timezone.localtime(now) + timedelta(days=25)).replace(
        hour=14, minute=30, second=0, microsecond=0
    )
    meeting_convene(
        alliance=alliance, by=secretary, title="第四季度党建联席会议", starts_at=upcoming,
        ends_at=upcoming + timedelta(hours=2), place="社区党群服务中心会议室",
        proposals_until=upcoming - timedelta(days=3), quorum=2, partners=[school, hospital],
        members=[User.objects.get(username="member")],
    )  # fmt: skip
