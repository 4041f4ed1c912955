"""A member's volunteer service on a phone: find an activity, sign up, check in
with the organiser's 6-digit code, check out, and download the certificate —
then the certificate PDF is rendered to an image and its text checked."""

import datetime as dt
import os
import shutil
import subprocess

import pytest

from tests.browser.conftest import CHROMIUM, shot, signed_in

if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

import time_machine  # noqa: E402
from django.utils import timezone  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from portal import codes  # noqa: E402
from tests.factories import make_duty  # noqa: E402
from volunteers.models import CheckIn, CreditEvent, Shift  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_member_signs_up_checks_in_and_out_and_downloads_the_certificate(
    live_server, tree, users, browser, tmp_path
):
    start = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=10)
    duty = make_duty(tree, title="社区助老志愿服务", place="幸福里社区活动室")
    shift = Shift.objects.create(
        duty=duty, starts_at=start, ends_at=start + dt.timedelta(hours=2), capacity=5
    )
    page = signed_in(browser, live_server, users.member)

    # Find the activity and sign up (two taps: the shift, then 我要报名).
    page.goto(f"{live_server.url}/volunteer/")
    page.get_by_role("link", name="社区助老志愿服务").first.click()
    page.get_by_role("button", name="我要报名").click()
    expect(page.get_by_text("您已报名")).to_be_visible()
    shot(page, "volunteer-signed-up")

    # At the start, type the code the organiser's phone shows.
    with time_machine.travel(start, tick=True):
        page.reload()
        page.get_by_label("6 位签到码").fill(codes.current(shift.pk, "in").digits)
        page.get_by_role("button", name="签到", exact=True).click()
        expect(page.get_by_text("签到成功")).to_be_visible()
        shot(page, "volunteer-checked-in")
    for minutes in (25, 50):  # the page stays open (sessions end after 30 idle minutes)
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=True):
            page.reload()
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=True):
        page.get_by_label("6 位签到码").fill(codes.current(shift.pk, "out").digits)
        page.get_by_role("button", name="签退").click()
        expect(page.get_by_text("签退成功")).to_be_visible()
    record = CheckIn.objects.get(shift=shift, user=users.member)
    assert record.checked_out_at and 60 <= CreditEvent.objects.get(check_in=record).minutes <= 61

    # My service: one hour this year, and the certificate.
    page.goto(f"{live_server.url}/me/service/")
    expect(page.get_by_test_id("hours")).to_have_text("1.0")
    shot(page, "volunteer-my-service")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载志愿服务证明（PDF）").click()
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.skip("poppler-utils not installed: the PDF was not rendered")
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True).stdout
    assert "志愿服务证明" in text and "赵敏" in text and "累计服务时长 1.0 小时" in text
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", pdf, tmp_path / "p"])
    image = next(tmp_path.glob("p*.png"))
    assert image.stat().st_size > 10_000  # a rendered page, not a blank one
    if os.environ.get("TONGXIN_SHOTS"):
        shutil.copy(image, os.path.join(os.environ["TONGXIN_SHOTS"], "certificate.png"))
