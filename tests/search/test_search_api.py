"""The search() API on the embedded backend: permissions, exact lookup by keyed
hash, hostile input, index upkeep through the real signal → on-commit → task path,
and the filters."""

import io
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.utils import translation
from wagtail.models import Page

from branches.models import GridBranchPage, Member
from portal.validators import id_check_digit
from search.query import search
from tests.factories import make_household, make_member

ROLES = (
    "anonymous",
    "member",
    "volunteer",
    "partner",
    "leader",
    "secretary",
    "secretary_b",
    "coordinator",
    "district",
)


def rebuild():
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())


def user_for(users, role):
    return AnonymousUser() if role == "anonymous" else getattr(users, role)


def found(user, text, doc_type=None, **kwargs):
    """(doc_type, object_id) pairs of every hit (first 50)."""
    page = search(user=user, text=text, per_page=50, **kwargs)
    return {
        (h.doc_type, h.object_id)
        for h in page.results.hits
        if doc_type is None or h.doc_type == doc_type
    }


def key(obj, doc_type="member"):
    return (doc_type, str(obj.pk))


def plain(html):
    return re.sub(r"</?mark>", "", html)


# --- Permissions ----------------------------------------------------------------------------

# Which roles see the members of the shared fixtures (tree: branch A / group A is the
# secretary's and the leader's; the coordinator covers the level-2 grid above both
# branches; ``member`` is 赵敏 of branch A).
VISIBLE = {
    "黄强": {"secretary_b", "coordinator", "district"},  # branch B, group B
    "陈静": {"secretary", "leader", "coordinator", "district"},  # branch A, group A
    "杨磊": {"secretary", "coordinator", "district"},  # branch A, no group
    "赵敏": {"member", "secretary", "leader", "coordinator", "district"},  # the member's own
}


@pytest.mark.parametrize("role", ROLES)
def test_members_only_found_by_roles_that_may_see_them(tree, users, members, role):
    rebuild()
    user = user_for(users, role)
    by_name = {m.name: m for m in Member.objects.all()}
    for name, roles in VISIBLE.items():
        hits = found(user, name, "member")
        if role in roles:
            assert key(by_name[name]) in hits, f"{role} should find {name}"
        else:
            assert hits == set(), f"{role} must not find {name}: {hits}"


@pytest.mark.parametrize("role", ROLES)
def test_households_only_found_by_roles_that_may_see_them(tree, users, role):
    home_a = make_household(building=tree.building_a, room="2单元501", head_name="孙丽华")
    home_b = make_household(building=tree.building_b, room="1单元302", head_name="孙丽华")
    rebuild()
    hits = found(user_for(users, role), "孙丽华", "household")
    expected = set()
    if role in {"secretary", "leader", "coordinator", "district"}:
        expected.add(key(home_a, "household"))
    if role in {"secretary_b", "coordinator", "district"}:
        expected.add(key(home_b, "household"))
    assert hits == expected


@pytest.mark.parametrize("role", ROLES)
def test_public_unit_pages_found_by_everyone(tree, users, role):
    rebuild()
    assert key(tree.branch_b, "unit") in found(user_for(users, role), "光明路网格党支部")


@pytest.mark.parametrize(
    "role,members_counted",
    [
        ("anonymous", 0),
        ("volunteer", 0),
        ("partner", 0),
        ("member", 1),  # only their own record
        ("leader", 3),  # group A: 赵敏, 刘洋, 陈静
        ("secretary", 4),  # branch A
        ("secretary_b", 1),  # branch B: 黄强
        ("coordinator", 5),
        ("district", 5),
    ],
)
def test_facets_only_count_visible_records(tree, users, members, role, members_counted):
    rebuild()
    # Every member document carries its status, 正式党员.
    page = search(user=user_for(users, role), text="正式党员")
    facets = page.results.facets
    assert facets.get("member", 0) == members_counted
    assert page.results.total == sum(facets.values())
    assert len([h for h in page.results.hits if h.doc_type == "member"]) == members_counted


# --- Exact lookup by full ID number / mobile number (keyed hash) ----------------------------


def lookup_values(m):
    return [
        m.id_number,
        m.id_number.lower(),
        m.phone,
        f"{m.phone[:3]} {m.phone[3:7]} {m.phone[7:]}",
        f"+86{m.phone}",
    ]


@pytest.mark.parametrize("role", ["district", "coordinator", "secretary_b"])
def test_full_id_number_or_phone_finds_the_member_for_lookup_roles(tree, users, members, role):
    rebuild()
    target = members.b_private
    for value in lookup_values(target):
        page = search(user=getattr(users, role), text=value)
        hits = [h for h in page.results.hits if h.doc_type == "member"]
        assert [h.object_id for h in hits] == [str(target.pk)], value
        # Clear values never appear; the masked ones do.
        for h in page.results.hits:
            for clear in (target.id_number, target.phone):
                assert clear not in h.title and clear not in h.snippet
        assert target.id_number_masked in plain(hits[0].snippet)
        assert target.phone_masked in plain(hits[0].snippet)


def test_id_number_ending_in_x_found_in_either_case(tree, users):
    first17 = next(
        f"11010119800101{n:03d}"
        for n in range(1000)
        if id_check_digit(f"11010119800101{n:03d}") == "X"
    )
    m = make_member(branch=tree.branch_b, name="石磊", id_number=first17 + "X")
    rebuild()
    for value in (first17 + "X", first17 + "x", f" {first17}X "):
        assert found(users.secretary_b, value) == {key(m)}, value


@pytest.mark.parametrize("role", ["secretary", "leader", "member", "volunteer", "anonymous"])
def test_full_id_number_or_phone_finds_nothing_for_other_roles(tree, users, members, role):
    rebuild()
    # 黄强 is out of scope for the secretary of branch A; 陈静 is in the leader's
    # group and the secretary's branch, but the leader and the member may not look
    # up by ID number or phone at all.
    targets = [members.b_private]
    if role in ("leader", "member", "volunteer", "anonymous"):
        targets.append(members.a_private)
    for target in targets:
        for value in lookup_values(target):
            page = search(user=user_for(users, role), text=value)
            assert page.results.hits == [], (role, target.name, value)
            assert page.query.lookup_hash == "" or role == "secretary"


def test_clear_private_values_never_in_any_hit(tree, users, members):
    # Building and room are plain fields (shown in the admin list and in the hit
    # title); the free-form address is the private one.
    home = make_household(
        building=tree.building_a,
        room="1单元101",
        head_name="周芳",
        address="滨江路88号幸福里小区3号楼1单元101室",
    )
    rebuild()
    everyone = list(Member.objects.all())
    clear = [v for m in everyone for v in (m.id_number, m.phone)] + [home.phone, home.address]
    for text in ("正式党员", "幸福里", "周芳", "党员示范岗", members.a_public.phone[-4:]):
        for role in ROLES:
            page = search(user=user_for(users, role), text=text)
            for h in page.results.hits:
                for value in clear:
                    assert value not in plain(h.title), (text, role, h)
                    assert value not in plain(h.snippet), (text, role, h)


def test_masked_values_shown_and_searchable_by_their_visible_digits(tree, users, members):
    rebuild()
    target = members.a_private
    hits = search(user=users.secretary, text="陈静").results.hits
    member_hits = [h for h in hits if h.doc_type == "member"]
    assert member_hits and target.id_number_masked in member_hits[0].snippet
    # The last four digits shown in the masked phone find the record.
    assert key(target) in found(users.secretary, target.phone[-4:])


# --- Hostile and odd input -------------------------------------------------------------------

BAD_INPUT = [
    "",
    "   ",
    "x" * 10_000,
    "党" * 10_000,
    "党员 " * 3_000,
    "!!!???。。。，，、",
    '"',
    '""',
    '"党员',
    '党员"',
    "'",
    "*",
    "党员*",
    "NEAR",
    "NEAR(党员 社区)",
    "AND",
    "OR",
    "NOT",
    "-",
    "-党员",
    "党员 OR 1=1",
    "'; DROP TABLE x; --",
    "'; DROP TABLE search_searchentry; --",
    "(",
    ")",
    "((党员",
    "^党员",
    "title_tokens:党员",
    "{title_tokens}: 党员",
    "党员 + 社区",
    "\\",
    "%",
    "_",
    "\x00",
    "😀",
    "党员😀👨‍👩‍👧",
    "🇨🇳",
    "ｱｲｳ",
    "١٢٣",
]


@pytest.mark.parametrize("role", ["anonymous", "secretary", "district"])
def test_bad_input_returns_normally(tree, users, members, role):
    rebuild()
    user = user_for(users, role)
    for text in BAD_INPUT:
        page = search(user=user, text=text)
        assert page.results.total >= 0
        assert page.page == 1 and page.num_pages >= 1
        assert len(page.results.hits) <= page.per_page
    # The table is still there and still answers.
    assert key(members.a_private) in found(users.district, "陈静")


def test_operators_are_plain_words(tree, users, members):
    rebuild()
    # "OR" does not widen the query: 党员 OR 黄强 needs both words.
    assert found(users.district, "陈静 OR 黄强", "member") == set()
    assert found(users.district, "NEAR 陈静", "member") == set()
    assert key(members.a_private) in found(users.district, '"陈静"')


# --- Index upkeep (signals → on commit → task) ----------------------------------------------


def test_member_create_rename_delete(tree, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        m = make_member(branch=tree.branch_a, building_group=tree.group_a, name="欧阳娜娜")
    assert key(m) in found(users.district, "欧阳娜娜")
    assert key(m) in found(users.secretary, "欧阳娜娜")

    with django_capture_on_commit_callbacks(execute=True):
        m.name = "欧阳菲菲"
        m.save()
    assert key(m) in found(users.district, "欧阳菲菲")
    assert key(m) not in found(users.district, "欧阳娜娜")

    pk = m.pk
    with django_capture_on_commit_callbacks(execute=True):
        m.delete()
    assert ("member", str(pk)) not in found(users.district, "欧阳菲菲")


def test_member_moved_to_another_branch_changes_who_finds_it(
    tree, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        m = make_member(branch=tree.branch_a, name="慕容复")
    assert key(m) in found(users.secretary, "慕容复")
    with django_capture_on_commit_callbacks(execute=True):
        m.branch = tree.branch_b
        m.save()
    assert found(users.secretary, "慕容复") == set()
    assert key(m) in found(users.secretary_b, "慕容复")


def test_unpublish_and_publish_unit_page(tree, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        page = tree.group_b.specific
        page.title = "光明路8号楼党小组"
        page.save_revision().publish()
    assert key(page, "unit") in found(AnonymousUser(), "光明路8号楼党小组")

    with django_capture_on_commit_callbacks(execute=True):
        page.unpublish()
    assert key(page, "unit") not in found(AnonymousUser(), "光明路8号楼党小组")
    assert key(page, "unit") not in found(users.district, "光明路8号楼党小组")

    with django_capture_on_commit_callbacks(execute=True):
        page.refresh_from_db()
        page.save_revision().publish()
    assert key(page, "unit") in found(AnonymousUser(), "光明路8号楼党小组")


def test_renamed_unit_page_found_by_new_title(tree, users, django_capture_on_commit_callbacks):
    rebuild()
    with django_capture_on_commit_callbacks(execute=True):
        page = tree.group_a.specific
        page.title = "翠竹苑5号楼党小组"
        page.save_revision().publish()
    assert key(page, "unit") in found(AnonymousUser(), "翠竹苑")
    assert key(page, "unit") not in found(AnonymousUser(), "幸福里3号楼党小组")


def test_moving_a_page_updates_its_grid_path(tree, users, django_capture_on_commit_callbacks):
    rebuild()
    group_b = tree.group_b
    assert key(group_b, "unit") not in found(users.district, "光明路", grid_path=tree.grid3a.path)
    with django_capture_on_commit_callbacks(execute=True):
        Page.objects.get(pk=group_b.pk).move(tree.branch_a, pos="last-child")
    moved = Page.objects.get(pk=group_b.pk)
    assert moved.path.startswith(tree.branch_a.path)
    assert key(group_b, "unit") in found(users.district, "光明路", grid_path=tree.grid3a.path)
    assert key(group_b, "unit") not in found(users.district, "光明路", grid_path=tree.grid3b.path)


def test_moving_a_branch_reindexes_its_members(
    tree, users, members, django_capture_on_commit_callbacks
):
    rebuild()
    assert key(members.b_private) in found(users.coordinator, "黄强")
    with django_capture_on_commit_callbacks(execute=True):
        # Branch B leaves the coordinator's level-2 grid for the other level-1 grid.
        Page.objects.get(pk=tree.branch_b.pk).move(tree.other_l1, pos="last-child")
    branch_b = GridBranchPage.objects.get(pk=tree.branch_b.pk)
    assert branch_b.path.startswith(tree.other_l1.path)
    assert key(members.b_private) in found(users.district, "黄强", grid_path=tree.other_l1.path)
    assert found(users.coordinator, "黄强") == set()


def test_index_content_does_not_depend_on_the_request_language(
    tree, users, django_capture_on_commit_callbacks
):
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        m = make_member(branch=tree.branch_a, name="林静怡", party_posts=["group_leader"])
    assert key(m) in found(users.district, "正式党员")
    assert key(m) in found(users.district, "党小组长")


def test_status_command_matches_after_rebuild(tree, users, members):
    make_household(building=tree.building_a, room="1单元101", head_name="周芳")
    rebuild()
    out = io.StringIO()
    call_command("search_index", "status", stdout=out)
    text = out.getvalue()
    assert "out of date" not in text
    lines = {line.split()[0]: line.split() for line in text.splitlines()[1:]}
    assert lines["member"][2] == lines["member"][4] == str(Member.objects.count())
    assert lines["household"][2] == "1"
    assert int(lines["unit"][2]) == 10  # district + 5 grids + 2 branches + 2 groups


def test_status_command_reports_out_of_date(tree, users, members):
    rebuild()
    Member.objects.filter(pk=members.a_private.pk).delete()  # no on-commit run: stale
    out = io.StringIO()
    call_command("search_index", "status", stdout=out)
    assert "out of date" in out.getvalue()


# --- Filters, pagination, highlighting -------------------------------------------------------


@pytest.fixture
def many_members(tree, users):
    people = [
        make_member(branch=tree.branch_a if i % 2 else tree.branch_b, name=f"王{c}")
        for i, c in enumerate("一二三四五六七八九十甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉")
    ]
    rebuild()
    return people


def test_doc_types_filter(tree, users, many_members):
    home = make_household(building=tree.building_a, room="1单元101", head_name="王五")
    rebuild()
    both = search(user=users.district, text="王")
    assert {"member", "household"} <= set(both.results.facets)
    only = search(user=users.district, text="王", doc_types=("household",))
    assert {h.doc_type for h in only.results.hits} == {"household"}
    assert [h.object_id for h in only.results.hits] == [str(home.pk)]
    assert only.results.total == 1
    # Facets still count every type, so the other filters can be offered.
    assert only.results.facets["member"] == both.results.facets["member"]


def test_grid_path_filter(tree, users, many_members):
    a = found(users.district, "王", "member", grid_path=tree.grid3a.path)
    b = found(users.district, "王", "member", grid_path=tree.grid3b.path)
    assert a and b and not (a & b)
    assert a == {key(m) for m in many_members if m.branch_id == tree.branch_a.pk}
    whole = found(users.district, "王", "member", grid_path=tree.grid2.path)
    assert whole == a | b
    assert found(users.district, "王", "member", grid_path=tree.other_l1.path) == set()


def test_pagination(tree, users, many_members):
    first = search(user=users.district, text="王", doc_types=("member",), per_page=10)
    second = search(user=users.district, text="王", doc_types=("member",), per_page=10, page=2)
    assert first.results.total == 30
    assert first.num_pages == second.num_pages == 3
    ids1 = [h.object_id for h in first.results.hits]
    ids2 = [h.object_id for h in second.results.hits]
    assert len(ids1) == len(ids2) == 10 and not set(ids1) & set(ids2)
    last = search(user=users.district, text="王", doc_types=("member",), per_page=10, page=99)
    assert last.page == 50 and last.results.hits == []
    zero = search(user=users.district, text="王", doc_types=("member",), per_page=10, page=0)
    assert zero.page == 1


def test_highlight_marks_matches_and_escapes(tree, users, members, many_members):
    page = search(user=users.district, text="刘洋")
    hit = next(h for h in page.results.hits if h.doc_type == "member")
    assert "<mark>刘洋</mark>" in hit.title
    page = search(user=users.district, text="光明路网格党支部")
    assert any("<mark>" in h.title for h in page.results.hits if h.doc_type == "unit")
    # Nothing user-typed comes back unescaped.
    page = search(user=users.district, text="<script>刘洋</script>")
    for h in page.results.hits:
        assert "<script>" not in h.title and "<script>" not in h.snippet


def test_highlight_respects_numbers_and_address_synonyms(tree, users):
    make_household(building=tree.building_a, room="1单元301", head_name="周芳")
    rebuild()
    hit = next(
        h
        for h in search(user=users.district, text="3栋1单元").results.hits
        if h.doc_type == "household"
    )
    assert "<mark>3号楼</mark>" in hit.title or "<mark>号楼</mark>" in hit.title
    assert "<mark>3</mark>0" not in hit.title and "0<mark>1</mark>" not in hit.title


def test_buildings_and_central_households_follow_the_branch_scope(tree, users):
    from branches.models import CentralHousehold
    from tests.factories import make_household, make_member

    head = make_member(branch=tree.branch_b, building_group=tree.group_b, name="宋中心")
    own = make_household(building=tree.building_b, room="1单元101")
    CentralHousehold.objects.create(member=head, household=own)
    rebuild()
    assert {"building", "central_household"} <= {t for t, _ in found(users.district, "光明路")}
    assert not {t for t, _ in found(users.secretary, "光明路")} & {"building", "central_household"}
    assert "central_household" in {t for t, _ in found(users.secretary_b, "宋中心")}


@pytest.mark.parametrize("role", ["member", "leader", "secretary", "coordinator", "district"])
def test_index_only_and_row_paths_agree(tree, users, many_members, role):
    """On SQLite the usual search is answered by the full-text index alone; during a
    rebuild (two generations) it joins the rows. Both give the same page, order,
    total and facets, and every page of the index-only path joins up seamlessly."""
    from search.models import SearchState

    make_household(building=tree.building_a, room="1单元101", head_name="王五")
    rebuild()
    user = user_for(users, role)

    def key_of(hit):
        return (hit.doc_type, hit.object_id)

    def pages(**kwargs):
        out = []
        for number in (1, 2, 3):
            page = search(user=user, text="王", per_page=7, page=number, **kwargs)
            out.append(([key_of(h) for h in page.results.hits], page.results.facets))
        return out

    for kwargs in ({}, {"doc_types": ("member",)}, {"grid_path": tree.grid3a.path}):
        index_only = pages(**kwargs)
        state = SearchState.objects.get()
        SearchState.objects.update(building_generation=state.live_generation + 1)
        assert pages(**kwargs) == index_only  # a rebuild in progress: the row path
        SearchState.objects.update(building_generation=None)
        ids = [i for hits, _ in index_only for i in hits]
        assert len(ids) == len(set(ids))
        whole = search(user=user, text="王", per_page=50, **kwargs)
        assert ids == [key_of(h) for h in whole.results.hits][: len(ids)]


def test_filter_words_of_an_entry():
    from search.backends.database import filter_tokens
    from search.models import SearchEntry

    entry = SearchEntry(
        doc_type="central_household",
        public=False,
        unit_path="000100020003",
        grid_path="00010002",
        group_id=12,
        owner_id=None,
        status="live",
    )
    assert filter_tokens(entry).split() == [
        "tcentralhousehold",
        "u0001",
        "u00010002",
        "u000100020003",
        "g0001",
        "g00010002",
        "grp12",
        "slive",
    ]
