"""Visibility and filters are answered by the full-text index on both databases: the
filter words of an entry (search.backends.database.filter_tokens) are matched by
SQLite's FTS5 table and, on PostgreSQL, by the ``ftsv`` tsvector (migration 0005).
Every visibility case gives the same hits and facet counts on either database; on
PostgreSQL one statement answers facets and page, filtering on ``ftsv``."""

import datetime as dt
import importlib

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.publishing import NoticePage
from search.backends.database import filter_tokens, fts5_filters, pg_filters
from search.base import SearchQuery, Visibility
from search.models import SearchEntry
from search.query import search
from tests.factories import make_household, make_member, publish
from tests.search.test_search_api import rebuild, user_for
from volunteers.models import ServiceRequest

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the PostgreSQL full-text path"
)

ROLES = (
    "anonymous",
    "volunteer",
    "partner",
    "member",
    "leader",
    "gridworker",
    "secretary",
    "secretary_b",
    "coordinator",
    "district",
)


def make_request(*, grid, branch, title, status=ServiceRequest.Status.NEW, **kwargs):
    now = timezone.now()
    return ServiceRequest.objects.create(
        title=title,
        grid=grid,
        branch=branch,
        status=status,
        category=ServiceRequest.Category.ELDERLY,
        window_start=now,
        window_end=now + dt.timedelta(days=2),
        **kwargs,
    )


@pytest.fixture
def records(tree, users):
    """One record of every kind of visibility, each with 欧阳 in its text: a public
    notice, the member's own record, members of group A, of branch A without a
    group and of branch B, a household of group A, and a service request in each
    third-level grid (grid workers' type), A's recorded by the volunteer."""
    own = users.own_member
    own.name = "欧阳敏"
    own.save()
    notice = publish(tree.branch_a, NoticePage(title="欧阳老师讲党课", summary="本周六上午"))
    in_group = make_member(branch=tree.branch_a, building_group=tree.group_a, name="欧阳静")
    no_group = make_member(branch=tree.branch_a, name="欧阳磊")
    branch_b = make_member(branch=tree.branch_b, building_group=tree.group_b, name="欧阳强")
    home = make_household(building=tree.building_a, room="2单元501", head_name="欧阳华")
    request_a = make_request(
        grid=tree.grid3a,
        branch=tree.branch_a,
        title="欧阳奶奶需要买菜",
        created_by=users.volunteer,
    )
    request_b = make_request(
        grid=tree.grid3b,
        branch=tree.branch_b,
        title="欧阳爷爷需要陪诊",
        status=ServiceRequest.Status.IN_SERVICE,
    )
    rebuild()

    def key(obj, doc_type):
        return (doc_type, str(obj.pk))

    keys = {
        "notice": key(notice, "notice"),
        "own": key(own, "member"),
        "in_group": key(in_group, "member"),
        "no_group": key(no_group, "member"),
        "branch_b": key(branch_b, "member"),
        "home": key(home, "household"),
        "request_a": key(request_a, "request"),
        "request_b": key(request_b, "request"),
    }
    in_grid_a = {"notice", "own", "in_group", "no_group", "home", "request_a"}
    return keys, in_grid_a


# Who finds which of ``records``: anonymous visitors and partners the public notice
# only; owners their own records (the member their member record, the volunteer the
# request they recorded); the group leader their group's members and households; the
# grid worker the requests of their grid (3a); a secretary their branch; the
# coordinator the level-2 grid over both branches; the district everything.
EVERYTHING = {"notice", "own", "in_group", "no_group", "branch_b", "home", "request_a", "request_b"}
VISIBLE = {
    "anonymous": {"notice"},
    "partner": {"notice"},
    "volunteer": {"notice", "request_a"},
    "member": {"notice", "own"},
    "leader": {"notice", "own", "in_group", "home"},
    "gridworker": {"notice", "request_a"},
    "secretary": {"notice", "own", "in_group", "no_group", "home", "request_a"},
    "secretary_b": {"notice", "branch_b", "request_b"},
    "coordinator": EVERYTHING,
    "district": EVERYTHING,
}


def outcome(user, **kwargs):
    results = search(user=user, text="欧阳", per_page=50, **kwargs).results
    return {(h.doc_type, h.object_id) for h in results.hits}, results.facets, results.total


def facets_of(found):
    counts = {}
    for doc_type, _ in found:
        counts[doc_type] = counts.get(doc_type, 0) + 1
    return counts


@pytest.mark.parametrize("role", ROLES)
def test_every_visibility_case_gives_its_hits_and_facets(records, users, role):
    keys, _ = records
    expected = {keys[name] for name in VISIBLE[role]}
    hits, facets, total = outcome(user_for(users, role))
    assert hits == expected
    assert facets == facets_of(expected)
    assert total == len(expected)


@pytest.mark.parametrize("role", ROLES)
def test_type_grid_and_status_filters_within_what_a_role_sees(records, users, role):
    keys, in_grid_a = records
    user = user_for(users, role)
    visible = {keys[name] for name in VISIBLE[role]}

    hits, facets, total = outcome(user, doc_types=("member", "request"))
    assert hits == {k for k in visible if k[0] in ("member", "request")}
    assert facets == facets_of(visible)  # every type counted, to offer the others
    assert total == len(hits)

    hits, facets, total = outcome(user, grid_path=users.own_member.branch.get_parent().path)
    expected = {keys[name] for name in VISIBLE[role] & in_grid_a}
    assert hits == expected and facets == facets_of(expected) and total == len(expected)

    # A status with an underscore ("in_service" is the filter word "sinservice").
    hits, _, total = outcome(user, status=ServiceRequest.Status.IN_SERVICE)
    assert hits == {keys["request_b"]} & visible and total == len(hits)


def test_a_page_past_the_last_still_counts_the_facets(records, users):
    keys, _ = records
    page = search(user=users.district, text="欧阳", per_page=5, page=3).results
    assert page.hits == []
    assert page.total == len(EVERYTHING)
    assert page.facets == facets_of({keys[name] for name in EVERYTHING})


def test_the_filter_words_of_both_databases_are_the_same():
    query = SearchQuery(
        text="x",
        tokens=("x",),
        visibility=Visibility(
            paths=("00010002",),
            group_ids=(12,),
            user_id=7,
            grid_worker_paths=("000100020003",),
            grid_worker_types=("request",),
        ),
        doc_types=("member", "service_request"),
        grid_path="0001",
        status="in_service",
    )
    assert pg_filters(query) == (
        "('pub' | 'u00010002' | 'grp12' | 'own7' | 'w000100020003')"
        " & ('tmember' | 'tservicerequest') & ('g0001') & ('sinservice')"
    )
    assert fts5_filters(query) == (
        "filter_tokens: (pub OR u00010002 OR grp12 OR own7 OR w000100020003)"
        " AND filter_tokens: (tmember OR tservicerequest)"
        " AND filter_tokens: (g0001) AND filter_tokens: (sinservice)"
    )
    assert pg_filters(query, with_doc_types=False) == (
        "('pub' | 'u00010002' | 'grp12' | 'own7' | 'w000100020003') & ('g0001') & ('sinservice')"
    )
    # The district administrator, no filters: nothing to match.
    assert (
        pg_filters(SearchQuery(text="x", tokens=("x",), visibility=Visibility(everything=True)))
        == ""
    )


@postgres_only
def test_a_filter_word_matches_whole_words_only():
    """grp1 is not a prefix match of grp12: a leader of group 1 does not see group 12."""
    entries = [
        SearchEntry(doc_type="member", object_id=str(g), title="欧阳", group_id=g) for g in (1, 12)
    ]
    for entry in entries:
        entry.filter_tokens = filter_tokens(entry)
    SearchEntry.objects.bulk_create(entries)
    query = SearchQuery(text="欧阳", tokens=("欧阳",), visibility=Visibility(group_ids=(1,)))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT object_id FROM search_searchentry WHERE ftsv @@ to_tsquery('simple', %s)",
            [pg_filters(query)],
        )
        assert [row[0] for row in cursor.fetchall()] == ["1"]


def searchentry_statements(queries):
    return [q["sql"] for q in queries.captured_queries if "search_searchentry" in q["sql"]]


@postgres_only
@pytest.mark.parametrize(
    "role,kwargs",
    [
        ("anonymous", {}),
        ("secretary", {}),
        ("gridworker", {}),
        ("secretary", {"doc_types": ("member",)}),
        ("secretary", {"grid_path": "0001"}),
        ("district", {}),
        ("district", {"page": 9}),
    ],
)
def test_one_statement_answers_facets_and_page_filtering_on_ftsv(records, users, role, kwargs):
    user = user_for(users, role)
    with CaptureQueriesContext(connection) as queries:
        results = search(user=user, text="欧阳", per_page=5, **kwargs).results
    (sql,) = searchentry_statements(queries)
    assert "count(*)" in sql and "ts_rank(" in sql and "LIMIT" in sql
    if role == "district":
        assert "ftsv" not in sql  # everything visible, nothing to filter
    else:
        assert "ftsv @@ to_tsquery" in sql
    # Visibility and filters are not column filters any more.
    for column in ('"public"', '"unit_path"', '"group_id"', '"owner_id"', '"grid_path"'):
        assert column not in sql, column
    assert results.facets  # both answered by the one statement


def test_the_migration_gives_entries_without_filter_words_theirs(records, users):
    """An index built on PostgreSQL before 0003 has entries without filter words:
    0005 writes them (on SQLite 0003 did), so visibility answered by the filter
    words finds them again."""
    migration = importlib.import_module("search.migrations.0005_pg_filter_index")
    keys, _ = records
    notice = SearchEntry.objects.get(doc_type="notice")
    SearchEntry.objects.filter(pk=notice.pk).update(filter_tokens="")
    assert keys["notice"] not in outcome(AnonymousUser())[0]
    migration._fill_filter_tokens(SearchEntry)
    assert outcome(AnonymousUser())[0] == {keys["notice"]}


# --- Two workers indexing the same record at once -------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_indexing_one_record_at_once_both_succeed_and_the_later_one_stays():
    """Two quick saves of one record: the second worker's write waits for the
    first's transaction and then replaces its document (it used to fail on the
    unique key: its delete had found nothing the first had committed)."""
    import threading

    from django.db import connections, transaction

    from search.backends.database import DatabaseBackend
    from search.models import SearchEntry

    def document(title):
        return {
            "doc_type": "notice", "object_id": "7", "title": title, "body": "", "keywords": "",
            "url": "/notice/7/", "date": timezone.now(), "status": "", "grid_path": "",
            "public": True, "unit_path": "", "group_id": None, "owner_id": None, "hashes": [],
        }  # fmt: skip

    backend = DatabaseBackend()
    backend.index([document("第一稿")])
    first_holds, errors = threading.Event(), []

    def first():
        try:
            with transaction.atomic():
                backend.index([document("第二稿")])
                first_holds.set()
                threading.Event().wait(0.5)  # the transaction stays open meanwhile
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections.close_all()

    def second():
        first_holds.wait(10)
        try:
            backend.index([document("第三稿")])
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert list(SearchEntry.objects.filter(object_id="7").values_list("title", flat=True)) == [
        "第三稿"
    ]
