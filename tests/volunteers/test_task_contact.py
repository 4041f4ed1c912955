# ruff: noqa: F811 (the worker fixture is imported)
"""The volunteer who took a task reaches the resident and the dispatcher (issue
13): from accepting it until a day after completing it they see the resident's
address, name and phone and the dispatcher's name and phone, on "我的任务" and
on the request's page; each view is audited, and before and after that window —
and for anyone else — the values stay masked. Both sides of the window are
reached by moving the task's timestamps in the database.

Also issue 13's check-in rule: a task is started only from 30 minutes before its
time window to its end (as a shift), and a completion that earns nothing says why."""

import datetime as dt

import pytest
from django.utils import timezone

from portal.models import AuditEntry, InboxMessage, UserPhone
from tests.factories import make_user
from tests.volunteers.test_request_views import (  # noqa: F401 (fixture)
    ADDRESS,
    PHONE,
    messages_of,
    new_request,
    text,
    worker,
)
from volunteers.dispatch.services import offers_send, request_cancel, request_return
from volunteers.dispatch.task_services import offer_accept, task_complete
from volunteers.models import CreditEvent, Offer, ServiceRequest

WORKER_PHONE = "13900001111"
MASKED = ("幸福里小区****", "138****5678", "孙*爷")
FULL = (ADDRESS, PHONE, "孙大爷")


@pytest.fixture
def task(tree, users, worker):
    """A request offered by the grid worker (who has a phone on their account)
    to the member and another volunteer; the member accepts it."""
    UserPhone.objects.create(user=worker, phone=WORKER_PHONE, verified=True)
    request = new_request(worker, tree.grid3a)
    other = make_user("helper")
    mine, theirs = offers_send(request=request, users=[users.member, other], by=worker)
    offer_accept(offer=mine, user=users.member)
    theirs.refresh_from_db()
    assert theirs.status == "withdrawn"  # the one place is filled
    return request, mine, other


def reveals(user, request=None):
    rows = AuditEntry.objects.filter(actor=user, action=AuditEntry.Action.REVEAL)
    if request is not None:
        rows = rows.filter(object_id=str(request.pk), object_type="volunteers.ServiceRequest")
    return rows


def assert_full(page):
    for value in FULL:
        assert value in page
    assert f'href="tel:{PHONE}"' in page
    assert "网格员小李" in page and f'href="tel:{WORKER_PHONE}"' in page  # the dispatcher


def assert_masked(page, *, on_request_page=True):
    assert MASKED[0] in page
    if on_request_page:
        assert MASKED[1] in page
    for value in (*FULL, WORKER_PHONE, "139****1111"):
        assert value not in page
    assert "网格员小李" not in page or "派单人" not in page


def test_the_volunteer_who_took_it_sees_the_contact_and_each_view_is_audited(client, users, task):
    request, offer, _other = task
    client.force_login(users.member)
    tasks = text(client.get("/me/tasks/"))
    assert_full(tasks)
    assert "派单人" in tasks and "每次查看都会记录在案" in tasks
    detail = text(client.get(f"/requests/{request.pk}/"))
    assert_full(detail)
    rows = list(reveals(users.member, request).order_by("id"))
    assert [r.detail for r in rows] == ["task_contact my_tasks", "task_contact request_detail"]
    assert rows[0].field_name == "address,requester_name,requester_phone,dispatcher_phone"
    assert rows[0].ip_address == "127.0.0.1"
    # Every view is one more row.
    client.get("/me/tasks/")
    assert reveals(users.member, request).count() == 3


def test_everyone_else_sees_it_masked_or_not_at_all(client, users, task):
    request, _offer, other = task
    # Offered too, but withdrawn when the place was filled: masked, nothing audited.
    client.force_login(other)
    assert_masked(text(client.get(f"/requests/{request.pk}/")))
    assert "幸福里小区3号楼2单元501" not in text(client.get("/me/tasks/"))
    assert not reveals(other).exists()
    # Never offered it: not found; a guessed id: not found.
    client.force_login(users.volunteer)
    assert client.get(f"/requests/{request.pk}/").status_code == 404
    assert client.get(f"/requests/{request.pk + 1000}/").status_code == 404
    assert not reveals(users.volunteer).exists()
    # Signed out: to the sign-in page.
    client.logout()
    response = client.get(f"/requests/{request.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_only_offered_not_accepted_is_masked(client, tree, users, worker):
    request = new_request(worker, tree.grid3a)
    offers_send(request=request, users=[users.member], by=worker)
    client.force_login(users.member)
    tasks = text(client.get("/me/tasks/"))
    assert "幸福里小区****" in tasks and ADDRESS not in tasks and PHONE not in tasks
    assert "接单后，您将看到居民的完整地址和电话" in tasks
    assert_masked(text(client.get(f"/requests/{request.pk}/")))
    assert not reveals(users.member).exists()


def test_a_completed_task_shows_the_contact_for_one_more_day(client, users, task):
    request, offer, _other = task
    task_complete(offer=offer, user=users.member, note="药已送到", photo=_photo())
    client.force_login(users.member)
    now = timezone.now()
    # Completed 23 h 59 min ago: still shown (the request's page; it left "我的任务").
    Offer.objects.filter(pk=offer.pk).update(finished_at=now - dt.timedelta(hours=23, minutes=59))
    page = text(client.get(f"/requests/{request.pk}/"))
    assert_full(page)
    assert reveals(users.member, request).count() == 1
    # Completed 24 h 1 min ago: masked again, and nothing more is audited.
    Offer.objects.filter(pk=offer.pk).update(finished_at=now - dt.timedelta(hours=24, minutes=1))
    page = text(client.get(f"/requests/{request.pk}/"))
    assert_masked(page)
    assert "从接单起，至任务完成后一天" in page
    assert reveals(users.member, request).count() == 1


def test_a_task_never_completed_is_masked_a_day_after_its_window(client, users, task):
    request, _offer, _other = task
    client.force_login(users.member)
    now = timezone.now()
    ServiceRequest.objects.filter(pk=request.pk).update(
        window_start=now - dt.timedelta(hours=26), window_end=now - dt.timedelta(hours=23)
    )
    assert_full(text(client.get("/me/tasks/")))
    assert reveals(users.member, request).count() == 1
    ServiceRequest.objects.filter(pk=request.pk).update(
        window_start=now - dt.timedelta(hours=28), window_end=now - dt.timedelta(hours=25)
    )
    tasks = text(client.get("/me/tasks/"))
    assert_masked(tasks, on_request_page=False)
    assert "居民的联系方式已不再显示" in tasks
    assert_masked(text(client.get(f"/requests/{request.pk}/")))
    assert reveals(users.member, request).count() == 1


@pytest.mark.parametrize("how", ["cancel", "return"])
def test_cancelling_or_returning_withdraws_the_task_and_hides_the_contact(
    client,
    users,
    task,
    worker,
    how,
    django_capture_on_commit_callbacks,
):
    request, offer, _other = task
    with django_capture_on_commit_callbacks(execute=True):
        if how == "cancel":
            request_cancel(request=request, by=worker, reason="居民已自行解决")
        else:
            request_return(request=request, by=worker, reason="需要专业维修")
    offer.refresh_from_db()
    assert offer.status == "withdrawn"
    message = InboxMessage.objects.get(user=users.member, subject__startswith="任务已撤回")
    assert "帮独居老人买药" in message.subject
    client.force_login(users.member)
    assert_masked(text(client.get(f"/requests/{request.pk}/")))
    assert "帮独居老人买药" not in text(client.get("/me/tasks/")).split("历史记录")[0]
    assert not reveals(users.member).exists()


def test_an_automatic_offer_names_the_recorder_as_the_dispatcher(client, tree, users, worker):
    UserPhone.objects.create(user=worker, phone=WORKER_PHONE, verified=True)
    request = new_request(worker, tree.grid3a)
    (offer,) = offers_send(request=request, users=[users.member])  # the worker's expiry run
    assert offer.offered_by is None
    offer_accept(offer=offer, user=users.member)
    client.force_login(users.member)
    assert_full(text(client.get(f"/requests/{request.pk}/")))


def test_the_task_list_costs_the_same_queries_for_one_or_five_tasks(
    client,
    tree,
    users,
    worker,
    django_assert_max_num_queries,
):
    UserPhone.objects.create(user=worker, phone=WORKER_PHONE, verified=True)

    def take(i):
        start = timezone.now() + dt.timedelta(days=i + 1)
        request = new_request(
            worker, tree.grid3a, title=f"任务{i}", window_start=start,
            window_end=start + dt.timedelta(hours=1),
        )  # fmt: skip
        (offer,) = offers_send(request=request, users=[users.member], by=worker)
        offer_accept(offer=offer, user=users.member)

    take(0)
    client.force_login(users.member)
    client.get("/me/tasks/")
    with django_assert_max_num_queries(30) as one:
        client.get("/me/tasks/")
    for i in range(1, 5):
        take(i)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = text(client.get("/me/tasks/"))
    assert page.count(f'href="tel:{WORKER_PHONE}"') == 5
    assert reveals(users.member).filter(detail="task_contact my_tasks").count() == 1 + 1 + 5


# --- Check-in inside the window; a completion that earns nothing says why --------------------


def _photo():
    from tests.volunteers.test_request_views import png

    return png()


def test_checking_in_34_hours_early_is_refused_and_says_when(client, users, task):
    request, offer, _other = task
    start = timezone.now() + dt.timedelta(hours=34)
    ServiceRequest.objects.filter(pk=request.pk).update(
        window_start=start, window_end=start + dt.timedelta(hours=2)
    )
    client.force_login(users.member)
    response = client.post(f"/me/tasks/{offer.pk}/start/", follow=True)
    opens = timezone.localtime(start - dt.timedelta(minutes=30)).strftime("%m-%d %H:%M")
    assert f"本任务签到时间为 {opens} 至" in messages_of(response)
    offer.refresh_from_db()
    assert (offer.status, offer.started_at) == ("accepted", None)
    assert f"签到时间从 {opens}" in text(response)  # the task card says it beforehand


def test_checking_in_after_the_window_is_refused_and_points_to_the_photo(client, users, task):
    request, offer, _other = task
    now = timezone.now()
    ServiceRequest.objects.filter(pk=request.pk).update(
        window_start=now - dt.timedelta(hours=3), window_end=now - dt.timedelta(minutes=1)
    )
    client.force_login(users.member)
    response = client.post(f"/me/tasks/{offer.pk}/start/", follow=True)
    assert "如已完成服务，请添加照片并说明完成情况" in messages_of(response)
    offer.refresh_from_db()
    assert offer.status == "accepted"


def test_a_check_in_completed_before_the_window_earns_nothing_and_says_why(
    client,
    users,
    task,
    worker,
    django_capture_on_commit_callbacks,
):
    request, offer, _other = task
    start = timezone.now() + dt.timedelta(minutes=20)
    ServiceRequest.objects.filter(pk=request.pk).update(
        window_start=start, window_end=start + dt.timedelta(hours=2)
    )
    client.force_login(users.member)
    response = client.post(f"/me/tasks/{offer.pk}/start/", follow=True)
    assert "签到成功" in messages_of(response)  # 30 minutes before the start is open
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/me/tasks/{offer.pk}/complete/", {"note": ""}, follow=True)
    said = messages_of(response)
    assert "“帮独居老人买药”已完成，谢谢！" in said
    assert "未计入服务时长和积分" in said
    assert timezone.localtime(start).strftime("%m-%d %H:%M") in said
    assert 'class="message message--warning"' in text(response)
    event = CreditEvent.objects.get(offer=offer)
    assert (event.minutes, event.points) == (0, 0)
    # The grid worker is told it is done and waits for their review.
    told = InboxMessage.objects.get(user=worker)
    assert told.subject == "已完成，待您评价：帮独居老人买药"
    assert f"/requests/{request.pk}/" in told.url
