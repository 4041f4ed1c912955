"""Partner units and the three lists: a contact keeps only their own unit, needs
are raised in the raiser's branch, resources are suggested through the search
index and a confirmed match becomes a project with milestones."""

import datetime as dt
import io
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from alliance.lists.selectors import resource_suggestions
from alliance.lists.services import match_confirm, need_raise
from alliance.models import Kind, Need, Partner, PartnerContact, Project, Resource
from alliance.partners.services import partner_profile_update
from portal.models import Notification, Role
from portal.services import role_assign
from search.query import search
from tests.factories import make_user
from volunteers.models import ServiceRequest


def rebuild():
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())


def make_partner(name, *, kind=Partner.Kind.ENTERPRISE, branches=(), contact=None, **kwargs):
    partner = Partner(name=name, kind=kind, **kwargs)
    partner.branches = list(branches)
    partner.save()
    if contact is not None:
        PartnerContact.objects.create(partner=partner, user=contact, name="联络人")
    return partner


def make_resource(partner, title, kind=Kind.VOLUNTEERS, **kwargs):
    return Resource.objects.create(partner=partner, title=title, kind=kind, **kwargs)


def make_need(tree, title="为独居老年人助餐", kind=Kind.VOLUNTEERS, **kwargs):
    kwargs.setdefault("branch", tree.branch_a)
    return Need.objects.create(title=title, kind=kind, **kwargs)


def body(response) -> str:
    return response.content.decode()


def marked(response, name) -> list[str]:
    """The text of the elements marked data-testid=name, tags stripped, in order."""
    html = body(response)
    found = re.findall(rf'data-testid="{name}"[^>]*>(.*?)</li>', html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", f)).strip() for f in found]


@pytest.fixture
def school(tree, users):
    """The partner contact's own unit, co-building with branch A."""
    return make_partner(
        "幸福里实验小学",
        kind=Partner.Kind.SCHOOL,
        branches=[tree.branch_a],
        contact=users.partner,
        intro="区重点小学，开放操场和礼堂。",
    )


@pytest.fixture
def other_unit(tree):
    """Another unit with its own contact, co-building with branch B."""
    contact = make_user("other_contact")
    role_assign(user=contact, role=Role.PARTNER_CONTACT)
    unit = make_partner("光明建设集团", branches=[tree.branch_b], contact=contact)
    unit.contact_user = contact
    return unit


# --- A contact's own unit -------------------------------------------------------------------


def test_contact_edits_own_unit_profile(client, users, school):
    client.force_login(users.partner)
    response = client.post(
        reverse("alliance_my_unit"), {"intro": "开放图书馆，周末可借用。", "address": "幸福路1号"}
    )
    assert response.status_code == 302
    page = client.get(reverse("alliance_partner", args=[school.pk]))
    assert "开放图书馆，周末可借用。" in body(page)
    assert "幸福路1号" in body(page)


def test_contact_cannot_touch_another_units_resource(client, users, school, other_unit):
    theirs = make_resource(other_unit, "工程车辆")
    client.force_login(users.partner)
    url = reverse("alliance_resource_edit", args=[theirs.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"title": "改掉", "kind": "goods", "quantity": 1}).status_code == 403
    withdraw = reverse("alliance_resource_withdraw", args=[theirs.pk])
    assert client.post(withdraw).status_code == 403
    theirs.refresh_from_db()
    assert (theirs.title, theirs.status) == ("工程车辆", Resource.Status.AVAILABLE)
    with pytest.raises(PermissionDenied):
        partner_profile_update(partner=other_unit, by=users.partner, intro="x", address="")


def test_my_unit_is_only_for_partner_contacts(client, users):
    client.force_login(users.volunteer)
    assert client.get(reverse("alliance_my_unit")).status_code == 403
    # A partner-contact account not yet linked to a unit is refused too.
    client.force_login(users.partner)
    assert client.get(reverse("alliance_my_unit")).status_code == 403


def test_resource_offer_edit_and_withdraw(client, users, school):
    client.force_login(users.partner)
    response = client.post(
        reverse("alliance_resource_new"),
        {"title": "礼堂场地", "kind": "venue", "quantity": "1", "unit": "间"},
    )
    assert response.status_code == 302
    resource = Resource.objects.get(partner=school)
    page = client.get(reverse("alliance_my_unit"))
    assert "礼堂场地" in body(page) and "可提供" in body(page)

    # A bad period is refused with a message, nothing saved.
    edit = reverse("alliance_resource_edit", args=[resource.pk])
    response = client.post(
        edit,
        {
            "title": "礼堂与操场",
            "kind": "venue",
            "quantity": "2",
            "available_from": "2026-06-10",
            "available_until": "2026-06-01",
        },
    )
    assert response.status_code == 200
    assert "结束日期不能早于开始日期。" in body(response)
    resource.refresh_from_db()
    assert resource.title == "礼堂场地"

    client.post(edit, {"title": "礼堂与操场", "kind": "venue", "quantity": "2", "unit": "处"})
    resource.refresh_from_db()
    assert (resource.title, resource.quantity) == ("礼堂与操场", 2)

    client.post(reverse("alliance_resource_withdraw", args=[resource.pk]))
    resource.refresh_from_db()
    assert resource.status == Resource.Status.WITHDRAWN
    # Others no longer see it on the resources list; the unit itself still does.
    client.force_login(users.secretary)
    assert "礼堂与操场" not in body(client.get(reverse("alliance_resources")))
    client.force_login(users.partner)
    assert "礼堂与操场" in body(client.get(reverse("alliance_resources")))


def test_committed_resource_cannot_be_withdrawn(client, users, school):
    resource = make_resource(school, "志愿服务队", status=Resource.Status.COMMITTED)
    client.force_login(users.partner)
    response = client.post(reverse("alliance_resource_withdraw", args=[resource.pk]), follow=True)
    assert "该资源已承诺用于项目，项目结束后才能撤回。" in body(response)
    resource.refresh_from_db()
    assert resource.status == Resource.Status.COMMITTED


# --- Needs ----------------------------------------------------------------------------------


def test_need_raise_is_scoped_to_the_secretarys_branch(client, tree, users):
    client.force_login(users.secretary)
    form = client.get(reverse("alliance_need_new"))
    assert tree.branch_a.title in body(form)
    assert tree.branch_b.title not in body(form)

    refused = client.post(
        reverse("alliance_need_new"),
        {"title": "需要场地", "kind": "venue", "branch": str(tree.branch_b.pk)},
    )
    assert refused.status_code == 200
    assert "请从列表中选择一个支部。" in body(refused)
    assert not Need.objects.exists()
    with pytest.raises(PermissionDenied):
        need_raise(by=users.secretary, title="需要场地", kind="venue", branch=tree.branch_b)

    response = client.post(
        reverse("alliance_need_new"),
        {"title": "需要场地", "kind": "venue", "branch": str(tree.branch_a.pk)},
    )
    need = Need.objects.get()
    assert response.status_code == 302
    assert (need.branch, need.raised_by, need.status) == (tree.branch_a, users.secretary, "open")
    # The other branch's secretary does not see it.
    client.force_login(users.secretary_b)
    assert client.get(reverse("alliance_need", args=[need.pk])).status_code == 404
    assert "需要场地" not in body(client.get(reverse("alliance_needs")))


def test_grid_worker_raises_needs_of_their_grids_branch(tree, users):
    need = need_raise(by=users.gridworker, title="楼道灯维修", kind="goods", branch=tree.branch_a)
    assert need.branch == tree.branch_a
    with pytest.raises(PermissionDenied):
        need_raise(by=users.gridworker, title="x", kind="goods", branch=tree.branch_b)
    with pytest.raises(PermissionDenied):
        need_raise(by=users.partner, title="x", kind="goods", branch=tree.branch_a)


def test_need_raised_from_a_residents_request(client, tree, users):
    start = timezone.now()
    request = ServiceRequest.objects.create(
        title="独居老人助餐",
        description="每天午餐",
        category=ServiceRequest.Category.ELDERLY,
        grid=tree.grid3a,
        branch=tree.branch_a,
        window_start=start,
        window_end=start + dt.timedelta(days=1),
        requester_phone="13812345678",
    )
    client.force_login(users.secretary)
    form = body(client.get(reverse("alliance_need_new"), {"request": request.pk}))
    assert "来自服务诉求“独居老人助餐”。" in form
    assert 'value="独居老人助餐"' in form and "13812345678" not in form
    response = client.post(
        reverse("alliance_need_new"),
        {
            "request": str(request.pk),
            "title": "独居老人助餐",
            "kind": "volunteers",
            "branch": str(tree.branch_a.pk),
            "grid": str(tree.grid3a.pk),
        },
    )
    need = Need.objects.get()
    assert response.status_code == 302
    assert (need.service_request, need.grid) == (request, tree.grid3a)
    # Another branch's secretary cannot raise a need from it.
    client.force_login(users.secretary_b)
    assert "来自服务诉求" not in body(
        client.get(reverse("alliance_need_new"), {"request": request.pk})
    )


# --- Suggestions and matches ----------------------------------------------------------------


def test_suggestions_rank_the_resource_with_matching_words_first(
    client, tree, users, school, django_assert_max_num_queries
):
    helper = make_resource(school, "老年人助餐配送", description="每天中午为老年人送餐")
    # Newer, the same kind, but none of the need's words.
    make_resource(school, "法律咨询服务队")
    make_resource(school, "礼堂场地", kind=Kind.VENUE)
    need = make_need(tree, title="为独居老年人助餐", description="每天中午送餐上门")
    rebuild()

    ranked = resource_suggestions(need=need, user=users.secretary)
    assert [r.title for r in ranked] == ["老年人助餐配送", "法律咨询服务队"]

    client.force_login(users.secretary)
    # At most five searches (one per word of the need, each with its facet counts),
    # however many resources there are.
    with django_assert_max_num_queries(130):
        shown = marked(client.get(reverse("alliance_need", args=[need.pk])), "suggestion")
    assert shown[0].startswith("老年人助餐配送")
    assert len(shown) == 2
    assert helper.partner.name in shown[0]


def test_suggestions_fall_back_to_the_kind_without_an_index(tree, users, school):
    make_resource(school, "礼堂场地", kind=Kind.VENUE)
    make_resource(school, "志愿服务队", kind=Kind.VOLUNTEERS)
    need = make_need(tree, kind=Kind.VENUE)
    # Nothing indexed: the same kind is still suggested.
    ranked = resource_suggestions(need=need, user=users.secretary)
    assert [r.title for r in ranked] == ["礼堂场地"]


def test_secretary_confirms_a_match_into_a_project(client, tree, users, school):
    resource = make_resource(school, "老年人助餐配送")
    need = make_need(tree, raised_by=users.gridworker)
    client.force_login(users.secretary)
    response = client.post(
        reverse("alliance_need_match", args=[need.pk]),
        {
            "resource": [str(resource.pk)],
            "title": "幸福里助餐项目",
            "milestones-TOTAL_FORMS": "3",
            "milestones-INITIAL_FORMS": "0",
            "milestones-0-title": "确定送餐名单",
            "milestones-0-due_on": "2030-01-10",
            "milestones-1-title": "",
            "milestones-2-title": "",
        },
    )
    project = Project.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("alliance_project", args=[project.pk])
    need.refresh_from_db()
    resource.refresh_from_db()
    assert need.status == Need.Status.MATCHED
    assert resource.status == Resource.Status.COMMITTED
    assert (project.title, project.owner, project.status) == (
        "幸福里助餐项目",
        users.secretary,
        Project.Status.PLANNED,
    )
    page = client.get(response.url)
    assert "计划中" in body(page)
    assert "确定送餐名单" in body(page)
    assert "幸福里实验小学" in body(page)
    # The raiser and the unit's contact are told.
    told = set(Notification.objects.values_list("user__username", flat=True))
    assert told == {"gridworker", "partner"}
    # The need is no longer open: no second match.
    again = client.post(
        reverse("alliance_need_match", args=[need.pk]),
        {
            "resource": [str(resource.pk)],
            "milestones-TOTAL_FORMS": "0",
            "milestones-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert "该需求已不再待对接。" in body(again)
    assert Project.objects.count() == 1


def test_partner_cannot_confirm_a_match_with_another_units_resource(
    client, tree, users, school, other_unit
):
    theirs = make_resource(other_unit, "工程车辆", kind=Kind.GOODS)
    need = make_need(tree, title="需要运输车辆", kind=Kind.GOODS)
    client.force_login(users.partner)
    # The suggestion is shown, but without a box to tick.
    page = client.get(reverse("alliance_need", args=[need.pk]))
    assert "工程车辆" in body(page)
    assert f'name="resource" value="{theirs.pk}"' not in body(page)
    response = client.post(
        reverse("alliance_need_match", args=[need.pk]),
        {
            "resource": [str(theirs.pk)],
            "milestones-TOTAL_FORMS": "0",
            "milestones-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 403
    need.refresh_from_db()
    theirs.refresh_from_db()
    assert (need.status, theirs.status) == (Need.Status.OPEN, Resource.Status.AVAILABLE)
    assert not Project.objects.exists()


def test_partner_confirms_a_match_with_their_own_resource(tree, users, school):
    own = make_resource(school, "操场场地", kind=Kind.VENUE)
    need = make_need(tree, title="需要活动场地", kind=Kind.VENUE)
    project = match_confirm(need=need, resources=[own], by=users.partner)
    assert project.owner == users.partner
    assert list(project.resources.all()) == [own]


def test_project_milestones_and_status(client, tree, users, school):
    resource = make_resource(school, "老年人助餐配送")
    need = make_need(tree)
    project = match_confirm(need=need, resources=[resource], by=users.secretary)
    client.force_login(users.partner)  # the contact of the resource's unit runs it too
    url = reverse("alliance_project", args=[project.pk])
    client.post(
        reverse("alliance_milestone_add", args=[project.pk]),
        {"milestone-title": "首次送餐", "milestone-due_on": "2020-01-01"},
    )
    milestone = project.milestones.get()
    assert "已逾期" in body(client.get(url))
    client.post(reverse("alliance_milestone_done", args=[project.pk, milestone.pk]))
    milestone.refresh_from_db()
    assert milestone.done_on == timezone.localdate()

    status = reverse("alliance_project_status", args=[project.pk])
    refused = client.post(status, {"status": "done"}, follow=True)
    assert "“计划中”的项目不能改为“" in body(refused)
    client.post(status, {"status": "active"})
    client.post(status, {"status": "done"})
    project.refresh_from_db()
    need.refresh_from_db()
    resource.refresh_from_db()
    assert project.status == Project.Status.DONE
    assert need.status == Need.Status.CLOSED
    assert resource.status == Resource.Status.AVAILABLE
    # Someone outside the project may not change it.
    client.force_login(users.secretary_b)
    assert client.post(status, {"status": "cancelled"}).status_code == 404


# --- Lists ----------------------------------------------------------------------------------


def test_lists_show_empty_states(client, users):
    client.force_login(users.secretary)
    assert "还没有需求。" in body(client.get(reverse("alliance_needs")))
    assert "还没有共建单位提供资源。" in body(client.get(reverse("alliance_resources")))
    assert "还没有项目" in body(client.get(reverse("alliance_projects")))
    assert "还没有共建单位与您的支部共建。" in body(client.get(reverse("alliance_partners")))
    filtered = client.get(reverse("alliance_needs"), {"status": "closed"})
    assert "没有符合筛选条件的需求。" in body(filtered)


def test_needs_list_paginates_with_a_fixed_query_count(
    client, tree, users, django_assert_max_num_queries
):
    for i in range(25):
        make_need(tree, title=f"需求{i:02d}")
    client.force_login(users.secretary)
    with django_assert_max_num_queries(20):
        first = client.get(reverse("alliance_needs"))
    assert len(marked(first, "need")) == 20
    assert "第 1 页，共 2 页" in body(first)
    second = client.get(reverse("alliance_needs"), {"page": 2})
    assert len(marked(second, "need")) == 5
    assert "需求00" in body(second)


def test_partner_list_shows_units_co_building_with_the_viewer(
    client, tree, users, school, other_unit
):
    client.force_login(users.secretary)
    listed = body(client.get(reverse("alliance_partners")))
    assert "幸福里实验小学" in listed and "光明建设集团" not in listed
    client.force_login(users.district)
    listed = body(client.get(reverse("alliance_partners")))
    assert "幸福里实验小学" in listed and "光明建设集团" in listed


# --- Search ---------------------------------------------------------------------------------


def test_search_finds_partners_resources_and_needs_by_chinese_words(tree, users, school):
    make_resource(school, "老年人助餐配送")
    gone = make_resource(school, "旧电脑捐赠", status=Resource.Status.WITHDRAWN)
    make_need(tree, title="社区图书角需要书架")
    rebuild()

    def found(user, text, doc_type):
        hits = search(user=user, text=text, doc_types=(doc_type,)).results.hits
        return [re.sub(r"</?mark>", "", h.title) for h in hits]

    assert found(users.volunteer, "实验小学", "partner") == ["幸福里实验小学"]
    assert found(users.volunteer, "助餐", "resource") == ["老年人助餐配送"]
    # A withdrawn resource is no longer found.
    assert gone.status == Resource.Status.WITHDRAWN
    assert found(users.volunteer, "电脑", "resource") == []
    # Needs are the branch's: its secretary finds them, the other branch's does not.
    assert found(users.secretary, "书架", "need") == ["社区图书角需要书架"]
    assert found(users.secretary_b, "书架", "need") == []


# --- Admin ----------------------------------------------------------------------------------


def _contact_data(tree, users, **overrides):
    data = {
        "name": "幸福里实验小学",
        "kind": "school",
        "intro": "",
        "address": "",
        "branches": [str(tree.branch_a.pk)],
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-name": "李老师",
        "contacts-0-title": "副校长",
        "contacts-0-phone": "13812345678",
        "contacts-0-user": str(users.partner.pk),
        "contacts-0-ORDER": "1",
    }
    data.update(overrides)
    return data


def test_admin_keeps_a_contacts_phone_write_only(client, tree, users):
    client.force_login(users.district)
    assert client.post(reverse("partners:add"), _contact_data(tree, users)).status_code == 302
    partner = Partner.objects.get()
    contact = partner.contacts.get()
    assert (contact.user, list(partner.branches.all())) == (users.partner, [tree.branch_a])

    form = body(client.get(reverse("partners:edit", args=[partner.pk])))
    assert "138****5678" in form and "13812345678" not in form
    # Left empty, the stored number is kept.
    data = _contact_data(
        tree,
        users,
        intro="开放礼堂",
        **{
            "contacts-INITIAL_FORMS": "1",
            "contacts-0-id": str(contact.pk),
            "contacts-0-phone": "",
        },
    )
    assert client.post(reverse("partners:edit", args=[partner.pk]), data).status_code == 302
    contact.refresh_from_db()
    partner.refresh_from_db()
    assert (contact.phone, partner.intro) == ("13812345678", "开放礼堂")
    # The contact now signs in to their unit.
    client.force_login(users.partner)
    assert "幸福里实验小学" in body(client.get(reverse("alliance_my_unit")))


def test_admin_shows_a_secretary_their_partners_read_only(client, tree, users, school, other_unit):
    client.force_login(users.secretary)
    listed = body(client.get(reverse("partners:index")))
    assert "幸福里实验小学" in listed and "光明建设集团" not in listed
    assert client.get(reverse("partners:inspect", args=[school.pk])).status_code == 200
    # Not another branch's partner, and no editing.
    assert client.get(reverse("partners:inspect", args=[other_unit.pk])).status_code != 200
    assert client.get(reverse("partners:edit", args=[school.pk])).status_code != 200
    assert client.get(reverse("alliances:index")).status_code != 200
