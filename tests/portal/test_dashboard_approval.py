"""Approving a district notice from the admin dashboard (Wagtail's workflow
action, as its dashboard panel sends it) says so afterwards; sending it back
says that; nobody else can act through the same address."""

import pytest

from portal.publishing import NoticeBoardPage, NoticePage
from portal.services import notice_board_setup
from tests.factories import add_page


@pytest.fixture
def in_review(tree, users):
    board = add_page(tree.district, NoticeBoardPage(title="区级通知公告", slug="notices"))
    notice_board_setup(board=board)
    notice = NoticePage(title="全区统一开展主题党日", owner=users.secretary, live=False)
    board.add_child(instance=notice)
    notice.save_revision(user=users.secretary)
    state = board.get_workflow().start(notice, users.secretary)
    return notice, state.current_task_state


def action_url(notice, action, task_state):
    return f"/admin/pages/workflow/action/{notice.pk}/{action}/{task_state.pk}/"


def test_approving_from_the_dashboard_shows_a_success_message(client, users, in_review):
    notice, task_state = in_review
    client.force_login(users.district)
    response = client.post(
        action_url(notice, "approve", task_state),
        {"comment": ""},
        headers={"x-requested-with": "XMLHttpRequest"},
    )
    assert response.status_code == 200 and response.json()["step"] == "success"
    notice.refresh_from_db()
    assert notice.live
    dashboard = client.get("/admin/").content.decode()
    assert "“全区统一开展主题党日”已通过审核。" in dashboard


def test_sending_back_says_so(client, users, in_review):
    notice, task_state = in_review
    client.force_login(users.district)
    response = client.post(
        action_url(notice, "reject", task_state), {"comment": "请补充时间"}, follow=True
    )
    notice.refresh_from_db()
    assert not notice.live
    assert "“全区统一开展主题党日”已退回作者修改。" in response.content.decode()


def test_others_cannot_approve_through_it(client, users, in_review):
    notice, task_state = in_review
    for user in (users.secretary, users.member):
        client.force_login(user)
        client.post(action_url(notice, "approve", task_state), {"comment": ""})
    notice.refresh_from_db()
    assert not notice.live
    assert "已通过审核" not in client.get("/admin/").content.decode()
