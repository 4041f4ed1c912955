"""The Elasticsearch backend without a cluster: mappings, analyzer choice, query
bodies, the alias swap and the response mapping are all pure."""

from datetime import UTC, datetime

import pytest

from search.backends.elastic import ElasticsearchBackend
from search.backends.elastic_mapping import (
    alias_swap_actions,
    choose_analyzer,
    concrete_index_name,
    delete_actions,
    document_class,
    index_actions,
    index_definition,
    is_concrete_index_of,
    plugins_on_every_node,
)
from search.backends.elastic_query import results_from_response
from search.base import DOCUMENT_FIELDS, SearchQuery, Visibility
from search.text import query_grams

DISTRICT = Visibility(everything=True, may_lookup_private=True)
SECRETARY = Visibility(paths=("0001000100020003",), user_id=7)
LEADER = Visibility(group_ids=(41, 42), user_id=8)
MEMBER = Visibility(user_id=9)
ANONYMOUS = Visibility()


@pytest.fixture
def backend():
    # No url, no client: nothing here may touch the network.
    return ElasticsearchBackend(url="", index_prefix="tongxin", analyzer="ik")


def query(text="志愿", tokens=("志愿",), visibility=DISTRICT, **kwargs):
    # As search.query.search builds it: the substring form comes from the text.
    kwargs.setdefault("grams", query_grams(text))
    return SearchQuery(text=text, tokens=tokens, visibility=visibility, **kwargs)


def text_part(search_body):
    """The text query inside the unit-name boost."""
    (must,) = search_body["query"]["bool"]["must"]
    return must["function_score"]["query"]


def body(backend, **kwargs):
    return backend.build_search(query(**kwargs)).to_dict()


def filters(search_body):
    return search_body["query"]["bool"].get("filter", [])


def permission(search_body):
    found = [f for f in filters(search_body) if "should" in f.get("bool", {})]
    assert len(found) <= 1
    return found[0]["bool"] if found else None


# --- mapping ---------------------------------------------------------------------


def properties(analyzer):
    return document_class(analyzer)._doc_type.mapping.to_dict()["properties"]


def analysis(analyzer):
    return index_definition("tongxin-1", analyzer).to_dict()["settings"]["analysis"]


def test_mapping_covers_every_document_field():
    mapping = document_class("cjk")._doc_type.mapping.to_dict()
    assert set(mapping["properties"]) == set(DOCUMENT_FIELDS)
    assert mapping["dynamic"] == "strict"
    assert mapping["_source"] == {"excludes": ["hashes"]}


def test_mapping_field_types():
    props = properties("cjk")
    for name in ("doc_type", "object_id", "status", "grid_path", "unit_path", "hashes"):
        assert props[name] == {"type": "keyword"}, name
    assert props["url"] == {"type": "keyword", "index": False}
    assert props["date"] == {"type": "date"}
    assert props["public"] == {"type": "boolean"}
    assert props["group_id"] == {"type": "long"}
    assert props["owner_id"] == {"type": "long"}
    assert props["title"]["fields"]["raw"]["type"] == "keyword"
    for name in ("title", "body", "keywords"):
        assert props[name]["type"] == "text"
        assert props[name]["analyzer"] == "tongxin_index"
        assert props[name]["search_analyzer"] == "tongxin_search"


def test_ik_indexes_with_max_word_and_searches_with_smart():
    analyzers = analysis("ik")["analyzer"]
    assert analyzers["tongxin_index"]["tokenizer"] == "ik_max_word"
    assert analyzers["tongxin_search"]["tokenizer"] == "ik_smart"


def test_smartcn_analyzer():
    analyzers = analysis("smartcn")["analyzer"]
    assert analyzers["tongxin_index"]["tokenizer"] == "smartcn_tokenizer"
    assert analyzers["tongxin_search"]["tokenizer"] == "smartcn_tokenizer"
    assert "smartcn_stop" in analyzers["tongxin_index"]["filter"]


@pytest.mark.parametrize("analyzer", ["ik", "smartcn", "cjk"])
def test_every_text_field_has_a_bigram_subfield(analyzer):
    """Whatever the main analyzer, title, summary, body and keywords are also
    indexed as character bigrams (the built-in cjk_bigram filter)."""
    props = properties(analyzer)
    for name in ("title", "summary", "body", "keywords"):
        assert props[name]["fields"]["bigram"] == {"type": "text", "analyzer": "tongxin_bigram"}
    bigram = analysis(analyzer)["analyzer"]["tongxin_bigram"]
    assert bigram["tokenizer"] == "standard"
    assert bigram["filter"] == ["cjk_width", "lowercase", "cjk_bigram"]
    assert bigram["char_filter"] == ["tongxin_synonyms"]


def test_cjk_analyzer_uses_builtin_bigrams():
    analyzers = analysis("cjk")["analyzer"]
    for name in ("tongxin_index", "tongxin_search"):
        assert analyzers[name]["tokenizer"] == "standard"
        assert analyzers[name]["filter"] == ["cjk_width", "lowercase", "cjk_bigram"]


@pytest.mark.parametrize("analyzer", ["ik", "smartcn", "cjk"])
def test_address_synonyms_like_the_database_backend(analyzer):
    settings = analysis(analyzer)
    mappings = settings["char_filter"]["tongxin_synonyms"]["mappings"]
    assert "号楼 => 栋" in mappings and "幢 => 栋" in mappings
    for name in ("tongxin_index", "tongxin_search"):
        assert settings["analyzer"][name]["char_filter"] == ["tongxin_synonyms"]


def test_unknown_analyzer_is_refused():
    with pytest.raises(ValueError):
        document_class("standard")
    with pytest.raises(ValueError):
        ElasticsearchBackend(url="", analyzer="jieba")


def test_index_settings_and_aliases():
    definition = index_definition(
        "tongxin-20250101000000000000",
        "cjk",
        shards=3,
        replicas=0,
        refresh_interval="-1",
        aliases=["tongxin-rebuilding"],
    ).to_dict()
    assert definition["settings"]["number_of_shards"] == 3
    assert definition["settings"]["number_of_replicas"] == 0
    assert definition["settings"]["refresh_interval"] == "-1"
    assert definition["aliases"] == {"tongxin-rebuilding": {}}
    assert "properties" in definition["mappings"]


def test_one_shard_by_default():
    definition = index_definition("tongxin-1", "cjk").to_dict()
    assert definition["settings"] == {
        "number_of_shards": 1,
        "analysis": definition["settings"]["analysis"],
    }


# --- analyzer choice ---------------------------------------------------------------


def test_choose_analyzer_prefers_ik_then_smartcn_then_cjk():
    assert choose_analyzer(["analysis-smartcn", "analysis-ik"]) == "ik"
    assert choose_analyzer(["analysis-smartcn", "repository-s3"]) == "smartcn"
    assert choose_analyzer(["repository-s3"]) == "cjk"
    assert choose_analyzer([]) == "cjk"


def test_plugin_must_be_on_every_node():
    nodes = {
        "nodes": {
            "a": {"plugins": [{"name": "analysis-ik"}, {"name": "analysis-smartcn"}]},
            "b": {
                "plugins": [{"name": "analysis-smartcn"}],
                "modules": [{"name": "lang-painless"}],
            },
        }
    }
    assert plugins_on_every_node(nodes) == {"analysis-smartcn"}
    assert choose_analyzer(plugins_on_every_node(nodes)) == "smartcn"
    assert plugins_on_every_node({"nodes": {}}) == set()


def test_auto_analyzer_asks_the_cluster_lazily():
    class Nodes:
        calls = 0

        def info(self, metric):
            Nodes.calls += 1
            assert metric == "plugins"

            class Response:
                body = {"nodes": {"n": {"plugins": [{"name": "analysis-ik"}]}}}

            return Response()

    class Client:
        nodes = Nodes()

    backend = ElasticsearchBackend(url="", analyzer="auto", client=Client())
    assert Nodes.calls == 0  # nothing asked at construction
    assert backend.analyzer == "ik"
    assert backend.analyzer == "ik"
    assert Nodes.calls == 1


def test_constructor_does_not_connect(settings):
    settings.ELASTICSEARCH_URL = "http://elasticsearch.invalid:9200"
    settings.TONGXIN_SEARCH_INDEX = "Portal"
    backend = ElasticsearchBackend()
    assert backend._client is None
    assert backend.alias == "portal"
    assert backend.url == "http://elasticsearch.invalid:9200"


# --- query bodies -------------------------------------------------------------------


def test_plain_text_query(backend):
    search_body = body(backend, text="志愿", tokens=("志愿",))
    (must,) = search_body["query"]["bool"]["must"]
    words, bigrams = must["function_score"]["query"]["dis_max"]["queries"]
    assert words == {
        "multi_match": {
            "query": "志愿",
            "fields": ["title^4", "keywords^4", "summary^2", "body"],
            "operator": "and",
        }
    }
    # The substring form: the text as a phrase of bigrams in the bigram subfields.
    assert bigrams == {
        "multi_match": {
            "query": "志愿",
            "fields": ["title.bigram^4", "keywords.bigram^4", "summary.bigram^2", "body.bigram^1"],
            "type": "phrase",
        }
    }
    assert filters(search_body) == []  # district: no permission filter
    assert search_body["track_total_hits"] is True
    assert search_body["sort"][0] == {"_score": {"order": "desc"}}
    assert list(search_body["sort"][1]) == ["date"]
    assert search_body["sort"][1]["date"]["order"] == "desc"
    assert search_body["_source"] == [
        "doc_type",
        "object_id",
        "title",
        "summary",
        "body",
        "url",
        "date",
    ]


def test_unit_boost_only_where_the_query_names_the_unit(backend):
    (must,) = body(backend, text="幸福里", tokens=("幸福里",))["query"]["bool"]["must"]
    score = must["function_score"]
    assert score["boost_mode"] == "multiply"
    (function,) = score["functions"]
    assert function["weight"] == 1.5
    unit, named = function["filter"]["bool"]["filter"]
    assert unit == {"term": {"doc_type": "unit"}}
    fields = [q["multi_match"]["fields"] for q in named["dis_max"]["queries"]]
    # The unit's name (title, keywords), never its intro (body).
    assert fields == [["title", "keywords"], ["title.bigram", "keywords.bigram"]]


def test_text_and_its_words_both_count(backend):
    queries = text_part(body(backend, text="社区志愿", tokens=("社区", "志愿")))["dis_max"][
        "queries"
    ]
    assert [q["multi_match"]["query"] for q in queries] == ["社区志愿", "社区 志愿", "社区志愿"]
    assert [q["multi_match"].get("operator") for q in queries] == ["and", "and", None]
    assert queries[2]["multi_match"]["type"] == "phrase"


def test_two_characters_inside_a_word_match_as_a_bigram_phrase(backend):
    """党日 in 主题党日: IK keeps 主题党日 whole; the bigram subfields do not."""
    queries = text_part(body(backend, text="党日", tokens=("党日",)))["dis_max"]["queries"]
    phrase = [q for q in queries if q["multi_match"].get("type") == "phrase"]
    assert phrase and phrase[0]["multi_match"]["query"] == "党日"
    assert all(f.split("^")[0].endswith(".bigram") for f in phrase[0]["multi_match"]["fields"])


def test_no_bigram_phrase_without_two_chinese_characters(backend):
    part = text_part(body(backend, text="邓", tokens=("邓",)))
    assert part == {
        "multi_match": {
            "query": "邓",
            "fields": ["title^4", "keywords^4", "summary^2", "body"],
            "operator": "and",
        }
    }


def test_lookup_hash_is_an_exact_term(backend):
    search_body = body(backend, text="110101199001011234", tokens=(), lookup_hash="abc123")
    assert search_body["query"]["bool"]["must"] == [{"term": {"hashes": "abc123"}}]


def test_district_sees_everything(backend):
    assert permission(body(backend, visibility=DISTRICT)) is None


def test_secretary_sees_under_their_paths(backend):
    perm = permission(body(backend, visibility=SECRETARY))
    assert perm["minimum_should_match"] == 1
    assert {"term": {"public": True}} in perm["should"]
    assert {"prefix": {"unit_path": "0001000100020003"}} in perm["should"]
    assert {"term": {"owner_id": 7}} in perm["should"]
    assert not any("terms" in s for s in perm["should"])


def test_several_paths_each_grant(backend):
    visibility = Visibility(paths=("00010001", "00010002"))
    perm = permission(body(backend, visibility=visibility))
    prefixes = [s["prefix"]["unit_path"] for s in perm["should"] if "prefix" in s]
    assert prefixes == ["00010001", "00010002"]


def test_empty_path_grants_nothing(backend):
    perm = permission(body(backend, visibility=Visibility(paths=("",))))
    assert perm["should"] == [{"term": {"public": True}}]


def test_group_leader_sees_their_groups(backend):
    perm = permission(body(backend, visibility=LEADER))
    assert {"terms": {"group_id": [41, 42]}} in perm["should"]
    assert {"term": {"owner_id": 8}} in perm["should"]
    assert not any("prefix" in s for s in perm["should"])


def test_member_sees_public_and_own(backend):
    perm = permission(body(backend, visibility=MEMBER))
    assert perm["should"] == [{"term": {"public": True}}, {"term": {"owner_id": 9}}]


def test_anonymous_sees_public_only(backend):
    perm = permission(body(backend, visibility=ANONYMOUS))
    assert perm["should"] == [{"term": {"public": True}}]


def test_doc_type_is_a_post_filter_and_facets_count_all_types(backend):
    search_body = body(backend, doc_types=("notice", "member"))
    assert search_body["post_filter"] == {"terms": {"doc_type": ["notice", "member"]}}
    assert not any("terms" in f for f in filters(search_body))
    assert search_body["aggs"]["doc_types"]["terms"]["field"] == "doc_type"
    assert "post_filter" not in body(backend)
    assert "doc_types" in body(backend)["aggs"]


def test_grid_prefix(backend):
    assert {"prefix": {"grid_path": "00010002"}} in filters(body(backend, grid_path="00010002"))


def test_date_range(backend):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = datetime(2025, 3, 31, 23, 59, tzinfo=UTC)
    assert {"range": {"date": {"gte": start.isoformat(), "lte": end.isoformat()}}} in filters(
        body(backend, date_from=start, date_to=end)
    )
    assert {"range": {"date": {"gte": start.isoformat()}}} in filters(
        body(backend, date_from=start)
    )
    assert {"range": {"date": {"lte": end.isoformat()}}} in filters(body(backend, date_to=end))


def test_status(backend):
    assert {"term": {"status": "open"}} in filters(body(backend, status="open"))


def test_filters_combine_with_permission(backend):
    search_body = body(backend, visibility=MEMBER, status="open", grid_path="0001")
    assert len(filters(search_body)) == 3


def test_pagination(backend):
    search_body = body(backend, offset=40, limit=20)
    assert (search_body["from"], search_body["size"]) == (40, 20)
    assert body(backend, limit=10_000)["size"] == 100  # bounded
    assert body(backend, offset=-5)["from"] == 0
    deep = body(backend, offset=50_000, limit=20)
    assert deep["from"] + deep["size"] <= 10_000


def test_highlight(backend):
    highlight = body(backend)["highlight"]
    assert highlight["pre_tags"] == ["<mark>"]
    assert highlight["post_tags"] == ["</mark>"]
    assert highlight["encoder"] == "html"  # fragments come back HTML-escaped
    assert highlight["fragment_size"] == 80
    assert highlight["number_of_fragments"] == 1
    # Each text field and its bigram subfield (a match found only through bigrams).
    assert set(highlight["fields"]) == {
        f"{name}{sub}"
        for name in ("title", "summary", "body", "keywords")
        for sub in ("", ".bigram")
    }
    assert highlight["fields"]["title"]["number_of_fragments"] == 0  # the whole title
    assert highlight["fields"]["title.bigram"]["number_of_fragments"] == 0


def test_search_reads_the_live_alias(backend):
    assert backend.build_search(query())._index == ["tongxin"]


@pytest.mark.parametrize("text", ["", "  ", "!!! ** OR"])
def test_query_without_words_returns_nothing_without_asking(backend, text):
    # No client and no url: asking the cluster would raise.
    results = backend.search(query(text=text, tokens=()))
    assert (results.hits, results.total, results.facets) == ([], 0, {})


def test_long_text_is_cut(backend):
    queries = text_part(body(backend, text="志" * 5000, tokens=("志愿",)))["dis_max"]["queries"]
    assert len(queries[0]["multi_match"]["query"]) == 200
    assert len(queries[-1]["multi_match"]["query"]) == 200  # the bigram phrase too


# --- index names and alias swap -----------------------------------------------------


def test_concrete_index_names():
    name = concrete_index_name("tongxin", datetime(2025, 6, 1, 8, 30, 5, 123456, tzinfo=UTC))
    assert name == "tongxin-20250601083005123456"
    assert is_concrete_index_of("tongxin", name)
    assert not is_concrete_index_of("tongxin", "tongxin-test-20250601083005123456")
    assert not is_concrete_index_of("tongxin", "tongxin-rebuilding")
    assert not is_concrete_index_of("tongxin", "tongxin")
    assert is_concrete_index_of("tongxin-test", "tongxin-test-20250601083005123456")


def test_alias_swap_actions():
    actions = alias_swap_actions("tongxin", "tongxin-2", ["tongxin-1"])
    assert actions == [
        {"remove": {"index": "tongxin-1", "alias": "tongxin"}},
        {"add": {"index": "tongxin-2", "alias": "tongxin"}},
    ]


def test_first_alias_swap_only_adds():
    assert alias_swap_actions("tongxin", "tongxin-2", []) == [
        {"add": {"index": "tongxin-2", "alias": "tongxin"}}
    ]


def test_alias_swap_drops_rebuild_alias_and_squatting_index():
    actions = alias_swap_actions(
        "tongxin",
        "tongxin-2",
        ["tongxin-1", "tongxin-2"],
        rebuild_alias="tongxin-rebuilding",
        remove_index="tongxin",
    )
    assert actions == [
        {"remove": {"index": "tongxin-1", "alias": "tongxin"}},
        {"remove_index": {"index": "tongxin"}},
        {"remove": {"index": "tongxin-2", "alias": "tongxin-rebuilding"}},
        {"add": {"index": "tongxin-2", "alias": "tongxin"}},
    ]


def test_rebuild_commit_needs_begin(backend):
    with pytest.raises(RuntimeError):
        backend.rebuild_commit()


# --- bulk actions ------------------------------------------------------------------------


def document(**overrides):
    doc = {
        "doc_type": "notice",
        "object_id": 12,
        "title": "通知",
        "body": "正文",
        "keywords": "",
        "url": "/n/12/",
        "date": datetime(2025, 5, 4, 9, 0, tzinfo=UTC),
        "status": "",
        "grid_path": "0001",
        "public": True,
        "unit_path": "",
        "group_id": None,
        "owner_id": None,
        "hashes": ("h1",),
    }
    doc.update(overrides)
    return doc


def test_index_actions():
    actions = index_actions([document()], ["tongxin", "tongxin-rebuilding"])
    assert [a["_index"] for a in actions] == ["tongxin", "tongxin-rebuilding"]
    action = actions[0]
    assert action["_op_type"] == "index"
    assert action["_id"] == "notice:12"
    source = action["_source"]
    assert tuple(source) == DOCUMENT_FIELDS
    assert source["object_id"] == "12"
    assert source["hashes"] == ["h1"]
    assert source["date"] == "2025-05-04T09:00:00+00:00"


def test_delete_actions():
    assert delete_actions("member", ["3"], ["tongxin-9"]) == [
        {"_op_type": "delete", "_index": "tongxin-9", "_id": "member:3"}
    ]


# --- response mapping --------------------------------------------------------------------

RESPONSE = {
    "took": 3,
    "timed_out": False,
    "hits": {
        "total": {"value": 57, "relation": "eq"},
        "max_score": 4.2,
        "hits": [
            {
                "_index": "tongxin-20250601083005123456",
                "_id": "notice:12",
                "_score": 4.2,
                "_source": {
                    "doc_type": "notice",
                    "object_id": "12",
                    "title": "社区环境整治志愿服务",
                    "body": "周六上午在3栋门前集合",
                    "url": "/notices/12/",
                    "date": "2025-05-04T09:00:00+08:00",
                },
                "highlight": {
                    "title": ["社区环境整治<mark>志愿</mark>服务"],
                    "body": ["周六上午在3栋门前集合"],
                },
                "sort": [4.2, 1746320400000],
            },
            {
                "_index": "tongxin-20250601083005123456",
                "_id": "member:3",
                "_score": 1.5,
                "_source": {
                    "doc_type": "member",
                    "object_id": "3",
                    "title": "<b>张</b>三",
                    "body": "志" * 100,
                    "url": "",
                    "date": None,
                },
                "sort": [1.5, None],
            },
        ],
    },
    "aggregations": {
        "doc_types": {
            "doc_count_error_upper_bound": 0,
            "sum_other_doc_count": 0,
            "buckets": [{"key": "notice", "doc_count": 50}, {"key": "member", "doc_count": 7}],
        }
    },
}


def test_results_from_response():
    results = results_from_response(RESPONSE)
    assert results.total == 57
    assert results.facets == {"notice": 50, "member": 7}
    first, second = results.hits
    assert (first.doc_type, first.object_id, first.url) == ("notice", "12", "/notices/12/")
    assert first.title == "社区环境整治<mark>志愿</mark>服务"
    assert first.snippet == "周六上午在3栋门前集合"
    assert first.date == datetime.fromisoformat("2025-05-04T09:00:00+08:00")
    assert first.score == 4.2
    # No highlight: the title is escaped, the snippet is the escaped start of the body.
    assert second.title == "&lt;b&gt;张&lt;/b&gt;三"
    assert second.snippet == "志" * 80 + "…"
    assert second.date is None


def test_keywords_are_the_snippet_when_the_body_is_empty():
    # As in the database backend: body, else keywords.
    response = {
        "hits": {
            "total": {"value": 1},
            "hits": [
                {
                    "_score": 1.0,
                    "_source": {
                        "doc_type": "member",
                        "object_id": "1",
                        "title": "赵敏",
                        "body": "",
                    },
                    "highlight": {
                        "title": ["<mark>赵敏</mark>"],
                        "keywords": ["党员 <mark>zhaomin</mark>"],
                    },
                }
            ],
        }
    }
    (hit,) = results_from_response(response).hits
    assert hit.title == "<mark>赵敏</mark>"
    assert hit.snippet == "党员 <mark>zhaomin</mark>"
    assert hit.url == ""


def test_empty_response():
    results = results_from_response({"hits": {"total": {"value": 0}, "hits": []}})
    assert (results.hits, results.total, results.facets) == ([], 0, {})


def test_a_match_found_only_through_bigrams_is_highlighted():
    response = {
        "hits": {
            "total": {"value": 1},
            "hits": [
                {
                    "_score": 2.0,
                    "_source": {
                        "doc_type": "notice",
                        "object_id": "5",
                        "title": "本月主题党日安排",
                        "summary": "各党小组按三会一课要求开展活动。",
                        "body": "",
                    },
                    "highlight": {"title.bigram": ["本月主题<mark>党日</mark>安排"]},
                }
            ],
        }
    }
    (hit,) = results_from_response(response, ("党日",)).hits
    assert hit.title == "本月主题<mark>党日</mark>安排"
    # No fragment for the summary: marked here with the query's words, as on the database.
    (hit,) = results_from_response(response, ("三会一课",)).hits
    assert "<mark>三会一课</mark>" in hit.snippet


def test_past_shifts_left_out_for_non_staff(backend):
    today = datetime(2026, 12, 5, tzinfo=UTC)
    search_body = body(backend, visibility=MEMBER, history_types=("shift",), history_before=today)
    assert {
        "bool": {
            "must_not": [
                {
                    "bool": {
                        "filter": [
                            {"terms": {"doc_type": ["shift"]}},
                            {"range": {"date": {"lt": today.isoformat()}}},
                        ]
                    }
                }
            ]
        }
    } in filters(search_body)
