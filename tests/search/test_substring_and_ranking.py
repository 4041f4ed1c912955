"""Substring recall of the embedded search (two characters inside a dictionary word),
highlighting of bigram matches, field weights against the unit-page boost, and the
migration that gives an existing index its bigrams."""

import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.models import GridPage
from portal.publishing import NoticePage
from search.query import search
from search.text import DICTIONARY, bigrams
from tests.factories import add_page, publish
from tests.search import policy_queries

pytestmark = pytest.mark.django_db


def rebuild():
    # Index tasks run on commit, and a test's transaction never commits.
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())


# --- every two-character part of a dictionary word -------------------------------


def _dictionary_words():
    lines = DICTIONARY.read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip()]


def test_two_characters_inside_every_dictionary_word(tree):
    """党日 in 主题党日, 三会 in 三会一课: jieba's search mode keeps these words
    whole, and their parts were not found."""
    words = [w for w in _dictionary_words() if len(w) >= 3]
    for word in words:
        publish(tree.branch_a, NoticePage(title=f"关于{word}的通知", summary=f"本月{word}安排。"))
    rebuild()
    anonymous = AnonymousUser()
    missing = []
    for word in words:
        for part in dict.fromkeys(bigrams(word)):
            titles = [
                h.title.replace("<mark>", "").replace("</mark>", "")
                for h in search(user=anonymous, text=part, per_page=50).results.hits
            ]
            if f"关于{word}的通知" not in titles:
                missing.append((part, word))
    assert missing == []


def test_bigram_matches_are_highlighted(tree):
    publish(
        tree.branch_a,
        NoticePage(title="本月主题党日安排", summary="各党小组按三会一课要求开展活动。"),
    )
    rebuild()
    (hit,) = search(user=AnonymousUser(), text="党日").results.hits
    assert "<mark>党日</mark>" in hit.title
    (hit,) = search(user=AnonymousUser(), text="会一课").results.hits
    assert "三<mark>会一课</mark>要求" in hit.snippet


def test_a_query_of_two_runs_needs_both_as_written(tree):
    publish(tree.branch_a, NoticePage(title="主题党日", summary="三会一课"))
    publish(tree.branch_a, NoticePage(title="主题活动", summary="党日"))
    rebuild()
    titles = {h.title for h in search(user=AnonymousUser(), text="题党 会一").results.hits}
    assert titles == {"主<mark>题党</mark>日"} or titles == {"主题党日"}


# --- ranking: field weights, the unit boost only for a unit's name ------------------------------


def test_a_notice_about_a_word_outranks_grid_pages_that_mention_it_once(tree):
    """A long notice that uses 垃圾分类 five times (its summary and four times in
    its body) comes before 16 grid pages whose boilerplate intro says it once."""
    for n in range(16):
        add_page(
            tree.grid3a,
            GridPage(
                title=f"幸福里第{n + 1}微网格",
                slug=f"micro-{n}",
                level="micro",
                intro="<p>本网格负责环境卫生、垃圾分类、安全巡查和邻里纠纷调解。</p>",
            ),
        )
    # Other notices, so that the word is rare in the index as it is in a real one
    # (in a tiny index that it fills, bm25's IDF is nil and nothing ranks).
    policy_queries.load(tree.branch_b)
    # Real text of the field around the word, as a real notice is long.
    filler = [p.text for p in policy_queries.paragraphs()[:12]]
    paragraphs = [f"<p>{text}垃圾分类{'。' if i % 3 else ''}</p>" for i, text in enumerate(filler)]
    notice = publish(
        tree.branch_a,
        NoticePage(
            title="关于开展本月集中行动的通知",
            summary="本月起各小区推行垃圾分类定时定点投放。",
            body=[("text", "".join(paragraphs[:4]) + "".join(f"<p>{t}</p>" for t in filler[4:]))],
        ),
    )
    rebuild()
    hits = search(user=AnonymousUser(), text="垃圾分类", per_page=20).results.hits
    assert len(hits) == 17
    assert (hits[0].doc_type, hits[0].object_id) == ("notice", str(notice.pk))


def test_a_unit_named_by_the_query_still_comes_first(tree):
    """The boost stays where the query names a unit: 幸福里 finds its grid pages
    before a notice that mentions it in passing."""
    publish(
        tree.branch_a,
        NoticePage(
            title="关于开展本月集中行动的通知", summary="光明路、幸福里、和平路三条街道同步开展。"
        ),
    )
    rebuild()
    hits = search(user=AnonymousUser(), text="幸福里三级网格").results.hits
    assert hits[0].doc_type == "unit" and hits[0].object_id == str(tree.grid3a.pk)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite full-text path")
def test_ranking_is_one_statement_and_pages_follow_it(tree, users):
    """bm25 gathers its term statistics over the whole index once per statement: the
    unit and summary boosts are part of the one ranking statement, not statements
    of their own (each cost as much as the ranking itself at seed scale). Pages of
    10 give, in order, what one page of 20 gives. (Staff searches take this path:
    the index alone answers them.)"""
    policy_queries.load(tree.branch_b)
    for n in range(8):  # the word in the title, in the summary, in the body
        publish(tree.branch_a, NoticePage(title=f"党员冬训第{n + 1}批", slug=f"t{n}"))
        publish(
            tree.branch_a, NoticePage(title=f"冬训第{n + 1}批", summary="党员参加", slug=f"s{n}")
        )
        body = [("text", f"<p>第{n + 1}批：党员冬训。</p>")]
        publish(tree.branch_a, NoticePage(title=f"第{n + 1}批安排", body=body, slug=f"b{n}"))
    rebuild()
    user = users.district
    with CaptureQueriesContext(connection) as queries:
        first = search(user=user, text="党员", per_page=10).results
    assert sum("bm25(" in q["sql"] for q in queries.captured_queries) == 1
    second = search(user=user, text="党员", per_page=10, page=2).results
    both = search(user=user, text="党员", per_page=20).results
    assert first.total == 25 and len(first.hits) == len(second.hits) == 10  # and a member
    key = [(h.doc_type, h.object_id) for h in both.hits]
    assert [(h.doc_type, h.object_id) for h in first.hits + second.hits] == key


# --- an existing index gains bigrams on migrate ---------------------------------------------------


def test_migration_gives_existing_entries_their_bigrams(tree):
    import importlib

    from search.models import SearchEntry

    migration = importlib.import_module("search.migrations.0004_bigrams_and_summary")
    publish(tree.branch_a, NoticePage(title="本月主题党日安排"))
    rebuild()
    entry = SearchEntry.objects.get(doc_type="notice", title="本月主题党日安排")
    # As an index built before bigrams was: words only.
    SearchEntry.objects.filter(pk=entry.pk).update(
        title_tokens="本月 主题 党日 主题党日 安排", summary_tokens="", body_tokens=""
    )
    assert not search(user=AnonymousUser(), text="题党").results.hits
    migration._retokenise(SearchEntry)
    assert [h.object_id for h in search(user=AnonymousUser(), text="题党").results.hits] == [
        entry.object_id
    ]
