"""The pages a signed-in member opens most cost a fixed number of queries, however
much there is to show: the budget of each (the session, the user, their member
record and roles, then what the page shows) and the proof that it does not grow
with the notices, shifts, messages and tasks behind it."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import InboxMessage
from portal.publishing import NoticePage
from tests.factories import make_duty, make_shift, publish

pytestmark = pytest.mark.django_db

BUDGET = {
    "/me/": 14,
    "/me/notices/": 11,
    "/me/service/": 8,
    "/me/inbox/": 7,
    "/me/tasks/": 7,
    "/volunteer/": 7,
}


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def add_things_to_show(tree, user, n):
    for i in range(n):
        publish(tree.branch_a, NoticePage(title=f"通知{i}", slug=f"n-{n}-{i}"))
        InboxMessage.objects.create(user=user, subject=f"消息{i}", body="正文")
        make_shift(
            make_duty(tree, title=f"岗位{i}", published=True), start_in=dt.timedelta(days=i + 1)
        )


def test_a_members_pages_keep_their_query_budget_as_their_data_grows(client, tree, users):
    client.force_login(users.member)
    client.get("/me/")  # the session's first request records its start
    add_things_to_show(tree, users.member, 2)
    small = {url: queries(client, url) for url in BUDGET}
    add_things_to_show(tree, users.member, 12)
    large = {url: queries(client, url) for url in BUDGET}

    assert large == small
    for url, budget in BUDGET.items():
        assert small[url] <= budget, (url, small[url])


def test_the_page_table_has_the_indexes_the_tree_pages_need():
    """A feed asks for the children of each unit above the member (``depth = d AND
    path LIKE 'p%'``), routing for the pages on a URL's path (``url_path IN``):
    portal migration 0010 indexes both (on PostgreSQL, the path for LIKE)."""
    with connection.cursor() as cursor:
        indexes = {
            index: info["columns"]
            for index, info in connection.introspection.get_constraints(
                cursor, "wagtailcore_page"
            ).items()
            if index.startswith("tongxin_")
        }
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'tongxin_page_depth_path'"
            )
            assert "(depth, path varchar_pattern_ops)" in cursor.fetchone()[0]
    assert indexes == {
        "tongxin_page_depth_path": ["depth", "path"],
        "tongxin_page_url_path": ["url_path"],
    }
