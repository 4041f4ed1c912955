"""Public pages of the organisation tree: what they show, what they hide, and a
query count that does not grow with the data."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page, PageViewRestriction

from branches.models import BuildingGroupPage, GridPage
from tests.factories import add_page, make_member


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_branch_page_query_count_does_not_grow_with_members_or_groups(client, tree):
    small = _queries(client, tree.branch_a.url)
    for i in range(30):
        make_member(
            branch=tree.branch_a, name=f"成员{i}", public_badge=True, badge_title="党员示范岗"
        )
    for i in range(8):
        add_page(tree.branch_a, BuildingGroupPage(title=f"{i}号楼党小组", slug=f"g-{i}"))
    big = _queries(client, tree.branch_a.url)
    assert big == small


def test_grid_page_query_count_does_not_grow_with_children(client, tree):
    add_page(tree.grid3a, GridPage(title="微网格", slug="m", level="micro"))
    small = _queries(client, tree.grid3a.url)
    for i in range(12):
        add_page(tree.grid3a, GridPage(title=f"微网格{i}", slug=f"m-{i}", level="micro"))
    assert _queries(client, tree.grid3a.url) == small


def test_branch_page_shows_public_fields_and_only_opted_in_members(client, tree, members):
    body = client.get(tree.branch_a.url).content.decode()
    assert "王书记" in body
    assert "刘洋" in body and "党员示范岗" in body
    assert "陈静" not in body and "杨磊" not in body
    assert "幸福里3号楼党小组" in body


def test_branch_page_renders_in_english(client, tree):
    tree.branch_a.title_en = "Xingfuli Grid Party Branch"
    tree.branch_a.save_revision().publish()
    body = client.get("/en" + tree.branch_a.url).content.decode()
    assert "Xingfuli Grid Party Branch" in body
    assert 'lang="en"' in body


def test_unpublished_unit_is_not_listed_or_served(client, tree):
    tree.group_a.unpublish()
    assert "幸福里3号楼党小组" not in client.get(tree.branch_a.url).content.decode()
    assert client.get(Page.objects.get(pk=tree.group_a.pk).url or "/x/").status_code == 404


def test_second_branch_under_a_grid_is_refused(tree):
    import pytest
    from django.core.exceptions import ValidationError

    from branches.models import GridBranchPage

    with pytest.raises(ValidationError):
        add_page(tree.grid3a, GridBranchPage(title="第二个支部", slug="second"))


def test_branch_under_a_second_level_grid_is_refused(tree):
    import pytest
    from django.core.exceptions import ValidationError

    from branches.models import GridBranchPage

    with pytest.raises(ValidationError):
        add_page(tree.grid2, GridBranchPage(title="错位支部", slug="misplaced"))


def test_dedicated_grid_hangs_off_any_level_and_needs_a_kind(tree):
    import pytest
    from django.core.exceptions import ValidationError

    school = add_page(
        tree.grid2,
        GridPage(
            title="实验小学专属网格", slug="school", level="dedicated", dedicated_kind="school"
        ),
    )
    assert school.get_parent().pk == tree.grid2.pk
    with pytest.raises(ValidationError):
        add_page(tree.grid2, GridPage(title="无类型专属网格", slug="nokind", level="dedicated"))


# --- Routing: one query for the whole path -------------------------------------------

# What each public page of the tree may cost an anonymous visitor, whatever its
# depth (the site, the path, each page type on it, Wagtail's view-restriction
# check, the restricted paths once, then what the page shows).
QUERY_BUDGET = {"branch": 11, "group": 10, "grid": 9, "notices": 8, "calendar": 9}


def dedicated_grid(parent, slug):
    return add_page(
        parent,
        GridPage(title=f"专属网格{slug}", slug=slug, level="dedicated", dedicated_kind="school"),
    )


def test_tree_pages_keep_their_query_budget_at_any_depth(client, tree):
    urls = {
        "branch": tree.branch_a.url,
        "group": tree.group_a.url,
        "grid": tree.grid3a.url,
        "notices": tree.branch_a.url + "notices/",
        "calendar": tree.branch_a.url + "calendar/",
    }
    for name, url in urls.items():
        assert _queries(client, url) <= QUERY_BUDGET[name], name
    # The same page three levels deeper costs the same.
    shallow, deep = dedicated_grid(tree.district, "near"), dedicated_grid(tree.grid3a, "far")
    assert deep.depth == shallow.depth + 3
    assert _queries(client, deep.url) == _queries(client, shallow.url)


def test_view_restrictions_on_the_path_or_through_an_alias_still_apply(client, tree, users):
    """Without a restriction or an alias on its path a page's own restriction
    check costs no query (the restricted paths are read once per request);
    with one, Wagtail's answer stands: the page, what is under it, and an alias
    of it elsewhere in the tree ask to sign in."""
    alias = tree.group_a.specific.create_alias(parent=tree.branch_b, update_slug="group-a-alias")
    assert client.get(alias.url).status_code == 200
    before = _queries(client, tree.group_b.url)

    def asks_to_sign_in(url):
        response = client.get(url)
        return response.status_code == 302 and "login" in response["Location"]

    # A restriction on a group applies to its alias elsewhere (as Wagtail has it).
    PageViewRestriction.objects.create(page=tree.group_a, restriction_type="login")
    assert asks_to_sign_in(tree.group_a.url) and asks_to_sign_in(alias.url)
    # One on a grid, to everything under it.
    PageViewRestriction.objects.create(page=tree.grid3a, restriction_type="login")
    assert all(asks_to_sign_in(page.url) for page in (tree.grid3a, tree.branch_a))
    assert client.get(tree.group_b.url).status_code == 200  # not on its path
    assert _queries(client, tree.group_b.url) == before  # no query for its own check
    client.force_login(users.member)
    assert client.get(alias.url).status_code == 200


def test_a_units_own_route_comes_before_a_child_of_the_same_slug(client, tree):
    add_page(tree.grid3a, GridPage(title="名叫通知的网格", slug="notices", level="micro"))
    listing = client.get(tree.grid3a.url + "notices/")
    assert listing.status_code == 200
    assert "名叫通知的网格" not in listing.text.split("<main", 1)[1].split("</h1>", 1)[0]


def test_a_path_through_an_unpublished_unit_reaches_its_published_child(client, tree):
    """As Wagtail routes: the way down passes unpublished units; only the page
    itself must be live."""
    tree.branch_a.unpublish()
    assert client.get(tree.branch_a.url).status_code == 404
    assert client.get(tree.group_a.url).status_code == 200


def test_unknown_paths_under_a_unit_are_not_found(client, tree):
    for tail in ("nope/", "group-a/nope/", "notices/nope/", "calendar/ics/x/"):
        assert client.get(tree.branch_a.url + tail).status_code == 404, tail


def crumbs(html):
    trail = html.split('class="breadcrumbs"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r"<li>(?:<a [^>]*>)?([^<]+)", trail)


def test_breadcrumbs_come_from_the_routed_path_in_both_languages(client, tree):
    tree.grid1.title_en = "East Grid"
    tree.grid1.save_revision().publish()
    tree.grid2.unpublish()  # an unpublished unit on the way is left out

    assert crumbs(client.get(tree.group_a.url).text) == [
        "示范区",
        "东城一级网格",
        "幸福里三级网格",
        "幸福里网格党支部",
    ]
    assert crumbs(client.get("/en" + tree.group_a.url).text)[:2] == ["Demo District", "East Grid"]
