"""Branch meetings in the admin: cancelling asks first (a confirmation page,
Wagtail's pattern) and cannot be done by a stray edit; scheduling a series
names every date it created; a secretary's only branch is preselected."""

import re

from branches.models import Meeting
from tests.branches.test_calendars import meeting
from tests.branches.test_meetings import _form


def test_cancelling_asks_for_confirmation_first(client, tree, users):
    made = meeting(tree.branch_a, "支部委员会", days=5)
    client.force_login(users.secretary)
    listing = client.get("/admin/meetings/").content.decode()
    cancel_url = f"/admin/meetings/{made.pk}/cancel/"
    assert cancel_url in listing

    page = client.get(cancel_url).content.decode()
    assert "确定取消这次会议吗" in page and "确定取消会议" in page and "不，保留会议" in page
    made.refresh_from_db()
    assert made.status == Meeting.Status.SCHEDULED  # asking changed nothing

    response = client.post(cancel_url, follow=True)
    made.refresh_from_db()
    assert made.status == Meeting.Status.CANCELLED
    assert "已取消" in response.content.decode()
    assert cancel_url not in client.get("/admin/meetings/").content.decode()


def test_the_edit_form_cannot_cancel_without_the_confirmation(client, tree, users):
    made = meeting(tree.branch_a, "支部委员会", days=5)
    client.force_login(users.secretary)
    edit = client.get(f"/admin/meetings/edit/{made.pk}/").content.decode()
    assert 'name="status"' not in edit
    assert f"/admin/meetings/{made.pk}/cancel/" in edit
    data = _form(tree, title="支部委员会", status="cancelled", repeat="", repeat_count="")
    client.post(f"/admin/meetings/edit/{made.pk}/", data)
    made.refresh_from_db()
    assert made.status == Meeting.Status.SCHEDULED


def test_others_cannot_cancel(client, tree, users):
    made = meeting(tree.branch_a, "支部委员会", days=5)
    for user in (users.secretary_b, users.member):
        client.force_login(user)
        assert client.post(f"/admin/meetings/{made.pk}/cancel/").status_code in (302, 403)
    made.refresh_from_db()
    assert made.status == Meeting.Status.SCHEDULED


def test_a_series_names_every_date_it_scheduled(client, tree, users):
    client.force_login(users.secretary)
    response = client.post("/admin/meetings/new/", _form(tree, repeat_count="3"), follow=True)
    page = response.content.decode()
    assert Meeting.objects.count() == 3
    assert "已安排 3 次会议" in page
    for date in ("2027-01-10 19:00", "2027-02-10 19:00", "2027-03-10 19:00"):
        assert date in page


def _branch_select(page):
    return re.search(r'<select name="branch"[^>]*>(.*?)</select>', page, re.S).group(1)


def test_a_secretary_s_only_branch_is_preselected(client, tree, users):
    client.force_login(users.secretary)
    options = _branch_select(client.get("/admin/meetings/new/").content.decode())
    assert re.search(rf'<option value="{tree.branch_a.pk}"\s+selected>', options)
    assert 'value=""' not in options  # no empty choice to pick by mistake

    client.force_login(users.district)  # several branches: nothing is chosen for them
    options = _branch_select(client.get("/admin/meetings/new/").content.decode())
    assert not re.search(r'<option value="\d+"\s+selected', options) and 'value=""' in options


def test_a_new_duty_preselects_the_only_branch_too(client, tree, users):
    client.force_login(users.secretary)
    options = _branch_select(client.get("/admin/duties/new/").content.decode())
    assert re.search(rf'<option value="{tree.branch_a.pk}"\s+selected>', options)
