"""Demo data: a small, quick district (the default) and the "seed scale" district
from DESIGN.md (8 / 104 / 685 / 2,009 grids, 125 dedicated grids, ~200,000
households, ~20,000 members) that benchmarks use.

Both scales go through one generator. Everything is deterministic for a given
seed (``random.Random(seed)``) and written with bulk inserts: the plan (branches/demo_plan.py), then the tree's pages
(branches/demo_tree.py: Wagtail pages are placed in the tree by computing their
treebeard paths, base-36, step 4, and inserting the ``wagtailcore_page`` rows
with ``bulk_create`` and then the subclass rows with ``_insert``, as
``bulk_create`` refuses multi-table models; each page also gets one published
revision, as if it had been published in the editor), then the private records
(branches/demo_records.py: private fields are encrypted and hashed by their
model fields on insert, as ``EncryptedTextField.get_prep_value`` and
``KeyedHashField.pre_save`` both run inside Django's insert compiler). This
module then adds the demo accounts, the publications and meetings, and what
each app's ``demo.py`` adds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from branches.demo_plan import Numbers, Scale, plan_counts
from branches.demo_records import (
    central_households_choose,
    homes_plan,
    members_plan,
    records_insert,
    residents_plan,
)
from branches.demo_tree import DemoDistrict, Result, Timer, district_page_add, tree_pages_add
from branches.models import (
    BuildingGroupPage,
    CentralHousehold,
    Member,
    PartyPost,
)
from portal.models import Role, RoleAssignment, UserPhone

DEMO_PASSWORD = "tongxin-demo-2026"
# Base32 TOTP secret shared by the demo accounts that must use MFA. Add it to any
# authenticator app, or run ``python manage.py demo_totp <username>``.
DEMO_TOTP_SECRET = "TONGXINDEMOTOTPSECRETKEY22222222"
# Seed of the demo accounts' recovery codes (allauth derives the codes from it).
DEMO_RECOVERY_SEED = (
    "746f6e6778696e2d64656d6f2d7265636f766572792d636f6465732d323032362d66697865642d31"
)
MFA_DEMO_USERS = ("district", "coordinator", "secretary")


def load(scale: Scale, seed: int = 1, out=None) -> Result:
    result = Result(scale=scale.name)
    timer = Timer(result, out)
    now = timezone.now().replace(microsecond=0)
    d = build_district(scale, random.Random(seed), now, timer)

    first_branch = d.branches[0]
    create_demo_accounts(
        district=d.district, branch=first_branch, coordinator_grid=first_branch._grid._parent
    )
    timer.phase("demo accounts")
    demo_publishing(district=d.district, branch=first_branch, now=now)
    for step in demo_steps():
        step(branch=first_branch, now=now)
    timer.phase("notices, news, activities, meetings and what the apps add")
    result.counts = {
        "pages": len(d.writer.pages) + 1,
        "grids": len(d.plan),
        **{f"grids level {k}": v for k, v in plan_counts(d.plan).items()},
        "branches": len(d.branches),
        "building groups": sum(len(v) for v in d.groups_of.values()),
        "buildings": len(d.buildings),
        "households": len(d.households),
        "residents": len(d.residents),
        "members": len(d.members),
        "central households": len(d.ch_objs),
        "contact links": len(d.links),
        "household visits": len(d.visits),
    }
    result.timings.append(("total", timer.total))
    return result


def build_district(scale: Scale, rng: random.Random, now, timer: Timer) -> DemoDistrict:
    """The district page, the tree and its private records, inserted; the steps
    in this order, each drawing from the one random source."""
    d = DemoDistrict(scale=scale, rng=rng, numbers=Numbers(rng), now=now, timer=timer)
    district_page_add(d)
    tree_pages_add(d)
    homes_plan(d)
    members_plan(d)
    central_households_choose(d)
    residents_plan(d)
    records_insert(d)
    return d


# --- What the other apps add --------------------------------------------------------------
# Each app's demo.py registers ``step(*, branch, now)`` functions with ``demo_step``;
# they run after the tree, the demo accounts and the branch's publications and
# meetings, in INSTALLED_APPS order, with the first branch.

DEMO_STEPS: list = []


def demo_step(step):
    if step not in DEMO_STEPS:
        DEMO_STEPS.append(step)
    return step


def demo_steps() -> list:
    autodiscover_modules("demo")
    return list(DEMO_STEPS)


# --- Notices, news, activities and meetings ----------------------------------------------


def demo_publishing(*, district, branch, now) -> None:
    """A district notice board, a few items at district and branch level (one
    pinned notice asking for a read receipt, one activity next week, one notice
    that goes live tomorrow) and a year of the branch's 三会一课."""
    _publications(district=district, branch=branch, now=now)
    _meeting_year(branch=branch, now=now)


def _text(value):
    return [("text", f"<p>{value}</p>")]


def _publications(*, district, branch, now) -> None:
    from portal.publishing import ActivityPage, NewsPage, NoticeBoardPage, NoticePage

    activity_start = timezone.localtime(now + timedelta(days=7)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    board = NoticeBoardPage(title="区级通知公告", slug="notices")
    district.add_child(instance=board)
    board.save_revision().publish()
    items = [
        (
            board,
            NoticePage(
                title="关于开展“党员进网格”集中服务月的通知",
                pinned=True,
                requires_receipt=True,
                summary="各网格党支部于本月内组织党员到所在网格报到服务。",
                body=_text("请各支部书记于月底前报送服务情况。"),
            ),
        ),
        (
            district,
            NewsPage(
                title="示范区召开党建引领网格治理推进会",
                summary="会议部署了下一阶段网格党建重点工作。",
                body=_text("会上，各网格交流了“居民点单、社区派单、党员接单”的经验。"),
            ),
        ),
        (
            branch,
            NoticePage(
                title="本周六楼道清理志愿服务通知",
                summary="请党员志愿者8:30在3号楼前集合。",
                body=_text("自带手套，物资由支部统一准备。"),
            ),
        ),
        (
            branch,
            NewsPage(
                title="支部开展“微心愿”认领活动",
                summary="党员认领困难群众微心愿12个。",
                body=_text("认领的微心愿将在两周内完成。"),
            ),
        ),
        (
            branch,
            ActivityPage(
                title="重阳节敬老志愿服务",
                place="社区党群服务中心",
                starts_at=activity_start,
                ends_at=activity_start + timedelta(hours=2),
                capacity_note="限20人",
                summary="为辖区高龄老人理发、量血压。",
                body=_text("欢迎党员和居民志愿者参加。"),
            ),
        ),
    ]
    for parent, page in items:
        parent.add_child(instance=page)
        page.save_revision().publish()
    later = NoticePage(
        title="下月主题党日活动安排",
        summary="下月主题党日将于月初举行。",
        body=_text("具体安排另行通知。"),
        go_live_at=now + timedelta(days=1),
        live=False,
    )
    branch.add_child(instance=later)
    later.save_revision().publish()  # scheduled: the worker publishes it tomorrow


def _meeting_year(*, branch, now) -> None:
    """A year of the branch's 三会一课 (and its first group's meetings), with
    attendance recorded and most minutes written."""
    from branches.models import MeetingKind
    from branches.schedule import attendance_record, meeting_schedule

    group = BuildingGroupPage.objects.child_of(branch).order_by("path").first()
    month_start = timezone.localtime(now).replace(
        day=1, hour=19, minute=30, second=0, microsecond=0
    )
    year_ago = month_start.replace(year=month_start.year - 1)
    plans = [
        (MeetingKind.COMMITTEE, "支委会", "FREQ=MONTHLY;BYMONTHDAY=5;COUNT=14", None, False),
        (MeetingKind.PARTY_DAY, "主题党日", "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=14", None, True),
        (
            MeetingKind.ASSEMBLY,
            "支部党员大会",
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=20;COUNT=5",
            None,
            False,
        ),
        (MeetingKind.LECTURE, "党课", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=25;COUNT=5", None, False),
        (
            MeetingKind.GROUP,
            f"{group.title}会议" if group else "党小组会",
            "FREQ=MONTHLY;BYMONTHDAY=10;COUNT=14",
            group,
            False,
        ),
    ]
    for kind, title, rule, grp, public in plans:
        meetings = meeting_schedule(
            branch=branch,
            group=grp,
            kind=kind,
            title=title,
            starts_at=year_ago,
            duration=timedelta(hours=1, minutes=30),
            place="社区党群服务中心",
            rrule=rule,
            public=public,
            agenda="学习传达上级精神；研究支部近期工作。",
        )
        for i, meeting in enumerate(m for m in meetings if m.starts_at < now):
            rows = {}
            for j, a in enumerate(meeting.attendances.all()):
                if (i + j) % 9 == 0:
                    rows[a.member_id] = ("leave", "外出务工")
                elif (i + j) % 13 == 0:
                    rows[a.member_id] = ("absent", "")
                else:
                    rows[a.member_id] = ("present", "")
            attendance_record(meeting=meeting, rows=rows)
            if i % 4 != 3:  # a few without minutes, so the overdue list has something
                meeting.minutes = "会议传达学习了上级文件精神，研究部署了网格服务工作。"
                meeting.save(update_fields=["minutes"])


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    unit: str
    can_do: str


def create_demo_accounts(*, district, branch, coordinator_grid) -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP
    from allauth.mfa.utils import encrypt

    from portal.services import role_assign

    User = get_user_model()
    password = make_password(DEMO_PASSWORD)  # hashed once, shared
    branch_members = list(Member.objects.filter(branch=branch).order_by("id"))
    group = BuildingGroupPage.objects.child_of(branch).order_by("path").first()

    secretary_m = next(m for m in branch_members if PartyPost.SECRETARY in m.party_posts)
    ch = (
        CentralHousehold.objects.filter(member__branch=branch)
        .select_related("member")
        .order_by("id")
        .first()
    )
    leader_group = ch.member.building_group if ch else group
    leader_m = next(
        (
            m
            for m in branch_members
            if PartyPost.GROUP_LEADER in m.party_posts and m.building_group_id == leader_group.pk
        ),
        None,
    )
    taken = {secretary_m.pk, leader_m.pk if leader_m else None, ch.member_id if ch else None}
    free = [m for m in branch_members if m.pk not in taken]
    member_m = (
        next((m for m in free if not m.party_posts and m.public_badge), None)
        or next((m for m in free if not m.party_posts), None)
        or free[0]
    )

    spec = [
        ("district", "区委", "组织部", Role.DISTRICT_ADMIN, district, None),
        ("coordinator", "网格", "协调员", Role.GRID_COORDINATOR, coordinator_grid, None),
        ("secretary", None, None, Role.BRANCH_SECRETARY, branch, secretary_m),
        ("leader", None, None, Role.GROUP_LEADER, leader_group, leader_m),
        ("centralhead", None, None, Role.CENTRAL_HOUSEHOLD_HEAD, branch, ch.member if ch else None),
        ("member", None, None, Role.MEMBER, branch, member_m),
        ("volunteer", "志愿者", "小陈", Role.VOLUNTEER, None, None),
        ("gridworker", "网格员", "小李", Role.GRID_WORKER, branch.get_parent().specific, None),
        ("partner", "共建单位", "联络人", Role.PARTNER_CONTACT, None, None),
    ]
    for username, last, first, role, page, member in spec:
        if member is not None:
            last, first = member.name[0], member.name[1:]
        user = User.objects.create(
            username=username,
            password=password,
            last_name=last,
            first_name=first,
            email=f"{username}@demo.tongxin.invalid",
        )
        if member is not None:
            member.user = user
            member.save(update_fields=["user"])
        role_assign(user=user, role=role, page=page)
        if username == "member":
            UserPhone.objects.create(user=user, phone=member.phone, verified=True)
        if username in MFA_DEMO_USERS:
            TOTP.activate(user, DEMO_TOTP_SECRET)
            Authenticator.objects.create(
                user=user,
                type=Authenticator.Type.RECOVERY_CODES,
                data={"seed": encrypt(DEMO_RECOVERY_SEED), "used_mask": 0},
            )


ROLE_CAN_DO = {
    Role.DISTRICT_ADMIN: "every page and record, roles, audit log; reveals private values (audited)",
    Role.GRID_COORDINATOR: "edit pages and private records of the grid's subtree",
    Role.BRANCH_SECRETARY: "branch pages, notices, 三会一课 and attendance, members, households, "
    "import; reveals (audited)",
    Role.GROUP_LEADER: "edit the group page, view members, keep household contacts and visits",
    Role.CENTRAL_HOUSEHOLD_HEAD: "see own contact households, record visits",
    Role.MEMBER: "own record (masked), notice feed, meeting calendar and reminders on /me/",
    Role.VOLUNTEER: "public pages, sign-up for volunteer shifts (/volunteer/), own page",
    Role.PARTNER_CONTACT: "their unit's profile and resources (/alliance/my-unit/), the joint "
    "meetings they are invited to (RSVP, agenda proposals, minutes), progress on their action items",
    Role.GRID_WORKER: "record residents' requests and micro-wishes in the grid, review them, "
    "dispatch board",
}
ACCOUNT_ORDER = (
    "district",
    "coordinator",
    "secretary",
    "leader",
    "centralhead",
    "member",
    "volunteer",
    "gridworker",
    "partner",
)


def demo_accounts() -> list[dict]:
    User = get_user_model()
    users = {u.username: u for u in User.objects.filter(username__in=ACCOUNT_ORDER)}
    rows = []
    for username in ACCOUNT_ORDER:
        user = users.get(username)
        if user is None:
            continue
        for a in RoleAssignment.objects.filter(user=user).select_related("page").order_by("id"):
            unit = a.page.title if a.page else "—"
            if a.role == Role.CENTRAL_HOUSEHOLD_HEAD:
                ch = (
                    CentralHousehold.objects.filter(member__user=user)
                    .select_related("household__building")
                    .first()
                )
                unit = f"{ch.household.building} 党员中心户" if ch else unit
            rows.append(
                {
                    "username": username,
                    "password": DEMO_PASSWORD,
                    "role": a.role,
                    "unit": unit,
                    "mfa": username in MFA_DEMO_USERS,
                    "can_do": ROLE_CAN_DO[a.role],
                }
            )
    return rows


def demo_recovery_codes() -> list[str]:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    return RecoveryCodes(
        Authenticator(
            data={"seed": DEMO_RECOVERY_SEED, "used_mask": 0},
            type=Authenticator.Type.RECOVERY_CODES,
        )
    ).generate_codes()
