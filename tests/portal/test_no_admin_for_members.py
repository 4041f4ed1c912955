"""People without a staff role (members, volunteers, partners) who open the
admin get one clear "no access" page in Chinese with a link to their own page,
not a loop between /admin/ and the sign-in page; their own record in the site
search links to /me/."""

import io

import pytest
from django.core.management import call_command


def rebuild():
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())


@pytest.mark.parametrize("role", ["member", "volunteer", "partner"])
def test_non_staff_opening_the_admin_get_a_no_access_page(client, users, role):
    client.force_login(getattr(users, role))
    response = client.get("/admin/", follow=True)
    assert len(response.redirect_chain) <= 1
    assert response.status_code == 403
    html = response.content.decode()
    assert "没有管理后台的权限" in html
    assert 'href="/me/"' in html


def test_a_member_opening_their_record_in_the_admin_gets_the_no_access_page(client, users):
    client.force_login(users.member)
    response = client.get(f"/admin/members/edit/{users.own_member.pk}/", follow=True)
    assert len(response.redirect_chain) <= 1
    assert response.status_code == 403
    assert 'href="/me/"' in response.content.decode()


def test_a_members_own_record_in_search_links_to_their_page(client, users):
    rebuild()
    client.force_login(users.member)
    response = client.post("/search/", {"q": users.own_member.name}, follow=True)
    html = response.content.decode()
    assert users.own_member.name in html
    assert f"/admin/members/edit/{users.own_member.pk}/" not in html
    assert '<h2 class="search-hit__title"><a href="/me/">' in html


def test_staff_still_reach_the_admin_and_search_links_to_it(client, users, members):
    client.force_login(users.secretary)
    assert client.get("/admin/").status_code == 200
    rebuild()
    response = client.post("/search/", {"q": members.a_private.name}, follow=True)
    assert (
        f'<h2 class="search-hit__title"><a href="/admin/members/edit/{members.a_private.pk}/">'
        in response.content.decode()
    )
