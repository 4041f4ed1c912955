"""Community registration (双报到): submitting, one open registration per member,
approval and return by the branch's secretary, withdrawal, the member's page,
the scoped review list and the registration slip."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from branches.models import GridBranchPage, GridPage
from portal.models import InboxMessage
from tests.factories import add_page, make_member, make_user
from volunteers.models import CommunityRegistration
from volunteers.registration.services import (
    registration_approve,
    registration_return,
    registration_submit,
    registration_withdraw,
)

ADDRESS = "幸福里小区3号楼2单元501"
MASKED = "幸福里小区****"
PAGE = "/me/registration/"
SLIP = "/me/registration/slip/"


def submit(users, tree, **kwargs):
    fields = {
        "member": users.own_member,
        "branch": tree.branch_a,
        "employer": "市第一医院",
        "address": ADDRESS,
        "skills": "义诊、健康讲座",
    }
    fields.update(kwargs)
    return registration_submit(**fields)


def registration_b(tree):
    """Another member's registration with branch B."""
    member = make_member(branch=tree.branch_b, name="黄强", user=make_user("huang"))
    return registration_submit(
        member=member,
        branch=tree.branch_b,
        employer="区税务局",
        address="光明路小区8号楼1单元101",
        skills="",
    )


def review_url(registration):
    return f"/admin/registrations/inspect/{registration.pk}/"


# --- Services ---------------------------------------------------------------------


def test_submit_records_the_registration_and_the_employer(tree, users):
    registration = submit(users, tree)
    assert registration.status == CommunityRegistration.Status.SUBMITTED
    member = users.own_member
    member.refresh_from_db()
    assert member.employed_elsewhere and member.employer == "市第一医院"
    # The address is encrypted at rest.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT address FROM volunteers_communityregistration WHERE id = %s",
            [registration.pk],
        )
        (raw,) = cursor.fetchone()
    assert "幸福里" not in raw
    assert CommunityRegistration.objects.get().address == ADDRESS


def test_one_open_registration_per_member_says_which(tree, users):
    first = submit(users, tree)
    with pytest.raises(ValidationError) as refused:
        submit(users, tree, branch=tree.branch_b)
    assert "幸福里网格党支部" in str(refused.value) and "待审核" in str(refused.value)
    registration_approve(registration=first, by=users.secretary)
    with pytest.raises(ValidationError, match="已通过"):
        submit(users, tree, branch=tree.branch_b)
    registration_withdraw(registration=first, by=users.member)
    again = submit(users, tree, branch=tree.branch_b)
    assert again.status == "submitted"
    assert CommunityRegistration.objects.filter(status__in=["submitted", "approved"]).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_submissions_open_one_registration(tree, users):
    start = threading.Barrier(8)
    outcomes = []

    def one(branch):
        try:
            start.wait()
            submit(users, tree, branch=branch)
            outcomes.append("ok")
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, [tree.branch_a, tree.branch_b] * 4))
    assert outcomes.count("ok") == 1
    assert all("请先撤回后再重新报到" in o for o in outcomes if o != "ok")
    assert CommunityRegistration.objects.filter(member=users.own_member).count() == 1


def test_submit_needs_employer_address_and_a_live_branch(tree, users):
    with pytest.raises(ValidationError) as refused:
        submit(users, tree, employer="  ", address="")
    assert "请填写工作单位" in refused.value.message_dict["employer"][0]
    assert "居住地址" in refused.value.message_dict["address"][0]
    tree.branch_b.unpublish()
    with pytest.raises(ValidationError, match="请从列表中选择"):
        submit(users, tree, branch=GridBranchPage.objects.get(pk=tree.branch_b.pk))
    assert not CommunityRegistration.objects.exists()
    users.own_member.refresh_from_db()
    assert not users.own_member.employed_elsewhere


def test_secretary_approves_and_the_member_is_told(
    client, tree, users, django_capture_on_commit_callbacks
):
    registration = submit(users, tree)
    with django_capture_on_commit_callbacks(execute=True):
        approved = registration_approve(registration=registration, by=users.secretary)
    assert approved.status == "approved" and approved.decided_by == users.secretary
    assert approved.decided_at is not None
    message = InboxMessage.objects.get(user=users.member)
    assert message.subject == "社区报到已通过" and message.url == PAGE
    client.force_login(users.member)
    body = client.get("/me/inbox/").content.decode()
    assert "社区报到已通过" in body and "幸福里网格党支部已通过您的社区报到" in body


def test_return_needs_a_reason_which_reaches_the_member(
    client, tree, users, django_capture_on_commit_callbacks
):
    registration = submit(users, tree)
    with pytest.raises(ValidationError, match="请填写退回原因"):
        registration_return(registration=registration, by=users.secretary, reason="  ")
    registration.refresh_from_db()
    assert registration.status == "submitted"
    with django_capture_on_commit_callbacks(execute=True):
        registration_return(
            registration=registration, by=users.secretary, reason="请补充门牌号和单元号"
        )
    client.force_login(users.member)
    inbox = client.get("/me/inbox/").content.decode()
    assert "社区报到被退回" in inbox and "原因：请补充门牌号和单元号" in inbox
    page = client.get(PAGE).content.decode()
    assert "已退回" in page and "请补充门牌号和单元号" in page
    # A returned registration is closed: the form is back, filled in from it.
    assert "重新报到" in page and 'value="市第一医院"' in page
    assert ADDRESS not in page


def test_only_submitted_registrations_can_be_decided(tree, users):
    registration = submit(users, tree)
    registration_approve(registration=registration, by=users.secretary)
    with pytest.raises(ValidationError, match="只有待审核的报到可以审批"):
        registration_approve(registration=registration, by=users.secretary)
    with pytest.raises(ValidationError, match="已通过"):
        registration_return(registration=registration, by=users.secretary, reason="重复")


def test_only_staff_covering_the_branch_may_decide(tree, users):
    registration = submit(users, tree)
    for outsider in (users.secretary_b, users.leader, users.member, users.volunteer):
        with pytest.raises(PermissionDenied):
            registration_approve(registration=registration, by=outsider)
        with pytest.raises(PermissionDenied):
            registration_return(registration=registration, by=outsider, reason="越权")
    registration.refresh_from_db()
    assert registration.status == "submitted"
    # A coordinator of the grid above the branch may decide.
    assert registration_approve(registration=registration, by=users.coordinator).status == (
        "approved"
    )


def test_withdraw_is_for_the_member_and_open_registrations(tree, users):
    registration = submit(users, tree)
    with pytest.raises(PermissionDenied):
        registration_withdraw(registration=registration, by=users.secretary)
    assert registration_withdraw(registration=registration, by=users.member).status == ("withdrawn")
    with pytest.raises(ValidationError, match="已撤回，不能撤回"):
        registration_withdraw(registration=registration, by=users.member)


# --- The member's page ----------------------------------------------------------------


def test_member_page_form_keeps_what_was_typed_on_a_bad_request(client, tree, users):
    client.force_login(users.member)
    response = client.post(
        PAGE, {"branch_name": "幸福里网格党支部", "employer": "", "address": ADDRESS}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "请填写工作单位。" in body and "已填写的内容都还在" in body
    assert f'value="{ADDRESS}"' in body and 'value="幸福里网格党支部"' in body
    assert not CommunityRegistration.objects.exists()


def test_member_page_lists_matching_branches_to_choose_from(client, tree, users):
    client.force_login(users.member)
    data = {"branch_name": "网格党支部", "employer": "市第一医院", "address": ADDRESS}
    body = client.post(PAGE, data).content.decode()
    assert "请从名称下方的列表中选择您的支部" in body
    assert f'value="{tree.branch_a.pk}"' in body and f'value="{tree.branch_b.pk}"' in body
    unknown = client.post(PAGE, data | {"branch_name": "不存在的支部"}).content.decode()
    assert "没有名称包含“不存在的支部”的网格党支部" in unknown
    assert not CommunityRegistration.objects.exists()
    response = client.post(PAGE, data | {"branch": tree.branch_b.pk}, follow=True)
    assert "报到已提交，等待支部书记审核。" in response.content.decode()
    assert CommunityRegistration.objects.get().branch_id == tree.branch_b.pk


def test_member_page_shows_the_status_with_the_address_masked(client, tree, users):
    submit(users, tree)
    client.force_login(users.member)
    body = client.get(PAGE).content.decode()
    assert "待审核" in body and "幸福里网格党支部" in body
    assert MASKED in body and ADDRESS not in body
    assert "撤回报到" in body and SLIP not in body
    assert "提交审核" not in body  # no second form while one is open


def test_member_withdraws_from_the_page(client, tree, users):
    registration = submit(users, tree)
    client.force_login(users.member)
    response = client.post("/me/registration/withdraw/", follow=True)
    assert "报到已撤回。" in response.content.decode()
    registration.refresh_from_db()
    assert registration.status == "withdrawn"
    assert "提交审核" in response.content.decode()


def test_account_without_a_member_record_gets_an_explanation(client, users):
    client.force_login(users.volunteer)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "您的账号尚未关联党员档案" in response.content.decode()
    assert client.post("/me/registration/withdraw/").status_code == 200
    assert client.get("/me/registration/slip/").status_code == 404
    assert client.get("/me/registration/branches/?q=幸福").status_code == 403


def test_my_page_links_to_the_registration(client, users):
    client.force_login(users.member)
    assert PAGE in client.get("/me/").content.decode()


def test_branch_search_lists_at_most_twenty_live_branches(client, tree, users):
    for i in range(22):
        grid = add_page(tree.grid2, GridPage(title=f"测试{i}三级网格", slug=f"t{i}", level="3"))
        add_page(grid, GridBranchPage(title=f"测试{i:02d}网格党支部", slug=f"tb{i}"))
    GridBranchPage.objects.get(slug="tb0").unpublish()
    client.force_login(users.member)
    results = client.get("/me/registration/branches/?q=测试").json()["results"]
    titles = [r["title"] for r in results]
    assert len(titles) == 20 and "测试00网格党支部" not in titles
    body = client.post(
        PAGE, {"branch_name": "测试", "employer": "某单位", "address": ADDRESS}
    ).content.decode()
    assert body.count('type="radio" name="branch"') == 20 and "只列出前 20 个" in body


# --- The slip --------------------------------------------------------------------------


def test_slip_only_for_the_own_approved_registration_and_its_secretary(client, tree, users):
    registration = submit(users, tree)
    client.force_login(users.member)
    assert client.get("/me/registration/slip/").status_code == 404
    assert SLIP not in client.get(PAGE).content.decode()
    registration_approve(registration=registration, by=users.secretary)
    assert f'<a class="button" href="{SLIP}">下载报到证</a>' in client.get(PAGE).content.decode()
    response = client.get(SLIP)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    other = make_user("other")
    make_member(branch=tree.branch_a, name="钱多", user=other)
    client.force_login(other)
    assert client.get("/me/registration/slip/").status_code == 404

    admin_slip = f"/admin/registrations/slip/{registration.pk}/"
    client.force_login(users.secretary)
    assert client.get(admin_slip)["Content-Type"] == "application/pdf"
    client.force_login(users.secretary_b)
    assert client.get(admin_slip).status_code in (302, 403)


# --- The review list and page in the admin ----------------------------------------------


def test_review_list_is_scoped_and_masks_the_address(client, tree, users):
    submit(users, tree)
    registration_b(tree)
    client.force_login(users.secretary)
    body = client.get("/admin/registrations/").content.decode()
    assert "赵敏" in body and "市第一医院" in body and "待审核" in body
    assert MASKED in body and ADDRESS not in body
    assert "黄强" not in body
    client.force_login(users.secretary_b)
    body = client.get("/admin/registrations/").content.decode()
    assert "黄强" in body and "赵敏" not in body
    client.force_login(users.district)
    body = client.get("/admin/registrations/?status=submitted").content.decode()
    assert "黄强" in body and "赵敏" in body
    client.force_login(users.leader)
    assert client.get("/admin/registrations/").status_code in (302, 403)


def test_review_list_filters_by_status(client, tree, users):
    registration_approve(registration=submit(users, tree), by=users.secretary)
    registration_b(tree)
    client.force_login(users.district)
    body = client.get("/admin/registrations/?status=approved").content.decode()
    assert "赵敏" in body and "黄强" not in body


def test_review_list_query_count_does_not_grow(client, tree, users):
    client.force_login(users.district)
    submit(users, tree)
    client.get("/admin/registrations/")
    with CaptureQueriesContext(connection) as few:
        client.get("/admin/registrations/")
    for i in range(5):
        member = make_member(branch=tree.branch_b, name=f"成员{i}")
        registration_submit(
            member=member, branch=tree.branch_b, employer="单位", address=ADDRESS, skills=""
        )
    with CaptureQueriesContext(connection) as many:
        client.get("/admin/registrations/")
    assert len(many) == len(few)


def test_secretary_approves_from_the_review_page(client, tree, users):
    registration = submit(users, tree)
    client.force_login(users.secretary)
    page = client.get(review_url(registration)).content.decode()
    assert "通过" in page and "退回并说明原因" in page
    assert MASKED in page and ADDRESS not in page
    response = client.post(review_url(registration), {"action": "approve"}, follow=True)
    assert "已通过，已通知该党员。" in response.content.decode()
    registration.refresh_from_db()
    assert registration.status == "approved"
    assert "下载报到证" in client.get(review_url(registration)).content.decode()


def test_return_from_the_review_page_needs_a_reason(client, tree, users):
    registration = submit(users, tree)
    client.force_login(users.secretary)
    response = client.post(review_url(registration), {"action": "return", "reason": ""})
    assert response.status_code == 200 and "请填写退回原因" in response.content.decode()
    registration.refresh_from_db()
    assert registration.status == "submitted"
    client.post(review_url(registration), {"action": "return", "reason": "地址不在本网格"})
    registration.refresh_from_db()
    assert registration.status == "returned" and registration.reason == "地址不在本网格"


def test_secretary_of_another_branch_cannot_see_or_decide(client, tree, users):
    registration = submit(users, tree)
    client.force_login(users.secretary_b)
    response = client.get(review_url(registration))
    assert response.status_code in (302, 403) and "赵敏" not in response.content.decode()
    response = client.post(review_url(registration), {"action": "approve"})
    assert response.status_code in (302, 403)
    registration.refresh_from_db()
    assert registration.status == "submitted"
