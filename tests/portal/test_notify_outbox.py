"""The notification outbox: nothing lost when a worker dies, nothing sent twice
when a delivery is retried or runs twice at once."""

import datetime as dt
import threading
import time

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, connections, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from portal.models import InboxMessage, Notification
from portal.notify import deliver, deliver_pending, notify, notify_on_commit
from portal.scheduling import run_due_work
from tests.factories import make_user

SUBJECT = "候补转正：楼道清理"
BODY = "有人取消了报名，名额已转给你：楼道清理，2025-06-01 09:00。"
HERE = "tests.portal.test_notify_outbox"


class WorkerKilled(BaseException):
    """Stands in for the worker being killed: not an ``Exception``, so nothing in
    the delivery code catches or records it, as with a real SIGKILL."""


# What the fake mail backends and channels did; reset before each test.
calls = {"mail_failures": 0, "kills": 0, "keyed": [], "legacy": [], "flaky": []}


@pytest.fixture(autouse=True)
def reset_calls():
    calls.update(mail_failures=0, kills=0, keyed=[], legacy=[], flaky=[])


class DownOnceBackend(LocmemBackend):
    """The mail server refuses the first connection."""

    def send_messages(self, messages):
        if calls["mail_failures"] == 0:
            calls["mail_failures"] += 1
            raise ConnectionRefusedError("mail server down")
        return super().send_messages(messages)


class KilledBeforeSendingBackend(LocmemBackend):
    """The worker dies after the inbox step, before the email leaves."""

    def send_messages(self, messages):
        if calls["kills"] == 0:
            calls["kills"] += 1
            raise WorkerKilled
        return super().send_messages(messages)


class KilledAfterSendingBackend(LocmemBackend):
    """The worker dies after the mail server took the email, before it was recorded."""

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        if calls["kills"] == 0:
            calls["kills"] += 1
            raise WorkerKilled
        return sent


class SlowBackend(LocmemBackend):
    """A mail server that takes a moment, so two deliveries overlap."""

    def send_messages(self, messages):
        time.sleep(0.3)
        return super().send_messages(messages)


def keyed_channel(user, subject, body, url, *, key):
    calls["keyed"].append((user.username, subject, key))


def legacy_channel(user, subject, body, url):
    calls["legacy"].append((user.username, subject))


def flaky_channel(user, subject, body, url, key=None):
    calls["flaky"].append(key)
    if len(calls["flaky"]) == 1:
        raise TimeoutError("SMS gateway timed out")


@pytest.fixture
def person(db):
    return make_user("minzhao", email="minzhao@example.com")


def tell(person, capture):
    """A committed change that tells ``person`` (the callbacks run on commit)."""
    with capture(execute=True):
        with transaction.atomic():
            return notify_on_commit(person, subject=SUBJECT, body=BODY, url="/volunteer/")


def later(minutes=3):
    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False)


def test_a_rolled_back_change_notifies_nobody(person, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notify_on_commit(person, subject=SUBJECT, body=BODY)
            raise RuntimeError("the change failed")
    assert callbacks == []
    assert not Notification.objects.exists()
    assert not InboxMessage.objects.exists() and mail.outbox == []


def test_a_committed_change_reaches_the_inbox_and_email_once(
    client, person, django_capture_on_commit_callbacks
):
    notification = tell(person, django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    assert notification.inbox_at and notification.email_at and notification.delivered_at
    assert notification.attempts == 1 and notification.last_error == ""
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["minzhao@example.com"] and email.subject == SUBJECT
    assert BODY in email.body and email.body.rstrip().endswith("/volunteer/")
    assert email.message()["Message-ID"] == f"<notification-{notification.pk}@tongxin>"
    client.force_login(person)
    page = client.get("/me/inbox/").content.decode()
    assert page.count(SUBJECT) == 1 and BODY in page


def test_delivering_again_sends_nothing_twice(person, django_capture_on_commit_callbacks):
    notification = tell(person, django_capture_on_commit_callbacks)
    assert deliver.call(notification.pk) is True
    deliver.enqueue(notification.pk)
    # Even a duplicate task that finds the row not yet marked delivered skips
    # every channel that has the message.
    Notification.objects.filter(pk=notification.pk).update(delivered_at=None)
    assert deliver.call(notification.pk) is True
    assert InboxMessage.objects.filter(user=person).count() == 1
    assert len(mail.outbox) == 1


def test_a_failed_email_is_retried_and_sent_once(
    settings, person, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{HERE}.DownOnceBackend"
    notification = tell(person, django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    assert notification.inbox_at and notification.email_at is None
    assert notification.delivered_at is None
    assert "mail server down" in notification.last_error
    assert InboxMessage.objects.filter(user=person).count() == 1 and mail.outbox == []
    # The worker asks for the due work to run again in a couple of minutes.
    retry = DBTaskResult.objects.get(task_path="portal.scheduling.run_due_work")
    assert retry.run_after > timezone.now() + dt.timedelta(minutes=1)
    # Too early: a notification still being delivered is left alone.
    assert deliver_pending() == 0 and mail.outbox == []
    with later():
        assert deliver_pending() == 1
    notification.refresh_from_db()
    assert notification.delivered_at and notification.last_error == ""
    assert notification.attempts == 2
    assert InboxMessage.objects.filter(user=person).count() == 1
    assert len(mail.outbox) == 1


def test_a_worker_killed_mid_send_is_made_good_by_the_next_run(
    settings, person, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{HERE}.KilledBeforeSendingBackend"
    notification = tell(person, django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    # The inbox step committed; the email step died with the worker.
    assert calls["kills"] == 1
    assert notification.inbox_at and notification.email_at is None
    assert notification.delivered_at is None and mail.outbox == []
    with later():
        run_due_work.call()
    notification.refresh_from_db()
    assert notification.email_at and notification.delivered_at
    assert InboxMessage.objects.filter(user=person).count() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == SUBJECT
    # Later runs find nothing left to do.
    with later(10):
        run_due_work.call()
    assert len(mail.outbox) == 1 and InboxMessage.objects.count() == 1


def test_a_resend_after_a_kill_between_send_and_record_is_the_same_message(
    settings, person, django_capture_on_commit_callbacks
):
    """At least once for email: the one window where a message goes out twice is a
    crash after the mail server took it; the repeat carries the same Message-ID."""
    settings.EMAIL_BACKEND = f"{HERE}.KilledAfterSendingBackend"
    notification = tell(person, django_capture_on_commit_callbacks)
    with later():
        assert deliver_pending() == 1
    assert len(mail.outbox) == 2
    ids = {email.message()["Message-ID"] for email in mail.outbox}
    assert ids == {f"<notification-{notification.pk}@tongxin>"}
    assert InboxMessage.objects.filter(user=person).count() == 1


def test_extra_channels_get_the_key_and_are_called_once_across_retries(
    settings, person, django_capture_on_commit_callbacks
):
    settings.TONGXIN_NOTIFY_CHANNELS = [
        f"{HERE}.keyed_channel",
        f"{HERE}.legacy_channel",
        f"{HERE}.flaky_channel",
    ]
    notification = tell(person, django_capture_on_commit_callbacks)
    key = f"notification-{notification.pk}"
    notification.refresh_from_db()
    assert notification.delivered_at is None and "SMS gateway timed out" in notification.last_error
    assert set(notification.channels_at) == {f"{HERE}.keyed_channel", f"{HERE}.legacy_channel"}
    with later():
        assert deliver_pending() == 1
    deliver.call(notification.pk)
    assert calls["keyed"] == [("minzhao", SUBJECT, key)]
    assert calls["legacy"] == [("minzhao", SUBJECT)]  # an adapter without ``key`` still works
    assert calls["flaky"] == [key, key]  # failed once, then delivered once
    assert len(mail.outbox) == 1 and InboxMessage.objects.count() == 1


def test_notify_from_a_task_delivers_at_once_through_the_outbox(person):
    message = notify(person, subject=SUBJECT, body=BODY, url="/me/")
    assert message == InboxMessage.objects.get(user=person)
    assert Notification.objects.get().delivered_at is not None
    assert len(mail.outbox) == 1


def test_an_inactive_account_is_sent_nothing(person, django_capture_on_commit_callbacks):
    person.is_active = False
    person.save()
    notification = tell(person, django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    assert notification.delivered_at is not None
    assert not InboxMessage.objects.exists() and mail.outbox == []


def test_a_notification_that_keeps_failing_is_given_up(
    settings, person, django_capture_on_commit_callbacks
):
    settings.TONGXIN_NOTIFY_CHANNELS = [f"{HERE}.flaky_channel"]
    notification = tell(person, django_capture_on_commit_callbacks)
    Notification.objects.filter(pk=notification.pk).update(attempts=10)
    with later():
        assert deliver_pending() == 0
    assert calls["flaky"] == [f"notification-{notification.pk}"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_deliveries_at_once_send_once(settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (SQLite runs writers one at a time)")
    settings.EMAIL_BACKEND = f"{HERE}.SlowBackend"
    settings.TONGXIN_NOTIFY_CHANNELS = [f"{HERE}.keyed_channel"]
    person = make_user("racer", email="racer@example.com")
    notification = Notification.objects.create(user=person, subject=SUBJECT, body=BODY)
    start = threading.Barrier(8)
    errors = []

    def one():
        try:
            start.wait()
            deliver.call(notification.pk)
        except Exception as error:  # noqa: BLE001 - any error fails the test below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    notification.refresh_from_db()
    assert notification.delivered_at is not None
    assert InboxMessage.objects.filter(user=person).count() == 1
    assert len(mail.outbox) == 1
    assert calls["keyed"] == [("racer", SUBJECT, f"notification-{notification.pk}")]
