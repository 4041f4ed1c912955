"""Private records in the admin: scoped choosers, filters and the central-household forms."""

from branches.models import CentralHousehold, HouseholdVisit
from tests.factories import make_household, make_member


def test_household_chooser_lists_only_the_users_scope(client, tree, users):
    make_household(building=tree.building_a, head_name="本支部户主")
    make_household(building=tree.building_b, head_name="外支部户主")
    client.force_login(users.secretary)
    body = client.get("/admin/household_chooser/").json()["html"]
    assert "本支部户主" in body and "外支部户主" not in body
    body = client.get("/admin/household_chooser/results/?q=户主").content.decode()
    assert "本支部户主" in body and "外支部户主" not in body


def test_household_chooser_refuses_a_household_out_of_scope(client, tree, users):
    other = make_household(building=tree.building_b, head_name="外支部户主")
    client.force_login(users.secretary)
    response = client.get(f"/admin/household_chooser/chosen/{other.pk}/")
    assert response.status_code in (302, 403)
    assert "外支部户主" not in response.content.decode()


def test_member_list_filters_by_grid_and_branch(client, tree, users, members):
    client.force_login(users.district)
    body = client.get(f"/admin/members/?branch={tree.branch_b.pk}").content.decode()
    assert "黄强" in body and "刘洋" not in body
    body = client.get(f"/admin/members/?grid={tree.grid2.pk}").content.decode()
    assert "刘洋" in body and "黄强" in body
    body = client.get(f"/admin/members/?grid={tree.other_l1.pk}").content.decode()
    assert "刘洋" not in body and "黄强" not in body


def test_member_list_paginates(client, tree, users):
    for i in range(55):
        make_member(branch=tree.branch_a, name=f"分页{i:02d}")
    client.force_login(users.secretary)
    body = client.get("/admin/members/").content.decode()
    assert "分页49" in body and "分页50" not in body
    assert "分页54" in client.get("/admin/members/?p=2").content.decode()


def test_visit_must_be_to_a_contact_household(client, tree, users):
    head = make_member(branch=tree.branch_a, name="中心户主")
    own = make_household(building=tree.building_a, room="1单元101")
    contact = make_household(building=tree.building_a, room="1单元102", head_name="联系户")
    stranger = make_household(building=tree.building_a, room="1单元103", head_name="非联系户")
    central = CentralHousehold.objects.create(member=head, household=own)
    central.contact_households.add(contact)
    client.force_login(users.secretary)
    ok = client.post(
        "/admin/household_visits/new/",
        {
            "central_household": central.pk,
            "household": contact.pk,
            "visited_on": "2026-11-20",
            "note": "了解近况",
        },
    )
    assert ok.status_code == 302
    bad = client.post(
        "/admin/household_visits/new/",
        {
            "central_household": central.pk,
            "household": stranger.pk,
            "visited_on": "2026-11-21",
        },
    )
    assert bad.status_code == 200
    assert HouseholdVisit.objects.count() == 1


def test_central_household_contacts_are_chosen_in_the_heads_branch(client, tree, users):
    head = make_member(branch=tree.branch_a, name="中心户主")
    own = make_household(building=tree.building_a, room="1单元101")
    make_household(building=tree.building_a, room="2单元201", head_name="同支部户")
    make_household(building=tree.building_b, room="3单元301", head_name="外支部户")
    central = CentralHousehold.objects.create(member=head, household=own)
    client.force_login(users.district)
    body = client.get(f"/admin/central_households/edit/{central.pk}/").content.decode()
    assert "同支部户" in body and "外支部户" not in body
