"""Recall@10 of the portal search on the small demo data, with Wagtail's stock
database backend as a comparison on the unit pages subset.

The demo is loaded and indexed once for the module, inside a transaction that is
rolled back at the end (so other test modules see an empty database), and every
query is evaluated once; the tests then only look at the figures. Run with ``-s``
to see the side-by-side table (or ``bench/search.py --relevance``)."""

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import translation

from tests.search import relevance_queries as rq

# The mark makes pytest-django set the test database up for this module (it only
# does so when some collected test asks for the database).
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def evaluation(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), translation.override("zh-hans"):
        # Never load the demo into a real database.
        name = str(connection.settings_dict["NAME"])
        assert "memory" in name or "test" in name, name
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("load_demo", verbosity=0, stdout=io.StringIO())
            call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())
            empty = [(q.text, t) for q in rq.QUERIES for t in q.targets if not rq.resolve(t)]
            rows = rq.evaluate()
            yield {"rows": rows, "by_text": {r.query.text: r for r in rows}, "empty": empty}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_query_set_shape():
    texts = [q.text for q in rq.QUERIES]
    assert len(texts) >= 40
    assert len(set(texts)) == len(texts)
    classes = {q.cls for q in rq.QUERIES}
    assert {
        "word",
        "name",
        "address",
        "estate",
        "number",
        "post",
        "care",
        "unit",
        "english",
    } <= classes


def test_every_target_exists_in_the_demo(evaluation):
    # A target that resolves to nothing would make its query trivially easy or
    # impossible: the demo data changed and the query set must follow.
    assert evaluation["empty"] == []


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(q, marks=pytest.mark.xfail(reason=q.gap, strict=True)) if q.gap else q
        for q in rq.QUERIES
    ],
    ids=[f"{q.cls}-{q.text}" for q in rq.QUERIES],
)
def test_recall_at_10(evaluation, query):
    row = evaluation["by_text"][query.text]
    assert row.ours == 1.0, f"{query.text}: recall@10 {row.ours:.2f}, top 10 {row.top}"


def test_overall_recall_and_comparison(evaluation):
    rows = evaluation["rows"]
    print()
    print(rq.format_table(rows))
    clean = rq.summary([r for r in rows if not r.query.gap])["overall"]
    everything = rq.summary(rows)["overall"]
    print(
        f"\noverall recall@10 without the {sum(1 for r in rows if r.query.gap)} known gaps: "
        f"{clean['ours']:.3f}; with them: {everything['ours']:.3f}"
    )
    assert clean["ours"] >= 0.95
    # On the pages both can index, ours is at least as good as Wagtail's stock backend.
    assert everything["ours_units"] >= everything["stock_units"]


def test_overall_recall_including_known_gaps(evaluation):
    assert rq.summary(evaluation["rows"])["overall"]["ours"] >= 0.95
