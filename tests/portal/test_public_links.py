"""One setting, PUBLIC_BASE_URL, is the address in every absolute link: the QR
codes of certificates, minutes and check-in screens, messages in the inbox and by
email (the approval emails included), calendar feeds and the calendar address on
"我的主页". With the site at https://tongxin.example.org nothing points at
127.0.0.1, localhost or the host name the request happened to come in on.

QR codes are checked by what they draw: the downloaded PDF, rendered, is the
same image as the document made with the expected address, and differs from
one made with the development address; a check-in screen carries the QR code
of the expected address."""

import datetime as dt
import os
import shutil
import subprocess
import sys

import pytest
import segno
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from alliance.meetings.rules import TOKEN_PURPOSE
from alliance.minutes.pdf import minutes_pdf
from alliance.minutes.versions import verify_token
from branches.models import MeetingKind
from branches.schedule import meeting_schedule
from portal import codes
from portal.checks import check_public_base_url, refuse_unsafe_keys
from portal.models import CalendarToken, InboxMessage
from portal.publishing import ActivityPage, NoticeBoardPage, NoticePage
from tests.alliance.test_meetings import alliance, convene  # noqa: F401 - fixture
from tests.alliance.test_minutes import _published, al  # noqa: F401 - fixture
from tests.factories import add_page, make_duty, make_shift, publish
from tests.portal.test_key_checks import GOOD
from tests.volunteers.test_certificates import YEAR, credit
from volunteers.models import Certificate
from volunteers.pdf import certificate_pdf
from volunteers.registration.services import registration_approve, registration_submit

BASE = "https://tongxin.example.org"
DEV = "http://127.0.0.1:8000"
WRONG = ("127.0.0.1", "localhost", "testserver")

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed"
)


@pytest.fixture
def public(settings):
    settings.PUBLIC_BASE_URL = BASE


def assert_no_wrong_host(text):
    for host in WRONG:
        assert host not in text, f"{host} in {text!r}"


def page_images(content: bytes, tmp_path, name: str) -> list[bytes]:
    """Every page of the PDF rendered in grey at 60 dpi."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "doc.pdf").write_bytes(content)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-gray", str(folder / "doc.pdf"), str(folder / "page")],
        check=True,
        capture_output=True,
    )
    return [page.read_bytes() for page in sorted(folder.glob("page*.pgm"))]


def frozen():
    """Same minute for the document and its reference (the footer prints it) and
    the same 30-second code on the check-in screens."""
    return time_machine.travel(timezone.now(), tick=False)


# --- QR codes ------------------------------------------------------------------------------------


@needs_poppler
def test_the_certificate_qr_code_opens_the_public_site(client, tree, users, public, tmp_path):
    credit(users.member, tree=tree)
    client.force_login(users.member)
    with frozen():
        response = client.get(reverse("volunteer_certificate", args=[YEAR]))
        assert response.status_code == 200
        certificate = Certificate.objects.get(user=users.member)
        expected = f"{BASE}/verify/{certificate.code}/"
        downloaded = page_images(response.content, tmp_path, "download")
        right = page_images(certificate_pdf(certificate, expected), tmp_path, "right")
        wrong = page_images(
            certificate_pdf(certificate, f"{DEV}/verify/{certificate.code}/"), tmp_path, "wrong"
        )
    assert right != wrong  # the rendering shows the QR code's content
    assert downloaded == right
    assert client.get(expected.removeprefix(BASE)).status_code == 200


@needs_poppler
def test_the_minutes_qr_code_opens_the_public_site(client, al, users, public, tmp_path):  # noqa: F811
    minutes = _published(al, users)
    client.force_login(users.partner)
    with frozen():  # the signed token carries the time
        path = reverse(
            "alliance_minutes_verify",
            args=[minutes.pk, verify_token(minutes, minutes.version)],
        )
        response = client.get(f"/alliance/meetings/{al.meeting.pk}/minutes.pdf")
        assert response.status_code == 200
        downloaded = page_images(response.content, tmp_path, "download")
        right = page_images(minutes_pdf(minutes, BASE + path), tmp_path, "right")
        wrong = page_images(minutes_pdf(minutes, DEV + path), tmp_path, "wrong")
    assert right != wrong
    assert downloaded == right
    assert client.get(path).status_code == 200


def test_the_check_in_screens_show_the_qr_code_of_the_public_site(client, tree, users, al, public):  # noqa: F811
    shift = make_shift(make_duty(tree), start_in=dt.timedelta(minutes=10))
    client.force_login(users.secretary)
    with frozen():
        page = client.get(reverse("volunteer_shift_code", args=[shift.pk])).content.decode()
        token = codes.current(shift.pk, "in").token
        scan = f"{BASE}/volunteer/shifts/{shift.pk}/scan/?t={token}"
        assert segno.make(scan, error="m").svg_inline(scale=6, border=2) in page

        page = client.get(f"/alliance/meetings/{al.meeting.pk}/code/").content.decode()
        token = codes.current(al.meeting.pk, "in", purpose=TOKEN_PURPOSE).token
        sign_in = f"{BASE}/alliance/meetings/{al.meeting.pk}/sign-in/?t={token}"
        assert segno.make(sign_in, error="m").svg_inline(scale=6, border=2) in page


# --- Messages: inbox and email -------------------------------------------------------------------


def test_the_approval_email_and_inbox_link_to_the_public_site(
    client, tree, users, public, django_capture_on_commit_callbacks
):
    users.member.email = "zhao@example.org"
    users.member.save(update_fields=["email"])
    registration = registration_submit(
        member=users.own_member, branch=tree.branch_a, employer="市第一医院", address="幸福里3号楼"
    )
    with django_capture_on_commit_callbacks(execute=True):
        registration_approve(registration=registration, by=users.secretary)
    (email,) = mail.outbox
    assert email.to == ["zhao@example.org"]
    assert f"{BASE}/me/registration/" in email.body
    assert_no_wrong_host(email.body)
    client.force_login(users.member)
    inbox = client.get("/me/inbox/").content.decode()
    assert '<a href="/me/registration/">社区报到已通过</a>' in inbox


def test_addresses_in_messages_point_to_the_public_site_and_are_links(
    client,
    alliance,  # noqa: F811
    users,
    public,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = convene(alliance, users.secretary, partners=[alliance.school, alliance.shop])
    ics = f"{BASE}/alliance/meetings/{meeting.pk}/invite.ics"
    (email,) = mail.outbox  # the shop's contact has an email address
    assert ics in email.body and f"{BASE}/alliance/meetings/{meeting.pk}/" in email.body
    assert_no_wrong_host(email.body)
    message = InboxMessage.objects.get(user=users.partner)
    assert ics in message.body
    assert_no_wrong_host(message.body)
    client.force_login(users.partner)
    inbox = client.get("/me/inbox/").content.decode()
    assert f'<a href="{ics}">{ics}</a>' in inbox


def test_the_password_reset_email_links_to_the_public_site(client, users, public):
    users.member.email = "zhao@example.org"
    users.member.save(update_fields=["email"])
    response = client.post(
        "/accounts/password/reset/", {"email": "zhao@example.org"}, HTTP_HOST="localhost"
    )
    assert response.status_code == 302
    (email,) = mail.outbox
    assert f"{BASE}/accounts/password/reset/key/" in email.body
    assert_no_wrong_host(email.body)


def test_the_inbox_escapes_text_and_links_only_this_sites_addresses(client, users, public):
    InboxMessage.objects.create(
        user=users.member,
        subject="<b>通知</b>",
        body=f'<script>alert(1)</script> 详见 https://evil.example/x 或 {BASE}/me/?a=1&b="2"。',
        url="javascript:alert(1)",
    )
    InboxMessage.objects.create(user=users.member, subject="外部", body="", url="//evil.example/")
    client.force_login(users.member)
    inbox = client.get("/me/inbox/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in inbox and "<script>alert" not in inbox
    assert "&lt;b&gt;通知&lt;/b&gt;" in inbox
    assert f'<a href="{BASE}/me/?a=1&amp;b=">{BASE}/me/?a=1&amp;b=</a>&quot;2&quot;。' in inbox
    assert "https://evil.example/x" in inbox and 'href="https://evil.example' not in inbox
    assert 'href="javascript:' not in inbox and 'href="//evil.example' not in inbox


def test_the_wagtail_approval_email_links_to_the_public_site(
    tree, users, settings, django_capture_on_commit_callbacks
):
    from portal.services import notice_board_setup

    settings.PUBLIC_BASE_URL = settings.WAGTAILADMIN_BASE_URL = BASE  # as base.py sets both
    call_command("migrate", verbosity=0)  # what `make run` and a deploy run
    board = add_page(tree.district, NoticeBoardPage(title="区级通知公告", slug="notices"))
    notice_board_setup(board=board)
    users.secretary.email = "secretary@example.org"
    users.secretary.save(update_fields=["email"])
    notice = NoticePage(title="全区统一开展主题党日", owner=users.secretary, live=False)
    board.add_child(instance=notice)
    notice.save_revision(user=users.secretary)
    state = board.get_workflow().start(notice, users.secretary)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        state.current_task_state.task.specific.on_action(
            state.current_task_state, users.district, "approve"
        )
    notice.refresh_from_db()
    sent = [m for m in mail.outbox if "secretary@example.org" in m.to]
    assert sent, [m.subject for m in mail.outbox]
    body = sent[0].body
    assert f"{BASE}{notice.url}" in body
    assert_no_wrong_host(body)


# --- Calendars -----------------------------------------------------------------------------------


def test_calendar_feeds_and_the_calendar_address_use_the_public_site(client, tree, users, public):
    starts_at = timezone.now().replace(microsecond=0) + dt.timedelta(days=7)
    meeting_schedule(
        branch=tree.branch_a,
        title="主题党日",
        starts_at=starts_at,
        duration=dt.timedelta(hours=1),
        public=True,
        invitees=[users.own_member],
        kind=MeetingKind.PARTY_DAY,
        place="党群服务中心",
    )
    activity = publish(
        tree.branch_a,
        ActivityPage(title="义诊", starts_at=starts_at, place="南湖公园"),
    )
    token = CalendarToken.objects.create(user=users.member)
    calendar_page = BASE + tree.branch_a.url + tree.branch_a.reverse_subpage("calendar")

    feed = client.get(reverse("member_calendar_feed", args=[token.token])).content.decode()
    unfolded = feed.replace("\r\n ", "")
    assert f"URL:{calendar_page}" in unfolded
    assert_no_wrong_host(unfolded)

    unit_feed = client.get(tree.branch_a.url + tree.branch_a.reverse_subpage("calendar_ics"))
    unfolded = unit_feed.content.decode().replace("\r\n ", "")
    assert f"URL:{calendar_page}" in unfolded and f"URL:{BASE}{activity.url}" in unfolded
    assert_no_wrong_host(unfolded)

    client.force_login(users.member)
    me = client.get("/me/").content.decode()
    feed_path = reverse("member_calendar_feed", args=[token.token])
    assert f'value="{BASE}{feed_path}"' in me
    assert f'href="webcal://tongxin.example.org{feed_path}"' in me


# --- Configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["", "http://127.0.0.1:8000", "http://localhost", "tongxin.example.org",
     "ftp://tongxin.example.org", "https://tongxin.example.org/portal", "https://x:port"],
)  # fmt: skip
def test_production_refuses_a_missing_or_local_base_url(url):
    with override_settings(**GOOD, PUBLIC_BASE_URL=url):
        assert [e.id for e in check_public_base_url()] == ["portal.E007"]
        with pytest.raises(ImproperlyConfigured, match="PUBLIC_BASE_URL"):
            refuse_unsafe_keys()


def test_production_accepts_its_public_address_and_development_anything():
    with override_settings(**GOOD, PUBLIC_BASE_URL=BASE + "/"):
        assert check_public_base_url() == []
        refuse_unsafe_keys()
    with override_settings(**GOOD, PUBLIC_BASE_URL="http://10.0.0.5:8080"):
        assert check_public_base_url() == []
    with override_settings(DEBUG=True, PUBLIC_BASE_URL=DEV):
        assert check_public_base_url() == []


def test_the_deploy_check_names_a_missing_base_url():
    env = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        SECRET_KEY=GOOD["SECRET_KEY"],
        FIELD_ENCRYPTION_KEY=GOOD["FIELD_ENCRYPTION_KEYS"][0],
        FIELD_HASH_KEY=GOOD["FIELD_HASH_KEY"],
        ALLOWED_HOSTS="tongxin.example.org",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--settings", "portal.settings.production"],
        cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0 and "portal.E007" in result.stderr


def test_make_run_host_sets_the_base_url_and_the_development_settings_follow(tmp_path):
    """`make run HOST=…` hands PUBLIC_BASE_URL to every command it runs (here a
    stand-in python that prints it), and the development settings serve that host."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    stub = venv / "bin" / "python"
    stub.write_text('#!/bin/sh\necho "PUBLIC_BASE_URL=$PUBLIC_BASE_URL"\n')
    stub.chmod(0o755)
    (venv / ".installed").touch()
    env = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "MAKEFLAGS")}

    def make_run(*args):
        return subprocess.run(
            ["make", "-s", "run", f"VENV={venv}", *args],
            cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    ran = make_run("HOST=192.168.1.20:8080")
    assert ran.returncode == 0, ran.stderr
    lines = [line for line in ran.stdout.splitlines() if line.startswith("PUBLIC_BASE_URL=")]
    assert lines and set(lines) == {"PUBLIC_BASE_URL=http://192.168.1.20:8080"}
    assert "http://192.168.1.20:8080" in ran.stdout.splitlines()[0]  # and says so

    refused = make_run("HOST=0.0.0.0:8080")
    assert refused.returncode != 0 and "PUBLIC_BASE_URL" in refused.stderr
    assert "PUBLIC_BASE_URL=" not in refused.stdout  # nothing was started
    given = make_run("HOST=0.0.0.0:8080", "PUBLIC_BASE_URL=http://10.0.0.5:8080")
    assert "PUBLIC_BASE_URL=http://10.0.0.5:8080" in given.stdout

    loaded = subprocess.run(
        [sys.executable, "-c",
         "from django.conf import settings as s; "
         "print(s.PUBLIC_BASE_URL, s.WAGTAILADMIN_BASE_URL, '192.168.1.20' in s.ALLOWED_HOSTS)"],
        cwd=django_settings.BASE_DIR, capture_output=True, text=True, timeout=60,
        env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
             "PUBLIC_BASE_URL": "http://192.168.1.20:8080"},
    )  # fmt: skip
    assert loaded.stdout.split() == ["http://192.168.1.20:8080", "http://192.168.1.20:8080", "True"]
