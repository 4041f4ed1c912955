"""The dispatch pages as their users see them: a grid worker records a need on
the phone form, the secretary offers it to chosen candidates, a volunteer
answers and serves it on /me/tasks/, and the recorder reviews it."""

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from portal.models import AuditEntry, Role
from portal.services import role_assign
from tests.factories import make_member, make_user
from volunteers.dispatch.services import offers_send, request_create
from volunteers.dispatch.task_services import offer_accept, task_complete
from volunteers.models import Offer, RequestEvent, ServiceRequest

SOON = timezone.localtime().replace(second=0, microsecond=0) + dt.timedelta(days=1)
ADDRESS = "幸福里小区3号楼2单元501"
PHONE = "13812345678"


@pytest.fixture
def worker(tree):
    user = make_user("gw_pages", first_name="网格员小李")
    role_assign(user=user, role=Role.GRID_WORKER, page=tree.grid3a)
    return user


@pytest.fixture
def worker_b(tree):
    user = make_user("gridworker_b")
    role_assign(user=user, role=Role.GRID_WORKER, page=tree.grid3b)
    return user


def new_request(by, grid, **extra):
    fields = {
        "by": by,
        "grid": grid,
        "title": "帮独居老人买药",
        "category": ServiceRequest.Category.ELDERLY,
        "window_start": SOON,
        "window_end": SOON + dt.timedelta(hours=2),
        "address": ADDRESS,
        "requester_name": "孙大爷",
        "requester_phone": PHONE,
    }
    return request_create(**(fields | extra))


def png(name="photo.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 22, 29)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def form_data(tree, **extra):
    data = {
        "title": "帮孙大爷买降压药",
        "category": "elderly",
        "grid": str(tree.grid3a.pk),
        "address": ADDRESS,
        "requester_name": "孙大爷",
        "requester_phone": PHONE,
        "description": "每月一次，药方在家中",
        "window_start": SOON.strftime("%Y-%m-%dT%H:%M"),
        "window_end": (SOON + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "urgency": "normal",
        "people_needed": "1",
    }
    return data | extra


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


# --- Recording ----------------------------------------------------------------------------------


def test_grid_worker_records_a_micro_wish_with_a_photo_on_the_form(client, tree, worker):
    client.force_login(worker)
    form = text(client.get("/requests/new/"))
    assert "幸福里三级网格" in form and "光明路三级网格" not in form  # only their grid
    response = client.post(
        "/requests/new/", form_data(tree, micro_wish="on", photos=[png()]), follow=True
    )
    request = ServiceRequest.objects.get()
    assert response.redirect_chain[-1][0] == f"/requests/{request.pk}/"
    assert (request.title, request.source, request.grid, request.branch) == (
        "帮孙大爷买降压药",
        "micro_wish",
        tree.grid3a,
        tree.branch_a,
    )
    assert request.address == ADDRESS and request.created_by == worker
    assert request.photos.count() == 1
    page = text(response)
    assert "需求已登记" in page and "微心愿" in page
    assert ADDRESS in page and PHONE in page  # the grid's own staff see it in full
    assert AuditEntry.objects.filter(
        actor=worker, action="reveal", object_id=str(request.pk)
    ).exists()


def test_a_bad_form_keeps_what_was_typed_and_says_what_is_wrong(client, tree, worker):
    client.force_login(worker)
    bad = form_data(
        tree,
        title="",
        requester_phone="abc",
        window_end=(SOON - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        photos=[SimpleUploadedFile("notes.txt", b"not an image", content_type="text/plain")],
    )
    response = client.post("/requests/new/", bad)
    assert response.status_code == 200
    page = text(response)
    assert "请在几个字内说明需要什么" in page
    assert "结束时间必须晚于开始时间" in page
    assert "请用数字填写电话号码" in page
    assert "notes.txt" in page  # the bad photo is named
    assert "请重新选择照片" in page
    # Everything typed comes back.
    assert f'value="{ADDRESS}"' in page and 'value="孙大爷"' in page
    assert "每月一次，药方在家中" in page
    assert not ServiceRequest.objects.exists()


def test_a_grid_outside_the_recorders_scope_is_refused(client, tree, worker):
    client.force_login(worker)
    response = client.post("/requests/new/", form_data(tree, grid=str(tree.grid3b.pk)))
    assert response.status_code == 200 and "请从列表中选择网格" in text(response)
    assert not ServiceRequest.objects.exists()


def test_people_without_a_grid_may_not_record(client, users):
    client.force_login(users.volunteer)
    assert client.get("/requests/new/").status_code == 403


# --- Lists and visibility -----------------------------------------------------------------------


def test_a_grid_worker_lists_only_their_grids_requests(client, tree, worker, worker_b):
    mine = new_request(worker, tree.grid3a, title="楼道灯坏了")
    theirs = new_request(worker_b, tree.grid3b, title="光明路漏水")
    client.force_login(worker)
    page = text(client.get("/requests/"))
    assert "楼道灯坏了" in page and "光明路漏水" not in page
    assert client.get(f"/requests/{mine.pk}/").status_code == 200
    assert client.get(f"/requests/{theirs.pk}/").status_code == 404
    assert client.post(f"/requests/{theirs.pk}/cancel/", {"reason": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "new"


def test_the_list_filters_by_status_and_says_when_nothing_matches(client, tree, worker):
    new_request(worker, tree.grid3a, title="楼道灯坏了")
    client.force_login(worker)
    assert "楼道灯坏了" in text(client.get("/requests/?status=new&category=elderly"))
    empty = text(client.get("/requests/?status=completed"))
    assert "楼道灯坏了" not in empty and "没有符合筛选条件的需求" in empty


def test_the_list_costs_the_same_queries_for_3_or_25_requests(
    client, tree, worker, django_assert_max_num_queries
):
    client.force_login(worker)
    for i in range(3):
        new_request(worker, tree.grid3a, title=f"需求{i}")
    client.get("/requests/")  # warm caches (site, translations)
    with django_assert_max_num_queries(12) as few:
        client.get("/requests/")
    for i in range(3, 25):
        new_request(worker, tree.grid3a, title=f"需求{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = text(client.get("/requests/"))
    assert "需求24" in page and "需求4" not in page  # 20 a page, newest first


def test_me_links_to_tasks_and_to_requests_only_for_grid_staff(client, users, worker):
    client.force_login(worker)
    page = text(client.get("/me/"))
    assert 'href="/me/tasks/"' in page and 'href="/requests/"' in page
    client.force_login(users.member)
    page = text(client.get("/me/"))
    assert 'href="/me/tasks/"' in page and 'href="/requests/"' not in page


# --- Dispatching --------------------------------------------------------------------------------


def test_the_secretary_dispatches_to_the_chosen_candidates(client, tree, users, worker):
    other = make_user("helper")
    make_member(branch=tree.branch_a, name="钱多多", user=other)
    request = new_request(worker, tree.grid3a)
    client.force_login(users.secretary)
    page = text(client.get(f"/requests/{request.pk}/"))
    assert "赵敏" in page and "钱多多" in page and "本支部党员" in page  # with the reasons
    response = client.post(
        f"/requests/{request.pk}/dispatch/", {"candidate": [users.member.pk]}, follow=True
    )
    assert "已派单给 1 人：赵敏" in text(response)
    assert list(Offer.objects.values_list("user_id", flat=True)) == [users.member.pk]
    offer = Offer.objects.get()
    assert offer.offered_by == users.secretary and offer.reasons["reasons"]
    request.refresh_from_db()
    assert request.status == "dispatched"
    assert "已派单" in text(response)
    # Nobody ticked: a message, nothing sent.
    response = client.post(f"/requests/{request.pk}/dispatch/", {}, follow=True)
    assert "请至少选择一人" in text(response) and Offer.objects.count() == 1


def test_automatic_dispatch_offers_the_best_ranked(client, tree, users, worker):
    request = new_request(worker, tree.grid3a)
    client.force_login(worker)
    response = client.post(f"/requests/{request.pk}/dispatch/", {"auto": "1"}, follow=True)
    assert "赵敏" in text(response)
    assert Offer.objects.filter(request=request, user=users.member).exists()


def test_a_volunteer_cannot_dispatch_return_or_cancel(client, tree, users, worker):
    request = new_request(worker, tree.grid3a)
    offers_send(request=request, users=[users.member], by=worker)
    client.force_login(users.member)  # may see it (offered), may not run it
    assert client.post(f"/requests/{request.pk}/dispatch/", {"auto": "1"}).status_code == 403
    assert client.post(f"/requests/{request.pk}/return/", {"reason": "x"}).status_code == 403
    assert client.post(f"/requests/{request.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert client.get(f"/requests/{request.pk}/dispatch/").status_code == 405


def test_cancel_needs_a_reason_and_is_recorded(client, tree, users, worker):
    request = new_request(worker, tree.grid3a)
    client.force_login(users.secretary)
    response = client.post(f"/requests/{request.pk}/cancel/", {"reason": " "}, follow=True)
    assert "请填写原因" in text(response)
    response = client.post(
        f"/requests/{request.pk}/cancel/", {"reason": "居民已自行解决"}, follow=True
    )
    page = text(response)
    assert "需求已取消" in page and "居民已自行解决" in page
    request.refresh_from_db()
    assert request.status == "cancelled"


# --- The volunteer's tasks ----------------------------------------------------------------------


def test_a_volunteer_sees_only_their_own_offers_and_cannot_take_anothers(
    client, tree, users, worker
):
    other = make_user("helper")
    mine = new_request(worker, tree.grid3a, title="帮忙取快递")
    theirs = new_request(worker, tree.grid3a, title="陪同就医", window_start=SOON + dt.timedelta(days=1), window_end=SOON + dt.timedelta(days=1, hours=2))  # fmt: skip
    (my_offer,) = offers_send(request=mine, users=[users.member], by=worker)
    (their_offer,) = offers_send(request=theirs, users=[other], by=worker)
    client.force_login(users.member)
    page = text(client.get("/me/tasks/"))
    assert "帮忙取快递" in page and "陪同就医" not in page
    assert client.post(f"/me/tasks/{their_offer.pk}/accept/").status_code == 403
    assert client.post(f"/me/tasks/{their_offer.pk}/decline/").status_code == 403
    their_offer.refresh_from_db()
    assert their_offer.status == "offered"
    response = client.post(f"/me/tasks/{my_offer.pk}/accept/", follow=True)
    assert "您已接下“帮忙取快递”" in text(response)
    my_offer.refresh_from_db()
    assert my_offer.status == "accepted"


def test_completing_needs_a_check_in_or_a_photo_and_a_note(client, tree, users, worker):
    request = new_request(worker, tree.grid3a)
    (offer,) = offers_send(request=request, users=[users.member], by=worker)
    offer_accept(offer=offer, user=users.member)
    client.force_login(users.member)
    response = client.post(f"/me/tasks/{offer.pk}/complete/", {"note": "已送达"}, follow=True)
    assert "请在开始时签到，或添加照片并说明完成情况" in text(response)
    offer.refresh_from_db()
    assert offer.status == "accepted"
    response = client.post(
        f"/me/tasks/{offer.pk}/complete/", {"note": "药已送到", "photo": png()}, follow=True
    )
    assert "“帮独居老人买药”已完成" in text(response)
    offer.refresh_from_db()
    assert offer.status == "completed" and offer.completion_photo is not None
    request.refresh_from_db()
    assert request.status == "completed"


def test_a_volunteer_checks_in_then_completes(client, tree, users, worker):
    request = new_request(worker, tree.grid3a)
    (offer,) = offers_send(request=request, users=[users.member], by=worker)
    offer_accept(offer=offer, user=users.member)
    with time_machine.travel(SOON + dt.timedelta(minutes=5), tick=False):
        client.force_login(users.member)
        response = client.post(f"/me/tasks/{offer.pk}/start/", follow=True)
        assert "签到成功" in text(response)
    with time_machine.travel(SOON + dt.timedelta(minutes=95), tick=False):
        client.force_login(users.member)
        response = client.post(f"/me/tasks/{offer.pk}/complete/", {"note": ""}, follow=True)
        # What the task earned is said: 90 minutes and the activity rule's points.
        assert "“帮独居老人买药”已完成，谢谢！ 已计入服务时长 1.5 小时、积分" in text(response)
        offer.refresh_from_db()
        assert offer.status == "completed"
        page = text(client.get("/me/tasks/"))
    assert "暂无待回复的派单" in page and "帮独居老人买药" in page  # now in the history


def test_someone_elses_task_cannot_be_started_or_completed(client, tree, users, worker):
    request = new_request(worker, tree.grid3a)
    (offer,) = offers_send(request=request, users=[users.member], by=worker)
    offer_accept(offer=offer, user=users.member)
    client.force_login(users.volunteer)
    assert client.post(f"/me/tasks/{offer.pk}/start/").status_code == 403
    assert client.post(f"/me/tasks/{offer.pk}/complete/", {"note": "x"}).status_code == 403
    assert client.post("/me/tasks/999999/accept/").status_code == 404


# --- Review and masking -------------------------------------------------------------------------


def _completed(tree, users, worker):
    request = new_request(worker, tree.grid3a)
    (offer,) = offers_send(request=request, users=[users.member], by=worker)
    offer_accept(offer=offer, user=users.member)
    task_complete(offer=offer, user=users.member, note="药已送到", photo=png())
    return request


def test_an_unsatisfied_review_reopens_the_request(client, tree, users, worker):
    request = _completed(tree, users, worker)
    client.force_login(worker)
    page = text(client.get(f"/requests/{request.pk}/"))
    assert "评价服务" in page and "药已送到" in page
    response = client.post(f"/requests/{request.pk}/review/", {"satisfied": "no"}, follow=True)
    assert "请说明哪里不满意" in text(response)
    response = client.post(
        f"/requests/{request.pk}/review/", {"satisfied": "no", "comment": "买错了药"}, follow=True
    )
    page = text(response)
    assert "需求已重新打开" in page and "买错了药" in page
    request.refresh_from_db()
    assert (request.status, request.satisfied, request.round) == ("returned", False, 2)
    assert RequestEvent.objects.filter(request=request, to_status="returned").exists()
    assert "派单" in page and "赵敏" in page  # offered again from the candidates


def test_a_satisfied_review_closes_the_request(client, tree, users, worker):
    request = _completed(tree, users, worker)
    client.force_login(worker)
    response = client.post(f"/requests/{request.pk}/review/", {"satisfied": "yes"}, follow=True)
    request.refresh_from_db()
    assert request.status == "reviewed" and request.satisfied is True
    assert "已评价" in text(response) and "评价服务" not in text(response)


def test_a_volunteer_sees_the_address_and_phone_masked(client, tree, users, worker):
    request = new_request(worker, tree.grid3a)
    offers_send(request=request, users=[users.member], by=worker)
    client.force_login(users.member)
    page = text(client.get(f"/requests/{request.pk}/"))
    assert "幸福里小区****" in page and "138****5678" in page and "孙*爷" in page
    assert ADDRESS not in page and PHONE not in page and "孙大爷" not in page
    tasks = text(client.get("/me/tasks/"))
    assert "幸福里小区****" in tasks and ADDRESS not in tasks
    # A volunteer never offered it does not see it at all.
    client.force_login(users.volunteer)
    assert client.get(f"/requests/{request.pk}/").status_code == 404


# --- Answering offers (issue 13) ----------------------------------------------------------------


def test_open_offers_show_a_badge_and_the_time_left_and_declining_asks_first(
    client, tree, users, worker
):
    request = new_request(worker, tree.grid3a)
    (offer,) = offers_send(request=request, users=[users.member], by=worker)
    client.force_login(users.member)
    page = text(client.get("/me/tasks/"))
    assert '<span class="count-badge" data-testid="open-count">1</span>' in page
    assert re.search(r"还剩 (29|30)\s分钟", page)  # 30 minutes to answer
    # Declining cannot be undone: the button asks first (site.js reads data-confirm).
    assert 'type="submit" data-confirm="确定谢绝这个任务吗？谢绝后无法撤销' in page
    assert 'data-testid="open-offers-badge">1</span>' in text(client.get("/me/"))
    # Without JavaScript the form still declines.
    response = client.post(f"/me/tasks/{offer.pk}/decline/", follow=True)
    assert "您已谢绝“帮独居老人买药”" in messages_of(response)
    assert "open-count" not in text(response)
    assert "open-offers-badge" not in text(client.get("/me/"))


def test_an_offer_answered_too_late_says_it_expired(client, tree, users, worker):
    request = new_request(worker, tree.grid3a)
    (offer,) = offers_send(request=request, users=[users.member], by=worker)
    late = timezone.now() - dt.timedelta(minutes=1)
    Offer.objects.filter(pk=offer.pk).update(expires_at=late)
    client.force_login(users.member)
    response = client.post(f"/me/tasks/{offer.pk}/accept/", follow=True)
    when = timezone.localtime(late).strftime("%m-%d %H:%M")
    assert f"这个派单已于 {when} 超时未回复，已改派他人。" in messages_of(response)
    page = text(response)
    assert "暂无待回复的派单" in page and "超时未回复" in page  # the history says so too
    offer.refresh_from_db()
    assert offer.status == "offered" and offer.answered_at is None


def test_every_round_of_offers_is_in_the_history_and_withdrawn_offers_show_no_reply(
    client, tree, users, worker
):
    request = new_request(worker, tree.grid3a)
    first, second = make_user("helper_a", first_name="甲"), make_user("helper_b", first_name="乙")
    offers_send(request=request, users=[first], by=worker)
    offers_send(request=request, users=[second], by=worker)  # while it is dispatched
    offer_accept(offer=Offer.objects.get(user=second), user=second)
    withdrawn = Offer.objects.get(user=first)
    assert withdrawn.status == "withdrawn" and withdrawn.answered_at is None
    client.force_login(worker)
    page = text(client.get(f"/requests/{request.pk}/"))
    events = re.findall(r'<li data-testid="event">(.*?)</li>', page, re.S)
    assert len(events) == 4  # recorded, two rounds of offers, accepted
    assert "派单给：甲。" in events[1] and "派单给：乙。" in events[2]
    assert "已派单 →" not in events[2]  # no change of status, just the round
    offers = {
        name: line
        for line in re.findall(r'<li data-testid="offer">(.*?)</li>', page, re.S)
        for name in ("甲", "乙")
        if f"<strong>{name}</strong>" in line
    }
    assert "已撤回" in offers["甲"] and "回复" not in offers["甲"]
    assert "回复" in offers["乙"]
