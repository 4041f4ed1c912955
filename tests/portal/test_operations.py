"""What whoever runs the portal relies on: the health and readiness probes, idle
sessions that end on time without a write per request, and a request id on the
response and on every log line of the request (a 500's traceback included)."""

import datetime as dt
import json
import logging

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils import timezone

from portal import urls as portal_urls
from portal.models import Notification, WorkerBeat
from portal.notify import MAX_ATTEMPTS
from portal.scheduling import run_due_work

pytestmark = pytest.mark.django_db


def boom(request):
    raise RuntimeError("the ledger is on fire")


def lost_database(request):
    raise OperationalError("server closed the connection unexpectedly")


def fine(request):
    logging.getLogger("tongxin").info("handled the request")
    return HttpResponse("ok")


# The portal's URLs and two of these tests' own.
urlpatterns = [
    path("boom/", boom),
    path("fine/", fine),
    path("lost/", lost_database),
    *portal_urls.urlpatterns,
]
handler500 = portal_urls.handler500


def readiness(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    assert response["Cache-Control"].startswith("max-age=0")
    return response.status_code, json.loads(response.content)


def test_healthz_answers_anyone_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert "Set-Cookie" not in response


def worker_beat(backend: str, seconds_ago: float) -> None:
    seen = timezone.now() - dt.timedelta(seconds=seconds_ago)
    WorkerBeat.objects.create(
        worker_id=f"{backend}-{seconds_ago}", backend_name=backend, started_at=seen, seen_at=seen
    )


def test_readyz_is_ok_while_the_worker_keeps_up(client, tree):
    worker_beat("scheduled", 5)
    status, body = readiness(client)
    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "tasks": "ok", "workers": "ok", "outbox": "ok"},
    }


def test_readyz_fails_when_no_worker_of_a_database_backend_beats(client, settings):
    settings.TONGXIN_READY_WORKER_DELAY = 120
    assert readiness(client)[1]["checks"]["workers"] == "failing"  # none ever started
    worker_beat("scheduled", 150)  # stopped beating two and a half minutes ago
    worker_beat("default", 5)  # an in-process backend here: needs no worker
    status, body = readiness(client)
    assert status == 503
    assert body["checks"] == {
        "database": "ok",
        "cache": "ok",
        "tasks": "ok",
        "workers": "failing",
        "outbox": "ok",
    }
    worker_beat("scheduled", 100)
    assert readiness(client)[0] == 200
    # Production runs both backends on the database: each needs a live worker.
    settings.TASKS = {**settings.TASKS, "default": settings.TASKS["scheduled"]}
    assert readiness(client)[0] == 200  # "default-5" beats
    WorkerBeat.objects.filter(backend_name="default").delete()
    assert readiness(client)[1]["checks"]["workers"] == "failing"


def test_readyz_fails_when_a_due_task_waits_for_a_worker_too_long(client, settings):
    settings.TONGXIN_READY_TASK_DELAY = 600
    settings.TONGXIN_READY_WORKER_DELAY = 3600
    worker_beat("scheduled", 0)  # alive, but stuck
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        run_due_work.using(run_after=start + dt.timedelta(minutes=5)).enqueue()
        assert readiness(client)[0] == 200  # not due yet
    with time_machine.travel(start + dt.timedelta(minutes=14), tick=False):
        assert readiness(client)[0] == 200  # due 9 minutes ago: a busy worker
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        status, body = readiness(client)
    assert status == 503
    assert body["status"] == "failing"
    assert body["checks"]["tasks"] == "failing"
    assert body["checks"]["database"] == "ok"


def test_readyz_fails_when_the_outbox_backs_up_but_not_for_given_up_messages(
    client, settings, users
):
    settings.TONGXIN_READY_OUTBOX_LIMIT = 2
    worker_beat("scheduled", 0)
    make = [Notification(user=users.member, subject="s", body="b") for _ in range(2)]
    Notification.objects.bulk_create(make)
    Notification.objects.create(
        user=users.member, subject="s", body="b", attempts=MAX_ATTEMPTS, last_error="down"
    )
    assert readiness(client)[0] == 200  # two waiting; the third is for a person
    Notification.objects.create(user=users.member, subject="s", body="b")
    status, body = readiness(client)
    assert status == 503
    assert body["checks"]["outbox"] == "failing"
    # Only "ok" or "failing": no counts for whoever can reach the URL.
    assert set(body["checks"].values()) == {"ok", "failing"}


def session_writes(client, url) -> tuple[int, int]:
    """The response status and how many statements wrote the session table."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get(url).status_code
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if "django_session" in q["sql"]
        and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    ]
    return status, len(writes)


def test_an_idle_session_ends_on_time_without_a_write_per_request(client, users, settings):
    settings.SESSION_COOKIE_AGE = 30 * 60
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(users.member)
        assert session_writes(client, "/me/") == (200, 1)  # the first request marks it
        assert session_writes(client, "/me/") == (200, 0)
        assert session_writes(client, "/me/notices/") == (200, 0)
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        assert session_writes(client, "/me/") == (200, 1)  # a minute passed: refreshed
    # Used two minutes in, the session lives until 32 minutes in.
    with time_machine.travel(start + dt.timedelta(minutes=31), tick=False):
        assert session_writes(client, "/me/")[0] == 200
    with time_machine.travel(start + dt.timedelta(minutes=31 + 31), tick=False):
        response = client.get("/me/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_visitor_without_a_live_session_is_given_none(client, tree):
    response = client.get("/healthz")
    assert "sessionid" not in response.cookies
    assert client.get("/search/").status_code == 200
    assert "sessionid" not in client.cookies
    # The cookie of a session that has ended (or a made-up one) starts no session.
    client.cookies["sessionid"] = "ended0000000000000000000000000000"
    assert client.get("/").status_code == 200
    assert client.get("/search/").status_code == 200
    assert not Session.objects.exists()


@pytest.mark.urls(__name__)
def test_every_response_carries_a_request_id_and_keeps_a_plain_one_from_a_proxy():
    client = Client()
    first, second = client.get("/fine/")["X-Request-ID"], client.get("/fine/")["X-Request-ID"]
    assert len(first) == 32 and first != second
    given = "lb-7f3a9c12-0001"
    assert client.get("/fine/", headers={"X-Request-ID": given})["X-Request-ID"] == given
    forged = client.get("/fine/", headers={"X-Request-ID": "x\nFAKE LOG LINE"})["X-Request-ID"]
    assert forged != "x\nFAKE LOG LINE" and len(forged) == 32


@pytest.mark.urls(__name__)
def test_a_server_error_logs_its_traceback_with_the_request_id(console_log):
    client = Client(raise_request_exception=False)
    response = client.get("/boom/", headers={"X-Request-ID": "req-5xx-000042"})
    assert response.status_code == 500
    assert response["X-Request-ID"] == "req-5xx-000042"
    log = console_log.getvalue()
    line = next(line for line in log.splitlines() if "Internal Server Error: /boom/" in line)
    assert "ERROR django.request [req-5xx-000042]" in line
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: the ledger is on fire" in log

    client.get("/fine/", headers={"X-Request-ID": "req-ok-000043"})
    assert "INFO tongxin [req-ok-000043] handled the request" in console_log.getvalue()


def test_a_not_found_line_carries_the_request_id_and_no_secret_of_the_url(client, console_log):
    """Django writes "Not Found: …" after the middleware is done; the line still
    names the request, and a calendar feed's token in the path is masked."""
    response = client.get(
        "/calendar/guessed-token-0123456789abcdef.ics", headers={"X-Request-ID": "req-404-000044"}
    )
    assert response.status_code == 404
    line = next(line for line in console_log.getvalue().splitlines() if "Not Found" in line)
    assert "WARNING django.request [req-404-000044] Not Found: /calendar/***.ics" in line
    assert "guessed-token" not in console_log.getvalue()


@pytest.mark.urls(__name__)
def test_a_lost_database_connection_is_a_503_page_not_a_traceback(console_log):
    client = Client(raise_request_exception=False)
    response = client.get("/lost/", headers={"X-Request-ID": "req-503-000045"})

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "暂时无法访问" in page and "Traceback" not in page
    assert "ERROR django.request [req-503-000045] Service Unavailable: /lost/" in (
        console_log.getvalue()
    )
    # Any other error keeps the 500 page.
    assert client.get("/boom/").status_code == 500


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database server to lose")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_answer_503_while_the_database_server_is_unreachable(tree):
    client = Client(raise_request_exception=False)
    assert client.get(tree.branch_a.url).status_code == 200
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        for url in (tree.branch_a.url, tree.branch_a.url + "notices/", "/volunteer/"):
            response = client.get(url)
            assert response.status_code == 503, url
            assert "暂时无法访问" in response.content.decode()
        # Search keeps its page, says search is down and when to come back.
        search = client.get("/search/?q=党员")
        assert (search.status_code, search["Retry-After"]) == (503, "30")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved
    assert client.get(tree.branch_a.url).status_code == 200
