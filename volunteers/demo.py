"""What volunteering adds to the demo (branches/demo.py): duties with shifts over
the next two weeks, a year of service history, and residents' requests at every
stage of dispatch."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from branches.demo import demo_step


@demo_step
def demo_duties(*, branch, now) -> None:
    """A few duties of the first branch with shifts over the next two weeks."""
    from volunteers.models import Duty, Shift, Skill

    first_aid = Skill.objects.get_or_create(name="急救培训")[0]
    Skill.objects.get_or_create(name="电工")
    day = timezone.localtime(now).replace(hour=8, minute=30, second=0, microsecond=0)
    plans = [
        ("楼道清理志愿服务", Duty.Kind.ACTIVITY, "3号楼前", Duty.Eligibility.VOLUNTEERS, None, 8),
        (
            "党员示范岗·便民服务站值守",
            Duty.Kind.POST,
            "社区党群服务中心",
            Duty.Eligibility.BRANCH,
            None,
            2,
        ),
        (
            "重阳节义诊志愿者",
            Duty.Kind.ACTIVITY,
            "社区卫生服务站",
            Duty.Eligibility.SKILL,
            first_aid,
            4,
        ),
    ]
    for i, (title, kind, place, eligibility, skill, capacity) in enumerate(plans):
        duty = Duty.objects.create(
            branch=branch, kind=kind, title=title, place=place, eligibility=eligibility,
            required_skill=skill, description="请提前10分钟到场签到。",
        )  # fmt: skip
        for week in range(2):
            start = day + timedelta(days=2 + i + 7 * week)
            Shift.objects.create(
                duty=duty, starts_at=start, ends_at=start + timedelta(hours=3), capacity=capacity,
                minimum=1, cancel_deadline=start - timedelta(hours=12),
            )  # fmt: skip
    _link_volunteering_pages(branch)


def _link_volunteering_pages(branch) -> None:
    """The branch's volunteering notice and activity link to their shifts' sign-up."""
    from django.urls import reverse

    from portal.links import absolute_url
    from portal.publishing import ActivityPage, NoticePage
    from volunteers.models import Shift

    def first_shift(title):
        shift = Shift.objects.filter(duty__branch=branch, duty__title=title).order_by("starts_at")
        return reverse("volunteer_shift", args=[shift.first().pk])

    notice = NoticePage.objects.descendant_of(branch).filter(title__contains="楼道清理").first()
    if notice is not None:
        link = first_shift("楼道清理志愿服务")
        # A path, not an address: the link stays right whatever host serves the site.
        notice.body.append(("text", f'<p><a href="{link}">报名参加楼道清理</a></p>'))
        notice.save_revision().publish()
    activity = ActivityPage.objects.descendant_of(branch).filter(title__contains="重阳节").first()
    if activity is not None:
        activity.signup_url = absolute_url(first_shift("重阳节义诊志愿者"))
        activity.save_revision().publish()


@demo_step
def demo_service_history(*, branch, now) -> None:
    """Six past Saturdays of a clean-up activity, served by the demo member and
    the branch's members with accounts: verified check-ins posted to the ledgers,
    so "我的志愿服务", the rankings and the reports have figures."""
    from volunteers.duties.services import credit_post
    from volunteers.models import CheckIn, Duty, Shift, SignUp

    duty = Duty.objects.create(
        branch=branch, kind=Duty.Kind.ACTIVITY, title="周末环境整治志愿服务", place="小区中心花园",
        eligibility=Duty.Eligibility.VOLUNTEERS, description="清理绿化带垃圾，劝导文明养犬。",
    )  # fmt: skip
    people = list(
        get_user_model()
        .objects.filter(member__branch=branch)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    day = timezone.localtime(now).replace(hour=9, minute=0, second=0, microsecond=0)
    for week in range(1, 7):
        start = day - timedelta(days=7 * week)
        shift = Shift.objects.create(
            duty=duty, starts_at=start, ends_at=start + timedelta(hours=2), capacity=10, minimum=3
        )
        for i, user_id in enumerate(people):
            if (week + i) % 3 == 0:
                continue  # not everyone comes every week
            SignUp.objects.create(shift=shift, user_id=user_id, status=SignUp.Status.CONFIRMED)
            record = CheckIn.objects.create(
                shift=shift, user_id=user_id, checked_in_at=start + timedelta(minutes=i % 15),
                checked_out_at=start + timedelta(minutes=100 + 5 * i), in_method="qr",
                out_method="qr", verified_at=start + timedelta(hours=2),
            )  # fmt: skip
            credit_post(check_in=record)


# The demo's requests give a day to answer an offer (the longest a request
# allows), so the offer waiting for the demo member is still open when someone
# looks at the site hours after loading the demo (make run).
DEMO_OFFER_MINUTES = 24 * 60


@demo_step
def demo_requests(*, branch, now) -> None:
    """Residents' requests in the first branch's grid, recorded by the demo grid
    worker: one waiting, one offered to the demo member, one done and reviewed."""
    from volunteers.dispatch.services import offers_send, request_create, request_review
    from volunteers.dispatch.task_services import offer_accept, task_complete, task_start
    from volunteers.models import ServiceRequest

    User = get_user_model()
    worker, member = User.objects.get(username="gridworker"), User.objects.get(username="member")
    grid = branch.get_parent().specific
    day = timezone.localtime(now).replace(hour=9, minute=0, second=0, microsecond=0)
    plans = [
        ("帮3号楼独居老人取药", ServiceRequest.Category.ELDERLY, 1, "3号楼2单元501"),
        ("楼道堆物清理", ServiceRequest.Category.ENVIRONMENT, 3, "5号楼1单元"),
        # Done two days ago, in its time window.
        ("微心愿：给孩子买一套课外书", ServiceRequest.Category.OTHER, -2, "7号楼3单元302"),
    ]
    made = []
    for i, (title, category, days, address) in enumerate(plans):
        made.append(
            request_create(
                by=worker,
                grid=grid,
                title=title,
                category=category,
                window_start=day + timedelta(days=days),
                address=address,
                window_end=day + timedelta(days=days, hours=2),
                requester_name="居民",
                offer_minutes=DEMO_OFFER_MINUTES,
                source=ServiceRequest.Source.MICRO_WISH
                if i == 2
                else ServiceRequest.Source.GRID_WORKER,
            )  # fmt: skip
        )
    offers_send(request=made[1], users=[member], by=worker)
    (offer,) = offers_send(request=made[2], users=[member], by=worker)
    offer_accept(offer=offer, user=member)
    task_start(offer=offer, user=member, now=made[2].window_start + timedelta(minutes=5))
    task_complete(
        offer=offer, user=member, note="书已送到", now=made[2].window_start + timedelta(minutes=95)
    )
    request_review(request=made[2], by=worker, satisfied=True, comment="孩子很高兴")
