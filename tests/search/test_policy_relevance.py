"""Search on real long Chinese text (the second relevance set, policy_queries):
substring recall of every query of two or more Chinese characters, and recall@10.
Run with ``-s`` to see the table (bench/search_relevance_sets.py writes it to
bench/results/). The loaded notices live in a module-wide transaction that is
rolled back at the end, like test_relevance's demo."""

import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import connection, transaction

from tests.factories import build_tree
from tests.search import policy_queries as pq

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def evaluation(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        name = str(connection.settings_dict["NAME"])
        assert "memory" in name or "test" in name, name
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            tree = build_tree()
            pages = pq.load(tree.branch_a)
            # Index tasks run on commit, and this transaction never commits.
            call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())
            rows = pq.evaluate(AnonymousUser(), pages)
            yield {"rows": rows, "by_text": {r.query.text: r for r in rows}}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_query_set_shape():
    assert len(pq.paragraphs()) >= 25
    assert len(pq.QUERIES) >= 40
    texts = [q.text for q in pq.QUERIES]
    assert len(set(texts)) == len(texts)
    paras = pq.paragraphs()
    # Every query has something to find.
    assert all(pq.relevant(q, paras) for q in pq.QUERIES)


@pytest.mark.parametrize("text", pq.SUBSTRING)
def test_every_notice_that_contains_the_query_is_found(evaluation, text):
    row = evaluation["by_text"][text]
    assert row.contained == 1.0, f"{text}: missed {row.missed}"


@pytest.mark.parametrize("query", pq.JUDGED, ids=[q.text for q in pq.JUDGED])
def test_judged_queries_find_their_paragraphs_in_the_top_ten(evaluation, query):
    row = evaluation["by_text"][query.text]
    assert row.recall == 1.0, f"{query.text}: missed {row.missed}"


def test_overall_recall_at_10(evaluation):
    rows = evaluation["rows"]
    print()
    print(pq.format_table(rows))
    overall = pq.summary(rows)["overall"]
    assert overall["recall"] >= 0.95
    assert overall["contained"] == 1.0
