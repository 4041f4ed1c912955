"""Dispatch: a request's whole life (with every transition recorded), offers
that expire and escalate under a controlled clock, credits to the same
ledgers as duties, and places that hold under concurrent accepts on PostgreSQL."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.utils import timezone

from portal.models import InboxMessage, Role
from portal.services import role_assign
from tests.factories import make_duty, make_member, make_user
from volunteers.dispatch.services import (
    offers_expire,
    offers_send,
    request_cancel,
    request_create,
    request_review,
)
from volunteers.dispatch.task_services import offer_accept, offer_decline, task_complete, task_start
from volunteers.duties.services import shift_sign_up
from volunteers.models import (
    CreditEvent,
    Offer,
    RequestEvent,
    ServiceLedger,
    ServiceRequest,
    Shift,
    SignUp,
)
from volunteers.pdf import certificate_services

SOON = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(days=1)


@pytest.fixture
def worker(users):
    return users.gridworker


def new_request(worker, tree, *, start=SOON, hours=2, **extra):
    fields = {
        "by": worker,
        "grid": tree.grid3a,
        "title": "帮独居老人买药",
        "category": ServiceRequest.Category.ELDERLY,
        "window_start": start,
        "window_end": start + dt.timedelta(hours=hours),
        "address": "幸福里小区3号楼2单元501",
    }
    return request_create(**(fields | extra))


def history(request):
    return list(
        RequestEvent.objects.filter(request=request)
        .order_by("id")
        .values_list("from_status", "to_status")
    )


def test_the_whole_life_of_a_request_including_reopen(
    tree, users, worker, django_capture_on_commit_callbacks
):
    request = new_request(worker, tree, people_needed=1)
    assert request.branch == tree.branch_a and request.status == "new"
    volunteer = users.member
    with django_capture_on_commit_callbacks(execute=True):
        (offer,) = offers_send(request=request, users=[volunteer], by=users.secretary)
    assert InboxMessage.objects.filter(user=volunteer, subject__contains="帮独居老人买药").exists()
    offer_accept(offer=offer, user=volunteer)
    request.refresh_from_db()
    assert request.status == "accepted" and request.accepted_at
    with pytest.raises(ValidationError, match="照片"):
        task_complete(offer=offer, user=volunteer, note="已送达")  # no check-in, no photo
    with time_machine.travel(SOON, tick=False):
        task_start(offer=offer, user=volunteer)
    with time_machine.travel(SOON + dt.timedelta(minutes=45), tick=False):
        task_complete(offer=offer, user=volunteer, note="药已送到老人手中")
    request.refresh_from_db()
    assert request.status == "completed"
    # One credit event in the same ledgers as duties: 45 minutes, as 0.8 hours.
    event = CreditEvent.objects.get(offer=offer)
    assert event.minutes == 48 and ServiceLedger.objects.get(user=volunteer).minutes == 48
    # …and on the service certificate's list.
    rows, total = certificate_services(SimpleNamespace(user_id=volunteer.pk, year=event.year))
    assert total == 1 and rows[0][1:] == ("帮独居老人买药", "幸福里网格党支部", 48)
    # The resident is not satisfied: the comment is required, and it reopens.
    with pytest.raises(ValidationError, match="哪里不满意|what was not right|说明"):
        request_review(request=request, by=worker, satisfied=False, comment="")
    request_review(request=request, by=worker, satisfied=False, comment="买错了药")
    request.refresh_from_db()
    assert (request.status, request.round, request.satisfied) == ("returned", 2, False)
    # Round two: someone else takes it, completes it with a photo and a note.
    other = make_user("helper2")
    (second,) = offers_send(request=request, users=[other], by=users.secretary)
    offer_accept(offer=second, user=other)
    from wagtail.images.tests.utils import get_test_image_file

    task_complete(offer=second, user=other, note="换了药", photo=get_test_image_file())
    request_review(request=request, by=worker, satisfied=True, comment="谢谢")
    request.refresh_from_db()
    assert request.status == "reviewed" and request.satisfied is True
    assert history(request) == [
        ("", "new"),
        ("new", "dispatched"),
        ("dispatched", "accepted"),
        ("accepted", "in_service"),
        ("in_service", "completed"),
        ("completed", "reviewed"),
        ("reviewed", "returned"),
        ("returned", "dispatched"),
        ("dispatched", "accepted"),
        ("accepted", "completed"),
        ("completed", "reviewed"),
    ]
    assert all(e.actor_id for e in RequestEvent.objects.filter(request=request))


def test_recording_and_dispatching_are_scoped(tree, users, worker):
    with pytest.raises(PermissionDenied):
        new_request(worker, tree, grid=tree.grid3b)  # another grid
    with pytest.raises(ValidationError) as error:
        new_request(worker, tree, window_start=SOON, window_end=SOON)  # end not after start
    assert "window_end" in error.value.message_dict
    # The branch's secretary records in the grid above their branch; another's may not.
    assert new_request(users.secretary, tree).branch == tree.branch_a
    with pytest.raises(PermissionDenied):
        new_request(users.secretary_b, tree)
    request = new_request(worker, tree)
    for outsider in (users.secretary_b, users.member, users.volunteer):
        with pytest.raises(PermissionDenied):
            offers_send(request=request, users=[users.member], by=outsider)
    (offer,) = offers_send(request=request, users=[users.member], by=worker)
    with pytest.raises(PermissionDenied):
        offer_accept(offer=offer, user=users.volunteer)  # not their offer
    with pytest.raises(PermissionDenied):
        request_cancel(request=request, by=users.secretary_b, reason="越权")
    request_cancel(request=request, by=users.secretary, reason="居民已自行解决")
    offer.refresh_from_db()
    assert offer.status == "withdrawn"
    with pytest.raises(ValidationError, match="已撤回"):
        offer_accept(offer=offer, user=users.member)


def test_places_fill_then_the_rest_are_withdrawn_and_overlaps_are_refused(tree, users, worker):
    request = new_request(worker, tree, people_needed=2)
    people = [make_user(f"p{i}") for i in range(4)]
    offers = offers_send(request=request, users=people, by=worker)
    offer_accept(offer=offers[0], user=people[0])
    offer_accept(offer=offers[0], user=people[0])  # a double tap changes nothing
    offer_decline(offer=offers[3], user=people[3])
    offer_accept(offer=offers[1], user=people[1])
    states = [o.status for o in Offer.objects.filter(request=request).order_by("id")]
    assert states == ["accepted", "accepted", "withdrawn", "declined"]
    with pytest.raises(ValidationError):
        offer_accept(offer=offers[2], user=people[2])
    # people[0] now holds this task; an overlapping one, or a shift, is refused.
    clash = new_request(worker, tree, start=SOON + dt.timedelta(hours=1), title="楼道清扫")
    (o,) = offers_send(request=clash, users=[people[0]], by=worker)
    with pytest.raises(ValidationError, match="时间重叠|overlaps|重叠"):
        offer_accept(offer=o, user=people[0])
    # …and so is a shift at the time of the task.
    during = Shift.objects.create(
        duty=make_duty(tree, title="清扫"), starts_at=SOON + dt.timedelta(hours=1),
        ends_at=SOON + dt.timedelta(hours=3), signup_deadline=SOON,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="帮独居老人买药"):
        shift_sign_up(shift=during, user=people[0])
    shift = Shift.objects.create(
        duty=make_duty(tree), starts_at=SOON + dt.timedelta(days=1),
        ends_at=SOON + dt.timedelta(days=1, hours=2),
    )  # fmt: skip
    SignUp.objects.create(shift=shift, user=people[3], status="confirmed")
    later = new_request(worker, tree, start=SOON + dt.timedelta(days=1, hours=1), title="助餐")
    (o,) = offers_send(request=later, users=[people[3]], by=worker)
    with pytest.raises(ValidationError):
        offer_accept(offer=o, user=people[3])


def test_unanswered_offers_expire_go_to_the_next_and_urgent_ones_escalate(
    tree, users, worker, django_capture_on_commit_callbacks
):
    coordinator = users.coordinator  # coordinates grid2, above the request's grid
    near = [make_user(f"n{i}") for i in range(3)]
    for user in near:
        make_member(branch=tree.branch_a, name="志愿者", user=user)
    request = new_request(worker, tree, offer_minutes=30)
    now = timezone.now()
    offers_send(request=request, users=near[:1], by=worker)
    with time_machine.travel(now + dt.timedelta(minutes=29), tick=False):
        assert offers_expire() == 0
    with time_machine.travel(now + dt.timedelta(minutes=31), tick=False):
        assert offers_expire() == 1
        # The next candidates were offered it in the same run, a line in its history.
        live = Offer.objects.filter(request=request, status="offered")
        assert live.exists() and near[0].pk not in set(live.values_list("user_id", flat=True))
        last = RequestEvent.objects.filter(request=request).latest("id")
        assert last.note.startswith("1 个派单超时未回复。 自动派单。 派单给：")
    urgent = new_request(worker, tree, urgency="urgent", title="突发漏水", offer_minutes=10)
    offers_send(request=urgent, users=[near[2]], by=worker)
    with (
        time_machine.travel(now + dt.timedelta(minutes=11), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        offers_expire()
    urgent.refresh_from_db()
    assert urgent.status == "escalated"
    assert InboxMessage.objects.filter(user=coordinator, subject__contains="突发漏水").exists()
    assert not InboxMessage.objects.filter(user=users.secretary_b, subject__contains="突发漏水")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_accepts_for_five_places_and_one_person_two_overlapping_tasks(tree, users):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (SQLite runs writers one at a time)")
    worker = make_user("gw")
    role_assign(user=worker, role=Role.GRID_WORKER, page=tree.grid3a)
    request = new_request(worker, tree, people_needed=5)
    people = [make_user(f"c{i}") for i in range(50)]
    offers = offers_send(request=request, users=people, by=worker)
    barrier = threading.Barrier(50)

    def accept(offer):
        barrier.wait()
        try:
            offer_accept(offer=offer, user=offer.user)
            return "ok"
        except ValidationError:
            return "refused"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(accept, offers))
    assert results.count("ok") == 5
    assert Offer.objects.filter(request=request, status="accepted").count() == 5
    # One person, two overlapping tasks accepted at the same moment: one wins.
    busy = make_user("busy")
    a = new_request(worker, tree, start=SOON + dt.timedelta(days=3), title="甲")
    b = new_request(worker, tree, start=SOON + dt.timedelta(days=3, hours=1), title="乙")
    pair = [
        *offers_send(request=a, users=[busy], by=worker),
        *offers_send(request=b, users=[busy], by=worker),
    ]
    barrier = threading.Barrier(2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(accept, pair))
    assert sorted(results) == ["ok", "refused"]
    assert Offer.objects.filter(user=busy, status="accepted").count() == 1
