"""The Elasticsearch backend against a real cluster (``ELASTICSEARCH_URL``)."""

import os
import uuid
from datetime import UTC, datetime

import pytest

if not os.environ.get("ELASTICSEARCH_URL"):
    pytest.skip(
        "ELASTICSEARCH_URL is not set: Elasticsearch integration tests need a cluster",
        allow_module_level=True,
    )

from search.backends.elastic import ElasticsearchBackend  # noqa: E402
from search.backends.elastic_mapping import is_concrete_index_of  # noqa: E402
from search.base import SearchQuery, Visibility  # noqa: E402

EVERYTHING = Visibility(everything=True)
NOBODY = Visibility()
SECRETARY = Visibility(paths=("00010001",), user_id=70)
LEADER = Visibility(group_ids=(41,), user_id=80)
OWNER = Visibility(user_id=90)


def document(doc_type, object_id, title, body="", **fields):
    doc = {
        "doc_type": doc_type,
        "object_id": str(object_id),
        "title": title,
        "body": body,
        "keywords": "",
        "url": f"/{doc_type}/{object_id}/",
        "date": datetime(2025, 5, int(object_id) % 27 + 1, 9, 0, tzinfo=UTC),
        "status": "",
        "grid_path": "00010001",
        "public": False,
        "unit_path": "",
        "group_id": None,
        "owner_id": None,
        "hashes": [],
    }
    doc.update(fields)
    return doc


DOCUMENTS = [
    document(
        "notice", 1, "社区环境整治志愿服务", "周六上午在3号楼门前集合，清理楼道杂物。", public=True
    ),
    document("notice", 2, "党员大会通知", "本月党员大会讨论发展党员。", unit_path="00010001"),
    document("duty", 3, "楼道志愿值守", "志愿者轮流值守。", group_id=41, status="open"),
    document(
        "member",
        4,
        "赵敏",
        "党员 网格员 联系电话 138****5678",
        unit_path="00010002",
        owner_id=90,
        hashes=["phonehash-4"],
    ),
]


def query(text, visibility=EVERYTHING, tokens=None, **kwargs):
    tokens = tuple(text.split()) if tokens is None else tokens
    return SearchQuery(text=text, tokens=tokens, visibility=visibility, **kwargs)


def ids(results):
    return {f"{h.doc_type}:{h.object_id}" for h in results.hits}


@pytest.fixture(scope="module")
def backend():
    prefix = f"tongxin-test-{uuid.uuid4().hex[:10]}"
    backend = ElasticsearchBackend(
        url=os.environ["ELASTICSEARCH_URL"], index_prefix=prefix, replicas=0, refresh=True
    )
    try:
        backend.rebuild_begin()
        backend.index(DOCUMENTS)
        backend.rebuild_commit()
        yield backend
    finally:
        backend.drop()


def test_live_alias_points_at_one_concrete_index(backend):
    indices = backend.client.indices.get_alias(name=backend.alias).body
    assert len(indices) == 1
    assert is_concrete_index_of(backend.alias, next(iter(indices)))
    assert backend.count() == {"notice": 2, "duty": 1, "member": 1}


def test_two_character_word_finds_a_longer_title(backend):
    results = backend.search(query("志愿"))
    assert "notice:1" in ids(results)
    assert "duty:3" in ids(results)


def test_highlight_marks_the_match(backend):
    results = backend.search(query("志愿"))
    hit = next(h for h in results.hits if h.object_id == "1")
    assert "<mark>" in hit.title or "<mark>" in hit.snippet
    assert "</mark>" in hit.title + hit.snippet


def test_address_synonym(backend):
    # 号楼 and 栋 are the same word for both backends.
    (index,) = backend.client.indices.get_alias(name=backend.alias).body

    def tokens(text, analyzer):
        response = backend.client.indices.analyze(index=index, analyzer=analyzer, text=text)
        return [t["token"] for t in response.body["tokens"]]

    for analyzer in ("tongxin_index", "tongxin_search"):
        assert tokens("3号楼门前", analyzer) == tokens("3栋门前", analyzer)


def test_permission_filter_hides_what_the_user_may_not_see(backend):
    assert ids(backend.search(query("党员", NOBODY))) == set()
    assert ids(backend.search(query("党员", SECRETARY))) == {"notice:2"}
    assert ids(backend.search(query("党员", OWNER))) == {"member:4"}
    assert ids(backend.search(query("党员", EVERYTHING))) == {"notice:2", "member:4"}
    assert ids(backend.search(query("值守", LEADER))) == {"duty:3"}
    assert ids(backend.search(query("值守", NOBODY))) == set()
    assert "notice:1" in ids(backend.search(query("志愿", NOBODY)))  # public


def test_doc_type_facets_count_every_type(backend):
    results = backend.search(query("志愿", doc_types=("duty",)))
    assert ids(results) == {"duty:3"}
    assert results.total == 1
    assert results.facets == {"notice": 1, "duty": 1}


def test_filters(backend):
    assert ids(backend.search(query("志愿", status="open"))) == {"duty:3"}
    assert ids(backend.search(query("党员", grid_path="0001"))) == {"notice:2", "member:4"}
    assert ids(backend.search(query("党员", grid_path="0002"))) == set()
    late = datetime(2025, 5, 4, tzinfo=UTC)
    assert ids(backend.search(query("志愿", date_from=late))) == {"duty:3"}


def test_lookup_hash(backend):
    results = backend.search(query("13812345678", tokens=(), lookup_hash="phonehash-4"))
    assert ids(results) == {"member:4"}


def test_pagination(backend):
    first = backend.search(query("志愿", limit=1))
    second = backend.search(query("志愿", offset=1, limit=1))
    assert first.total == second.total == 2
    assert len(first.hits) == len(second.hits) == 1
    assert ids(first) != ids(second)


def test_index_update_and_delete(backend):
    backend.index([document("notice", 5, "垃圾分类宣传志愿活动", public=True)])
    assert "notice:5" in ids(backend.search(query("垃圾分类", NOBODY)))
    backend.delete("notice", ["5", "999"])  # a missing id is no error
    assert "notice:5" not in ids(backend.search(query("垃圾分类", NOBODY)))


def test_rebuild_swaps_and_drops_the_old_index(backend):
    (old_index,) = backend.client.indices.get_alias(name=backend.alias).body
    backend.rebuild_begin()
    backend.index(DOCUMENTS[:2])
    # Searches still see the old index while the new one fills.
    assert backend.count() == {"notice": 2, "duty": 1, "member": 1}
    # A write from elsewhere during the rebuild reaches both indices.
    other = ElasticsearchBackend(
        url=backend.url, index_prefix=backend.alias, replicas=0, refresh=True
    )
    other.index([document("notice", 6, "楼栋长会议", public=True)])
    backend.rebuild_commit()
    (new_index,) = backend.client.indices.get_alias(name=backend.alias).body
    assert new_index != old_index
    assert not backend.client.indices.exists(index=old_index)
    assert not backend.client.indices.exists_alias(name=backend.rebuild_alias)
    assert backend.count() == {"notice": 3}
    assert "notice:6" in ids(backend.search(query("会议")))
