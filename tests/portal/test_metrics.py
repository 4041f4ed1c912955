"""What an operator sees: /metrics behind its token (Prometheus' format, the
request histogram by view, failed sign-ins, the worker queue and the outbox,
every gunicorn worker's counts added up), and one log line per request with its
request id and without query strings or secrets."""

import datetime as dt
import logging
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client.parser import text_string_to_metric_families

from portal import metrics
from portal.models import Notification, WorkerBeat
from portal.notify import MAX_ATTEMPTS
from portal.scheduling import run_due_work
from tests.factories import make_user

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-5d1c0a7e9b"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[str, list]:
    """The samples /metrics serves, by sample name (parsed, not searched as text)."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"]
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples, name, **labels) -> float:
    """One sample's value (0 when it is not there yet)."""
    return sum(
        s.value
        for s in samples.get(name, [])
        if all(s.labels.get(k) == v for k, v in labels.items())
    )


def requests_counted(samples, view, method="GET", status="2xx") -> float:
    return value(
        samples,
        "tongxin_http_request_duration_seconds_count",
        view=view,
        method=method,
        status=status,
    )


# --- The endpoint ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer 口令"],
)
def test_metrics_without_the_right_token_is_not_found(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 404
    assert b"tongxin_" not in response.content


def test_metrics_is_not_found_when_no_token_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_with_the_token_counts_requests_by_view_method_and_status(client):
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no-such-page/")
    after = scrape(client)
    assert requests_counted(after, "healthz") - requests_counted(before, "healthz") == 2
    assert requests_counted(after, "metrics") >= 1
    # The URL's path is never a label: a 404 is counted under its view.
    labels = [sample.labels for samples in after.values() for sample in samples]
    assert not any("no-such-page" in str(each) for each in labels)
    # (Wagtail's pages answer every path the portal does not route itself.)
    assert requests_counted(after, "wagtail_serve", status="4xx") >= 1
    buckets = [
        s
        for s in after["tongxin_http_request_duration_seconds_bucket"]
        if s.labels["view"] == "healthz"
    ]
    assert {s.labels["le"] for s in buckets} >= {"0.005", "10.0", "+Inf"}


def test_a_wagtail_page_is_counted_under_its_page_type(client, tree):
    assert client.get(tree.branch_a.url).status_code == 200
    samples = scrape(client)
    assert requests_counted(samples, "wagtail_serve:branches.gridbranchpage") >= 1


def test_metrics_answers_openmetrics_when_prometheus_asks_for_it(client):
    response = client.get(
        "/metrics",
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Accept": "application/openmetrics-text; version=1.0.0",
        },
    )
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


def test_a_failed_sign_in_through_allauth_is_counted(client):
    make_user("alice")
    before = value(scrape(client), "tongxin_login_failures_total")
    response = client.post("/accounts/login/", {"login": "alice", "password": "wrong"})
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session
    assert value(scrape(client), "tongxin_login_failures_total") - before == 1
    # A successful sign-in is not a failure.
    client.post("/accounts/login/", {"login": "alice", "password": "pw-Test-12345"})
    assert value(scrape(client), "tongxin_login_failures_total") - before == 1


def test_the_worker_gauges_show_a_due_task_and_how_long_it_has_waited(client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        run_due_work.using(run_after=start + dt.timedelta(minutes=5)).enqueue()
        samples = scrape(client)
    assert value(samples, "tongxin_tasks_waiting") == 0  # not due yet
    assert value(samples, "tongxin_tasks_oldest_waiting_seconds") == 0
    with time_machine.travel(start + dt.timedelta(minutes=12), tick=False):
        samples = scrape(client)
    assert value(samples, "tongxin_tasks_waiting") == 1
    assert value(samples, "tongxin_tasks_oldest_waiting_seconds") == 7 * 60
    assert value(samples, "tongxin_tasks_running") == 0


def test_the_worker_gauges_count_live_workers_and_claimed_tasks(client, settings):
    settings.TONGXIN_READY_WORKER_DELAY = 120
    now = timezone.now()
    for worker_id, seconds_ago in (("w1", 3), ("w2", 100), ("gone", 500)):
        seen = now - dt.timedelta(seconds=seconds_ago)
        WorkerBeat.objects.create(
            worker_id=worker_id, backend_name="scheduled", started_at=seen, seen_at=seen
        )
    result = run_due_work.enqueue()
    DBTaskResult.objects.get(pk=result.id).claim("w1")
    samples = scrape(client)
    assert value(samples, "tongxin_workers_alive") == 2
    assert value(samples, "tongxin_tasks_running") == 1


def test_the_outbox_gauges_count_waiting_and_given_up_notifications(client):
    user = make_user("member")
    Notification.objects.bulk_create(
        [Notification(user=user, subject="s", body="b", attempts=n) for n in (0, 3)]
    )
    Notification.objects.create(
        user=user, subject="s", body="b", attempts=MAX_ATTEMPTS, last_error="gateway down"
    )
    Notification.objects.create(user=user, subject="s", body="b", delivered_at=timezone.now())
    samples = scrape(client)
    assert value(samples, "tongxin_outbox_backlog") == 2
    assert value(samples, "tongxin_outbox_failed") == 1


def test_the_scrape_costs_the_same_queries_whatever_the_data(client, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as empty:
        scrape(client)
    user = make_user("member")
    Notification.objects.bulk_create(
        [Notification(user=user, subject="s", body="b") for _ in range(30)]
    )
    with django_assert_num_queries(len(empty.captured_queries)):
        scrape(client)


@pytest.fixture
def extra_gauge():
    yield metrics.register_gauge
    metrics.SCRAPE_GAUGES.pop("tongxin_webhooks_failing", None)
    metrics.SCRAPE_GAUGES.pop("tongxin_broken", None)


def test_a_capability_adds_a_gauge_and_a_failing_gauge_spoils_no_other(client, extra_gauge):
    extra_gauge("tongxin_webhooks_failing", "Webhook deliveries failing.", lambda: 3)

    def broken():
        raise RuntimeError("no such table")

    extra_gauge("tongxin_broken", "Fails.", broken)
    samples = scrape(client)
    assert value(samples, "tongxin_webhooks_failing") == 3
    assert "tongxin_broken" not in samples
    assert "tongxin_outbox_backlog" in samples


# --- Several gunicorn workers ------------------------------------------------------------

WORKER = """
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
assert Client().get("/healthz").status_code == 200
"""


def test_with_a_multiprocess_directory_metrics_adds_up_every_worker(client, tmp_path, monkeypatch):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER], cwd=REPO, env=env) for _ in range(2)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    samples = scrape(client)
    # Both workers' requests; this process's own are not in the files.
    assert requests_counted(samples, "healthz") == 2
    assert requests_counted(samples, "metrics") == 0
    assert "tongxin_outbox_backlog" in samples  # read once, by the worker scraped


def test_gunicorn_config_reads_the_environment_and_clears_old_metric_files(tmp_path, monkeypatch):
    (tmp_path / "counter_4242.db").write_bytes(b"")
    (tmp_path / "keep.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:9000")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    config = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    assert (config["bind"], config["workers"], config["worker_class"]) == (
        "0.0.0.0:9000",
        3,
        "sync",
    )
    assert config["accesslog"] is None and config["timeout"] == 30
    config["on_starting"](server=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


# --- The request log -----------------------------------------------------------------------


def request_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if " tongxin.requests " in line]


def test_a_request_is_logged_on_one_line_without_its_query_string(
    client, tree, caplog, console_log
):
    caplog.set_level(logging.INFO, logger="tongxin.requests")
    response = client.get("/search/?q=13800138000&code=QX7RZK")
    status = response.status_code  # the search page moves the words out of the URL
    [record] = [r for r in caplog.records if r.name == "tongxin.requests"]
    assert (record.method, record.path, record.status, record.view) == (
        "GET",
        "/search/",
        status,
        "search",
    )
    assert record.user_id is None and record.duration_ms >= 0
    [line] = request_lines(console_log.getvalue())
    request_id = response["X-Request-ID"]
    assert f"INFO tongxin.requests [{request_id}] GET /search/ {status} " in line
    assert line.endswith(" view=search user=-")
    for secret in ("13800138000", "138****", "QX7RZK", "q=", "?"):
        assert secret not in line
        assert secret not in str(vars(record))


def test_each_request_line_carries_its_own_request_id(client, caplog, console_log):
    caplog.set_level(logging.INFO, logger="tongxin.requests")
    ids = [client.get("/healthz")["X-Request-ID"] for _ in range(2)]
    ids.append(client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c12-0002"})["X-Request-ID"])
    lines = request_lines(console_log.getvalue())
    assert len(lines) == 3 and len(set(ids)) == 3
    for request_id, line in zip(ids, lines, strict=True):
        assert f"[{request_id}] GET /healthz 200 " in line


def test_the_line_names_a_signed_in_user_by_id_only(client, users, caplog, console_log):
    caplog.set_level(logging.INFO, logger="tongxin.requests")
    client.force_login(users.member)
    assert client.get("/me/").status_code == 200
    [line] = request_lines(console_log.getvalue())
    assert line.endswith(f" view=me user={users.member.pk}")
    assert users.member.username not in line


def test_secret_url_parts_and_line_breaks_stay_out_of_the_log(client, caplog, console_log):
    caplog.set_level(logging.INFO, logger="tongxin.requests")
    client.get("/calendar/Zr8kQ2vX9mLp4tWs.ics")
    client.get("/no%0AFAKE%20LINE/")
    lines = request_lines(console_log.getvalue())
    assert len(lines) == 2
    assert " GET /calendar/***.ics 404 " in lines[0]
    assert "Zr8kQ2vX9mLp4tWs" not in lines[0]
    assert " GET /no%0AFAKE%20LINE/ 404 " in lines[1]
    assert not any(line.startswith("FAKE") for line in console_log.getvalue().splitlines())


def test_tests_and_development_do_not_log_every_request(client, console_log):
    assert not logging.getLogger("tongxin.requests").isEnabledFor(logging.INFO)
    client.get("/healthz")
    assert request_lines(console_log.getvalue()) == []
