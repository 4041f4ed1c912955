"""Notices, news and activities: unit listings, the member's feed with unread
counts and read receipts, the district notice board's approval workflow, search,
and query budgets that do not grow with the number of items."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.publishing import ActivityPage, NewsPage, NoticeBoardPage, NoticePage, NoticeRead
from portal.services import DISTRICT_WORKFLOW
from search.query import search
from tests.factories import add_page, publish

NOW = timezone.now()


def days_ago(n):
    return NOW - dt.timedelta(days=n)


def titles(response):
    return re.findall(r'class="pub-item__title"><a href="[^"]*">([^<]+)</a>', response.text)


def listing_url(unit):
    return unit.url + "notices/"


@pytest.fixture
def board(tree):
    return add_page(tree.district, NoticeBoardPage(title="区级通知公告", slug="notices"))


# --- Listings --------------------------------------------------------------------------------


def test_branch_listing_newest_first_with_pinned_on_top(client, tree):
    publish(tree.branch_a, NewsPage(title="支部开展义诊"), at=days_ago(3))
    publish(tree.branch_a, NoticePage(title="关于缴纳党费的通知", pinned=True), at=days_ago(9))
    publish(tree.branch_a, NoticePage(title="楼道清理通知"), at=days_ago(1))
    publish(tree.branch_b, NoticePage(title="光明路停水通知"), at=days_ago(1))
    response = client.get(listing_url(tree.branch_a))
    assert response.status_code == 200
    assert titles(response) == ["关于缴纳党费的通知", "楼道清理通知", "支部开展义诊"]


def test_grid_and_district_listings_cover_their_subtree(client, tree):
    publish(tree.branch_a, NoticePage(title="幸福里通知"))
    publish(tree.branch_b, NoticePage(title="光明路通知"))
    publish(tree.district, NoticePage(title="全区通知"))
    assert set(titles(client.get(listing_url(tree.grid3a)))) == {"幸福里通知"}
    assert set(titles(client.get(listing_url(tree.grid2)))) == {"幸福里通知", "光明路通知"}
    assert set(titles(client.get(listing_url(tree.district)))) == {
        "幸福里通知",
        "光明路通知",
        "全区通知",
    }


def test_listing_category_and_date_filters(client, tree):
    publish(tree.branch_a, NewsPage(title="旧动态"), at=days_ago(40))
    publish(tree.branch_a, NewsPage(title="新动态"), at=days_ago(2))
    publish(
        tree.branch_a,
        ActivityPage(title="植树活动", starts_at=NOW + dt.timedelta(days=3), place="南湖公园"),
        at=days_ago(2),
    )
    url = listing_url(tree.branch_a)
    assert titles(client.get(url, {"kind": "news"})) == ["新动态", "旧动态"]
    since = days_ago(10).date().isoformat()
    assert set(titles(client.get(url, {"from": since}))) == {"新动态", "植树活动"}
    until = days_ago(10).date().isoformat()
    assert titles(client.get(url, {"to": until})) == ["旧动态"]


@pytest.mark.parametrize(
    "params,message",
    [
        ({"kind": "<script>"}, "未知的类别"),
        ({"from": "2026-13-45"}, "日期格式"),
        ({"from": "2026-11-20", "to": "2026-11-01"}, "开始日期晚于结束日期"),
        ({"page": "abc"}, None),
    ],
)
def test_bad_listing_parameters_are_explained_not_errors(client, tree, params, message):
    publish(tree.branch_a, NoticePage(title="一条通知"))
    response = client.get(listing_url(tree.branch_a), params)
    assert response.status_code == 200
    assert titles(response) == ["一条通知"]
    if message:
        assert message in response.text
    assert "<script>" not in response.text.split("</header>", 1)[1]


def test_listing_paginates(client, tree):
    for i in range(25):
        publish(tree.branch_a, NewsPage(title=f"动态{i:02d}"), at=days_ago(i))
    first = titles(client.get(listing_url(tree.branch_a)))
    second = titles(client.get(listing_url(tree.branch_a), {"page": 2}))
    assert len(first) == 20 and len(second) == 5
    assert first[0] == "动态00" and second[-1] == "动态24"


def test_empty_listing_says_so(client, tree):
    response = client.get(listing_url(tree.branch_b))
    assert "还没有发布任何内容" in response.text


def test_unit_page_shows_latest_items_but_not_as_child_units(client, tree):
    publish(tree.branch_a, NoticePage(title="最新通知"))
    response = client.get(tree.branch_a.url)
    assert "最新通知" in response.text
    children = response.text.split('id="children-heading"', 1)[1]
    assert "最新通知" not in children and "幸福里3号楼党小组" in children


def test_draft_and_private_items_are_not_listed(client, tree):
    draft = NoticePage(title="草稿通知", live=False)
    tree.branch_a.add_child(instance=draft)
    assert titles(client.get(listing_url(tree.branch_a))) == []
    assert client.get(draft.url or "/nowhere/").status_code == 404


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_listing_and_feed_query_counts_do_not_grow(client, tree, users):
    publish(tree.branch_a, NoticePage(title="通知0"))
    client.force_login(users.member)
    client.get(
        "/me/"
    )  # a session's first request records it (portal.middleware.SessionIdleMiddleware)
    small = (_count(client, listing_url(tree.branch_a)), _count(client, "/me/notices/"))
    for i in range(1, 15):
        publish(tree.branch_a, NoticePage(title=f"通知{i}"))
        publish(tree.group_a, NewsPage(title=f"小组动态{i}"))
    big = (_count(client, listing_url(tree.branch_a)), _count(client, "/me/notices/"))
    assert big == small


# --- Member feed, unread counts, receipts -----------------------------------------------------


def test_feed_has_the_members_units_and_the_board_only(client, tree, users, board):
    publish(tree.district, NoticePage(title="全区通知"))
    publish(tree.grid2, NoticePage(title="二级网格通知"))
    publish(tree.branch_a, NoticePage(title="本支部通知"))
    publish(tree.group_a, NoticePage(title="本小组通知"))
    publish(board, NoticePage(title="区级公告"))
    publish(tree.branch_b, NoticePage(title="别的支部通知"))
    publish(tree.other_l1, NoticePage(title="别的网格通知"))
    publish(tree.branch_a, NewsPage(title="支部动态"))  # news is not in the notice feed
    client.force_login(users.member)
    response = client.get("/me/notices/")
    assert set(titles(response)) == {
        "全区通知",
        "二级网格通知",
        "本支部通知",
        "本小组通知",
        "区级公告",
    }
    assert "5 条未读通知" in response.text


def test_reading_a_notice_lowers_the_unread_count(client, tree, users):
    first = publish(tree.branch_a, NoticePage(title="通知一"))
    publish(tree.branch_a, NoticePage(title="通知二"))
    client.force_login(users.member)
    assert "2 条未读通知" in client.get("/me/").text
    assert client.get(first.url).status_code == 200
    assert client.get(first.url).status_code == 200  # twice: still one read
    assert NoticeRead.objects.filter(notice=first, user=users.member).count() == 1
    assert "1 条未读通知" in client.get("/me/").text


def test_read_receipt_confirmation(client, tree, users):
    notice = publish(tree.branch_a, NoticePage(title="请确认阅读", requires_receipt=True))
    client.force_login(users.member)
    page = client.get(notice.url)
    assert "我已阅读" in page.text
    response = client.post(notice.url, {"confirm": "1"}, follow=True)
    assert "回执已记录" in response.text
    read = NoticeRead.objects.get(notice=notice, user=users.member)
    assert read.confirmed_at is not None
    assert "我已阅读" not in client.get(notice.url).text


def test_anonymous_reading_records_nothing(client, tree):
    notice = publish(tree.branch_a, NoticePage(title="公开通知", requires_receipt=True))
    response = client.get(notice.url)
    assert response.status_code == 200 and "登录" in response.text
    assert client.post(notice.url, {"confirm": "1"}).status_code == 200
    assert not NoticeRead.objects.exists()


def test_feed_without_member_record(client, users):
    client.force_login(users.volunteer)
    response = client.get("/me/notices/")
    assert response.status_code == 200 and "还没有关联党员档案" in response.text


# --- Who may publish where --------------------------------------------------------------------


def test_secretary_publishes_in_own_branch_only(tree, users):
    own = tree.branch_a.permissions_for_user(users.secretary)
    other = tree.branch_b.permissions_for_user(users.secretary)
    assert own.can_add_subpage() and own.can_publish_subpage()
    assert not other.can_add_subpage() and not other.can_publish_subpage()
    assert not tree.district.permissions_for_user(users.secretary).can_add_subpage()


def test_board_proposals_need_district_approval(
    tree, users, board, django_capture_on_commit_callbacks
):
    from portal.services import notice_board_setup

    notice_board_setup(board=board)
    perms = board.permissions_for_user(users.secretary)
    assert perms.can_add_subpage() and not perms.can_publish_subpage()
    assert board.get_workflow().name == DISTRICT_WORKFLOW
    assert tree.branch_a.get_workflow() is None  # branch items publish directly

    notice = NoticePage(title="全区统一开展主题党日", owner=users.secretary, live=False)
    board.add_child(instance=notice)
    revision = notice.save_revision(user=users.secretary)
    assert not notice.permissions_for_user(users.secretary).can_publish()
    state = board.get_workflow().start(notice, users.secretary)
    assert state.status == "in_progress"
    task_state = state.current_task_state
    task = task_state.task.specific
    assert {a[0] for a in task.get_actions(notice, users.district)} >= {"approve", "reject"}
    assert task.get_actions(notice, users.secretary) == []
    assert task.get_actions(notice, users.coordinator) == []
    task_state.task.specific.on_action(task_state, users.district, "approve")
    notice.refresh_from_db()
    assert notice.live and notice.live_revision_id == revision.pk


def test_board_created_in_the_admin_gets_the_workflow(tree):
    board = add_page(tree.district, NoticeBoardPage(title="区级通知公告", slug="board"))
    assert board.get_workflow().name == DISTRICT_WORKFLOW


# --- Search -----------------------------------------------------------------------------------


def test_publications_are_searchable_and_leave_the_index_when_unpublished(
    tree, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notice = publish(
            tree.branch_a, NoticePage(title="关于垃圾分类的通知", summary="周六集中宣传")
        )
        publish(
            tree.branch_a,
            ActivityPage(title="志愿植树", starts_at=NOW, place="南湖公园"),
        )
    hits = search(user=None, text="垃圾分类").results
    assert [(h.doc_type, h.object_id) for h in hits.hits] == [("notice", str(notice.pk))]
    assert search(user=None, text="南湖公园").results.facets == {"activity": 1}
    with django_capture_on_commit_callbacks(execute=True):
        notice.unpublish()
    assert search(user=None, text="垃圾分类").results.total == 0


# --- Read-receipt report ----------------------------------------------------------------------


def _receipt_rows(body):
    rows = re.findall(
        r'<a href="\?branch=\d+">([^<]+)</a></td>\s*<td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>\s*<td><strong>(\d+)</strong></td><td>(\d+)</td>',
        body,
    )
    return {title: tuple(int(n) for n in nums) for title, *nums in rows}


def test_receipt_report_per_branch_and_scope(client, tree, users, members, board):
    from portal.publishing import notice_read_record

    notice = publish(board, NoticePage(title="请全体党员确认", requires_receipt=True))
    notice_read_record(notice=notice, user=users.member, confirm=True)
    url = f"/admin/receipts/{notice.pk}/"

    client.force_login(users.district)
    rows = _receipt_rows(client.get(url).content.decode())
    # branch A: 刘洋, 陈静, 杨磊 and the member account's 赵敏 (confirmed); branch B: 黄强
    assert rows == {"幸福里网格党支部": (4, 1, 1, 1, 3), "光明路网格党支部": (1, 0, 0, 0, 1)}

    client.force_login(users.secretary)
    body = client.get(url, {"branch": tree.branch_a.pk}).content.decode()
    assert _receipt_rows(body) == {"幸福里网格党支部": (4, 1, 1, 1, 3)}
    assert "黄强" not in body and "光明路网格党支部" not in body
    assert "赵敏" in body and "陈静" in body
    # another branch's members stay hidden even when asked for by id
    body = client.get(url, {"branch": tree.branch_b.pk}).content.decode()
    assert "黄强" not in body

    for user in (users.member, users.volunteer):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code in (302, 403) and "赵敏" not in response.content.decode()


def test_receipt_report_only_for_notices_that_ask(client, tree, users):
    notice = publish(tree.branch_a, NoticePage(title="普通通知"))
    client.force_login(users.district)
    assert client.get(f"/admin/receipts/{notice.pk}/").status_code == 404


def test_a_unit_listing_reads_nothing_it_does_not_show(client, tree):
    """notices/ shows the unit's publications, not the unit page's latest items,
    child units or member badges: none of those is read."""
    publish(tree.branch_a, NoticePage(title="通知0"))
    assert "幸福里3号楼党小组" in client.get(tree.branch_a.url).text  # the unit page shows them
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(listing_url(tree.branch_a))
    assert titles(response) == ["通知0"]
    read = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "branches_member" not in read
    assert "幸福里3号楼党小组" not in response.text
