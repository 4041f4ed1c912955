"""Every role against every view and action so far: allowed or denied, and a
denied response carries none of the record's data. Later issues add rows."""

import datetime as dt

import pytest
from django.utils import timezone

from portal import codes

ROLES = [
    "anonymous",
    "district",
    "coordinator",
    "secretary",
    "secretary_b",
    "leader",
    "member",
    "volunteer",
    "partner",
    "gridworker",
]
ADMIN_ROLES = {"district", "coordinator", "secretary", "secretary_b", "leader"}
# The people who run service requests: staff of the tree and grid workers.
REQUEST_STAFF = {"district", "coordinator", "secretary", "secretary_b", "gridworker"}
# The staff running branch A's alliance (its convening unit is branch A).
ALLIANCE_STAFF = {"district", "coordinator", "secretary"}
EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}


def _notice_form(title):
    return {
        "title": title,
        "slug": "matrix-notice",
        "summary": "",
        "body-count": "0",
        "action-publish": "action-publish",
    }


def _board_proposal(tree, users):
    """A district-wide notice a secretary proposed, waiting for district approval."""
    from portal.publishing import NoticeBoardPage, NoticePage
    from tests.factories import add_page

    board = add_page(tree.district, NoticeBoardPage(title="区级通知公告", slug="board"))
    notice = NoticePage(title="全区待审通知", owner=users.secretary, live=False)
    board.add_child(instance=notice)
    notice.save_revision(user=users.secretary)
    state = board.get_workflow().start(notice, users.secretary)
    return notice, state.current_task_state


def _meeting_b(tree, members):
    import datetime as dt

    from django.utils import timezone

    from branches.models import MeetingKind
    from branches.schedule import meeting_schedule

    (meeting,) = meeting_schedule(
        branch=tree.branch_b,
        kind=MeetingKind.ASSEMBLY,
        title="光明路支部党员大会",
        starts_at=timezone.now() - dt.timedelta(days=1),
        duration=dt.timedelta(hours=1),
        place="光明路活动室",
    )
    return meeting


def _registration_a(tree, users):
    """The member's community registration with branch A, awaiting approval."""
    from volunteers.registration.services import registration_submit

    return registration_submit(
        member=users.own_member,
        branch=tree.branch_a,
        employer="市第一医院",
        address="幸福里小区3号楼2单元501",
        skills="",
    )


def _shifts(tree, users):
    """Running shifts of branch A: one of group A (the leader's), one of group B
    with a check-in closed automatically and waiting for review. The volunteer
    has a place on the first."""
    import datetime as dt

    from django.utils import timezone

    from tests.factories import make_duty
    from volunteers.models import CheckIn, Shift, SignUp

    start = timezone.now() - dt.timedelta(hours=1)
    shifts = [
        Shift.objects.create(
            duty=make_duty(tree, group=group, title=title),
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
        )
        for group, title in ((tree.group_a, "3号楼助老"), (tree.group_b, "8号楼巡查"))
    ]
    SignUp.objects.create(shift=shifts[0], user=users.volunteer, status="confirmed")
    review = CheckIn.objects.create(
        shift=shifts[1], user=users.partner, checked_in_at=start,
        checked_out_at=start + dt.timedelta(minutes=50), in_method="qr", out_method="auto",
        needs_review=True,
    )  # fmt: skip
    return shifts[0], shifts[1], review


def _requests(tree, users):
    """A resident's request in grid A, offered to the member, and one in grid B."""
    import datetime as dt

    from django.utils import timezone

    from volunteers.dispatch.services import offers_send, request_create

    start = timezone.now() + dt.timedelta(days=2)
    fields = {
        "category": "elderly",
        "window_start": start,
        "window_end": start + dt.timedelta(hours=2),
    }
    a = request_create(by=users.gridworker, grid=tree.grid3a, title="帮3号楼老人取药", **fields)
    (offer,) = offers_send(request=a, users=[users.member], by=users.gridworker)
    b = request_create(by=users.district, grid=tree.grid3b, title="光明路井盖松动", **fields)
    return a, offer, b


def _alliance(tree, users):
    """Branch A's alliance with two partner units: the school (``users.partner``
    is its contact) and a supermarket. A held meeting the partner attended, its
    minutes published with an action item for each unit; a held meeting the
    partner was invited to, its minutes in draft; one they were not invited to."""
    import datetime as dt

    from django.utils import timezone

    from alliance.models import (
        ActionItem,
        AgendaItem,
        Alliance,
        Invitation,
        JointMeeting,
        Minutes,
        MinutesEntry,
        Partner,
        PartnerContact,
    )

    school = Partner.objects.create(name="幸福里小学", kind=Partner.Kind.SCHOOL)
    PartnerContact.objects.create(partner=school, user=users.partner, name="孙老师")
    shop = Partner.objects.create(name="光明超市", kind=Partner.Kind.ENTERPRISE)
    alliance = Alliance.objects.create(name="幸福里共建联盟", unit=tree.branch_a)
    alliance.branches.add(tree.branch_a)
    alliance.partners.add(school, shop)

    def meeting(title, days_ago, *, invited, minutes_state):
        start = timezone.now() - dt.timedelta(days=days_ago)
        held = JointMeeting.objects.create(
            alliance=alliance, title=title, starts_at=start, ends_at=start + dt.timedelta(hours=2),
            place="幸福里党群服务中心", convener=users.secretary,
            proposals_until=start - dt.timedelta(days=1), status=JointMeeting.Status.HELD,
        )  # fmt: skip
        if invited:
            Invitation.objects.create(
                meeting=held, user=users.partner, partner=school, response="attend"
            )
        item = AgendaItem.objects.create(meeting=held, title=f"{title}议题")
        minutes = Minutes.objects.create(meeting=held, state=minutes_state, version=1)
        return held, item, minutes

    invited, item, _minutes = meeting(
        "幸福里春季联席会议", 30, invited=True, minutes_state=Minutes.State.PUBLISHED
    )
    due_on = timezone.localdate() + dt.timedelta(days=14)
    school_action, shop_action = (
        ActionItem.objects.create(
            meeting=invited, agenda_item=item, title=title, owner_partner=unit, due_on=due_on
        )
        for title, unit in (("学校组建护学岗志愿队", school), ("超市捐助助老餐券", shop))
    )
    draft, draft_item, draft_minutes = meeting(
        "幸福里夏季联席会议", 2, invited=True, minutes_state=Minutes.State.DRAFT
    )
    MinutesEntry.objects.create(
        minutes=draft_minutes, agenda_item=draft_item, discussion="草稿：拟调整护学岗时段"
    )
    not_invited, _item, _minutes = meeting(
        "支部与超市对接会", 10, invited=False, minutes_state=Minutes.State.DRAFT
    )
    return invited, draft, not_invited, school_action, shop_action


def _urls(tree, members, volunteer_pk, users=None):
    a, b = members.a_private, members.b_private
    extra = {}
    if users is not None:
        notice, task_state = _board_proposal(tree, users)
        meeting = _meeting_b(tree, members)
        registration = _registration_a(tree, users)
        group_a_shift, group_b_shift, review = _shifts(tree, users)
        request_a, offer_a, request_b = _requests(tree, users)
        joint, draft, not_invited, school_action, shop_action = _alliance(tree, users)
        local = group_b_shift.starts_at.astimezone(timezone.get_current_timezone())
        extra = {
            "check-in code of a group A shift": (
                "get",
                f"/volunteer/shifts/{group_a_shift.pk}/code/",
                None,
                {"district", "coordinator", "secretary", "leader"},
                "<svg",
            ),
            "check in someone else": (
                "post",
                f"/volunteer/shifts/{group_a_shift.pk}/check/",
                {"code": codes.current(group_a_shift.pk, "in").digits, "user": volunteer_pk},
                SIGNED_IN,
                None,
            ),
            "record a walk-in at a group B shift": (
                "post",
                f"/admin/duties/shift/{group_b_shift.pk}/walk-in/",
                {
                    "person": "member",
                    "checked_in_at": local.strftime("%Y-%m-%dT%H:%M"),
                    "checked_out_at": (local + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
                },
                {"district", "coordinator", "secretary"},
                None,
            ),
            "verify a check-in at a group B shift": (
                "post",
                f"/admin/duties/check-in/{review.pk}/verify/",
                {},
                {"district", "coordinator", "secretary"},
                None,
            ),
            "service statistics": ("get", "/admin/volunteering/report/", None, ADMIN_ROLES, None),
            "service requests list": ("get", "/requests/", None, SIGNED_IN, "<h1"),
            "a grid A request": (
                "get",
                f"/requests/{request_a.pk}/",
                None,
                {"district", "coordinator", "secretary", "gridworker", "member"},
                "帮3号楼老人取药",
            ),
            "a grid B request": (
                "get",
                f"/requests/{request_b.pk}/",
                None,
                {"district", "coordinator", "secretary_b"},
                "光明路井盖松动",
            ),
            "accept the member's offer": (
                "post",
                f"/me/tasks/{offer_a.pk}/accept/",
                {},
                {"member"},
                None,
            ),
            "dispatch board": (
                "get",
                "/admin/volunteering/requests/dashboard/",
                None,
                REQUEST_STAFF,
                None,
            ),
            "publish a notice in branch B": (
                "post",
                f"/admin/pages/add/portal/noticepage/{tree.branch_b.pk}/",
                _notice_form("光明路越权通知"),
                {"district", "coordinator", "secretary_b"},
                None,
            ),
            "approve a district-wide notice": (
                "post",
                f"/admin/pages/workflow/action/{notice.pk}/approve/{task_state.pk}/",
                {},
                {"district"},
                None,
            ),
            "branch meetings list": ("get", "/admin/meetings/", None, ADMIN_ROLES, None),
            "attendance of a branch B meeting": (
                "get",
                f"/admin/meetings/{meeting.pk}/attendance/",
                None,
                {"district", "coordinator", "secretary_b"},
                "黄强",
            ),
            "my notices": ("get", "/me/notices/", None, SIGNED_IN, "<h1"),
            "community registration review list": (
                "get",
                "/admin/registrations/",
                None,
                {"district", "coordinator", "secretary", "secretary_b"},
                None,
            ),
            "review a branch A registration": (
                "get",
                f"/admin/registrations/inspect/{registration.pk}/",
                None,
                {"district", "coordinator", "secretary"},
                "市第一医院",
            ),
            "approve a branch A registration": (
                "post",
                f"/admin/registrations/inspect/{registration.pk}/",
                {"action": "approve"},
                {"district", "coordinator", "secretary"},
                None,
            ),
            "my community registration": ("get", "/me/registration/", None, SIGNED_IN, "<h1"),
            "a joint meeting the partner was invited to": (
                "get",
                f"/alliance/meetings/{joint.pk}/",
                None,
                ALLIANCE_STAFF | {"partner"},
                "幸福里春季联席会议",
            ),
            "a joint meeting the partner was not invited to": (
                "get",
                f"/alliance/meetings/{not_invited.pk}/",
                None,
                ALLIANCE_STAFF,
                "支部与超市对接会",
            ),
            "the minutes of a meeting in draft": (
                "get",
                f"/alliance/meetings/{draft.pk}/minutes/",
                None,
                ALLIANCE_STAFF,
                "草稿：拟调整护学岗时段",
            ),
            "post progress on the partner's action item": (
                "post",
                f"/alliance/actions/{school_action.pk}/",
                {"note": "护学岗志愿队已组建"},
                ALLIANCE_STAFF | {"partner"},
                None,
            ),
            "post progress on another unit's action item": (
                "post",
                f"/alliance/actions/{shop_action.pk}/",
                {"note": "越权填报的进展"},
                ALLIANCE_STAFF,
                None,
            ),
            "the follow-up board": ("get", "/alliance/followup/", None, SIGNED_IN, "督办台账"),
        }
    return extra | {
        # name: (method, url, data, allowed roles, text that only an allowed response may contain)
        "home page": ("get", tree.district.url, None, EVERYONE, "示范区"),
        "branch page": ("get", tree.branch_a.url, None, EVERYONE, "幸福里网格党支部"),
        "group page": ("get", tree.group_a.url, None, EVERYONE, "幸福里3号楼党小组"),
        "my page": ("get", "/me/", None, SIGNED_IN, "<h1"),
        "admin dashboard": ("get", "/admin/", None, ADMIN_ROLES | {"gridworker"}, "wagtail"),
        "member list": ("get", "/admin/members/", None, ADMIN_ROLES, None),
        "edit member in branch A": (
            "get",
            f"/admin/members/edit/{a.pk}/",
            None,
            {"district", "coordinator", "secretary"},
            "陈静",
        ),
        "edit member in branch B": (
            "get",
            f"/admin/members/edit/{b.pk}/",
            None,
            {"district", "coordinator", "secretary_b"},
            "黄强",
        ),
        "delete member in branch B": (
            "post",
            f"/admin/members/delete/{b.pk}/",
            {},
            {"district", "coordinator", "secretary_b"},
            None,
        ),
        "private values in branch A": (
            "get",
            f"/admin/private/member/{a.pk}/",
            None,
            {"district", "coordinator", "secretary", "leader"},
            "陈静",
        ),
        "reveal ID in branch A": (
            "post",
            f"/admin/private/member/{a.pk}/",
            {"field": "id_number"},
            {"district", "coordinator", "secretary"},
            a.id_number,
        ),
        "reveal ID in branch B": (
            "post",
            f"/admin/private/member/{b.pk}/",
            {"field": "id_number"},
            {"district", "coordinator", "secretary_b"},
            b.id_number,
        ),
        "household list": ("get", "/admin/households/", None, ADMIN_ROLES, None),
        "audit log": ("get", "/admin/audit/", None, {"district"}, None),
        "role assignments": ("get", "/admin/roles/", None, {"district"}, None),
        "grant a role": (
            "post",
            "/admin/roles/new/",
            {"user": volunteer_pk, "role": "branch_secretary", "page": tree.branch_b.pk},
            {"district"},
            None,
        ),
        "explore branch B pages": (
            "get",
            f"/admin/pages/{tree.branch_b.pk}/",
            None,
            {"district", "coordinator", "secretary_b"},
            "光明路8号楼党小组",
        ),
        "edit branch B page": (
            "get",
            f"/admin/pages/{tree.branch_b.pk}/edit/",
            None,
            {"district", "coordinator", "secretary_b"},
            "光明路网格党支部",
        ),
        "edit branch A page": (
            "get",
            f"/admin/pages/{tree.branch_a.pk}/edit/",
            None,
            {"district", "coordinator", "secretary"},
            "幸福里网格党支部",
        ),
    }


CASES = [
    "home page",
    "branch page",
    "group page",
    "my page",
    "admin dashboard",
    "member list",
    "edit member in branch A",
    "edit member in branch B",
    "delete member in branch B",
    "private values in branch A",
    "reveal ID in branch A",
    "reveal ID in branch B",
    "household list",
    "role assignments",
    "grant a role",
    "audit log",
    "explore branch B pages",
    "edit branch B page",
    "edit branch A page",
    "publish a notice in branch B",
    "approve a district-wide notice",
    "branch meetings list",
    "attendance of a branch B meeting",
    "my notices",
    "community registration review list",
    "review a branch A registration",
    "approve a branch A registration",
    "my community registration",
    "check-in code of a group A shift",
    "check in someone else",
    "record a walk-in at a group B shift",
    "verify a check-in at a group B shift",
    "service statistics",
    "service requests list",
    "a grid A request",
    "a grid B request",
    "accept the member's offer",
    "dispatch board",
    "a joint meeting the partner was invited to",
    "a joint meeting the partner was not invited to",
    "the minutes of a meeting in draft",
    "post progress on the partner's action item",
    "post progress on another unit's action item",
    "the follow-up board",
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(client, tree, users, members, role, case):
    method, url, data, allowed, marker = _urls(tree, members, users.volunteer.pk, users)[case]
    if role != "anonymous":
        client.force_login(getattr(users, role))
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, data or {})
    body = response.content.decode(errors="replace")
    if role in allowed:
        assert response.status_code in (200, 302), (role, case, response.status_code)
        if method == "get":
            assert response.status_code == 200, (role, case, response.status_code)
        if marker and method == "get" or (marker and case.startswith("reveal")):
            assert marker in body, (role, case)
    else:
        # A secretary's add right on the district notice board makes the district
        # their explorer root: branch B's explorer opens for them, but empty.
        opens_empty = case == "explore branch B pages" and role == "secretary"
        # An invitee sees that draft minutes are not out yet, and nothing of them.
        pending = case == "the minutes of a meeting in draft" and role == "partner"
        expected = (200, 302, 403, 404) if opens_empty or pending else (302, 403, 404)
        assert response.status_code in expected, (role, case, response.status_code)
        if response.status_code == 302:
            assert "/accounts/login/" in response["Location"] or "/admin/" in response["Location"]
        if marker:
            assert marker not in body, (role, case)
    if case == "publish a notice in branch B":
        from portal.publishing import NoticePage

        published = NoticePage.objects.filter(title="光明路越权通知", live=True).exists()
        assert published == (role in allowed), role
    if case == "approve a district-wide notice":
        from portal.publishing import NoticePage

        assert NoticePage.objects.get(title="全区待审通知").live == (role in allowed), role
    if case == "approve a branch A registration":
        from volunteers.models import CommunityRegistration

        approved = CommunityRegistration.objects.get(member=users.own_member).status == "approved"
        assert approved == (role in allowed), role
    if case == "check in someone else":
        from volunteers.models import CheckIn

        # Only the volunteer's own request checks the volunteer in (they hold the place).
        checked_in = CheckIn.objects.filter(user=users.volunteer).exists()
        assert checked_in == (role == "volunteer"), role
    if case == "record a walk-in at a group B shift":
        from volunteers.models import CheckIn

        recorded = CheckIn.objects.filter(user=users.member, walk_in=True).exists()
        assert recorded == (role in allowed), role
    if case == "verify a check-in at a group B shift":
        from volunteers.models import CheckIn, CreditEvent

        verified = not CheckIn.objects.get(user=users.partner).needs_review
        assert verified == CreditEvent.objects.exists() == (role in allowed), role
    if case == "accept the member's offer":
        from volunteers.models import Offer

        assert (Offer.objects.get(user=users.member).status == "accepted") == (role in allowed)
    if case == "the minutes of a meeting in draft" and role == "partner":
        assert response.status_code == 200 and "纪要尚未发出" in body
    if case in (
        "post progress on the partner's action item",
        "post progress on another unit's action item",
    ):
        from alliance.models import ActionProgress

        posted = ActionProgress.objects.filter(note=data["note"]).exists()
        assert posted == (role in allowed), role
    if case == "the follow-up board":
        # Staff follow both units' items; the partner only their own unit's.
        sees = ("学校组建护学岗志愿队" in body, "超市捐助助老餐券" in body)
        expected_items = {"partner": (True, False)} | dict.fromkeys(ALLIANCE_STAFF, (True, True))
        assert sees == expected_items.get(role, (False, False)), role
    if case == "grant a role":
        from portal.models import RoleAssignment

        granted = RoleAssignment.objects.filter(user=users.volunteer, role="branch_secretary")
        assert granted.exists() == (role in allowed), role


@pytest.mark.parametrize("role", sorted(SIGNED_IN))
def test_request_list_shows_each_role_only_its_requests(client, tree, users, role):
    """A grid worker sees their grid's requests; a volunteer only what they were
    offered or took; staff by their branch; nobody else any."""
    _requests(tree, users)
    client.force_login(getattr(users, role))
    body = client.get("/requests/").content.decode()
    sees_a = role in {"district", "coordinator", "secretary", "gridworker", "member"}
    sees_b = role in {"district", "coordinator", "secretary_b"}
    assert ("帮3号楼老人取药" in body, "光明路井盖松动" in body) == (sees_a, sees_b)


def test_denied_delete_leaves_the_record(client, users, members):
    from branches.models import Member

    client.force_login(users.secretary)
    client.post(f"/admin/members/delete/{members.b_private.pk}/")
    assert Member.objects.filter(pk=members.b_private.pk).exists()


def test_secretary_member_list_shows_only_own_branch(client, users, members):
    client.force_login(users.secretary)
    body = client.get("/admin/members/").content.decode()
    assert "刘洋" in body and "陈静" in body and "杨磊" in body
    assert "黄强" not in body


def test_group_leader_member_list_shows_only_own_group(client, users, members):
    client.force_login(users.leader)
    body = client.get("/admin/members/").content.decode()
    assert "刘洋" in body and "陈静" in body
    assert "杨磊" not in body and "黄强" not in body


def test_coordinator_sees_every_branch_below_their_grid(client, users, members):
    client.force_login(users.coordinator)
    body = client.get("/admin/members/").content.decode()
    assert "刘洋" in body and "黄强" in body


def test_secretary_cannot_add_member_to_another_branch(client, tree, users):
    from branches.models import Member
    from tests.factories import make_id_number

    client.force_login(users.secretary)
    before = Member.objects.count()
    response = client.post(
        "/admin/members/new/",
        {
            "name": "越权",
            "gender": "M",
            "id_number": make_id_number(),
            "status": "full",
            "branch": tree.branch_b.pk,
        },
    )
    assert response.status_code == 200  # the form comes back with an error
    assert Member.objects.count() == before
    assert "越权" in response.content.decode()  # nothing the user typed is lost
