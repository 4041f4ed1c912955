"""A person's service record reads the ledger once: on "我的志愿服务"
(/me/service/) and in the service certificate (志愿服务证明) every total equals
the sum of the rows shown — for many generated ledgers of shift credits, time
corrections (a reversal and a new credit) and completed dispatched tasks,
zero-minute ones included (the demo's 5 counted vs 4 listed)."""

import datetime as dt
import random
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_duty, make_user
from volunteers.dispatch.task_services import task_credit_post
from volunteers.duties.services import check_in_correct, walk_in_record
from volunteers.ledgers import ledger_minutes
from volunteers.models import Offer, ServiceRequest, Shift

YEAR = timezone.localdate().year - 1
CASES = 25
SEED = 20261205

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftotext) is not installed: cannot read the PDF text",
)


def _at(rng) -> dt.datetime:
    day = dt.date(YEAR, 1, 1) + dt.timedelta(days=rng.randrange(360))
    return timezone.make_aware(dt.datetime.combine(day, dt.time(rng.randrange(7, 18))))


def _shift_credit(rng, tree, duty, person, by):
    """A shift served from a random minute to another, perhaps corrected afterwards."""
    start = _at(rng)
    shift = Shift.objects.create(
        duty=duty, starts_at=start, ends_at=start + dt.timedelta(minutes=rng.randrange(70, 240)),
        capacity=5,
    )  # fmt: skip
    record = walk_in_record(
        shift=shift, user=person, by=by,
        checked_in_at=start + dt.timedelta(minutes=rng.randrange(0, 20)),
        checked_out_at=shift.ends_at - dt.timedelta(minutes=rng.randrange(0, 20)),
    )  # fmt: skip
    for _ in range(rng.choice([0, 0, 1, 2])):
        check_in_correct(
            check_in=record, by=by, reason="补录签退时间",
            checked_in_at=start + dt.timedelta(minutes=rng.randrange(0, 30)),
            checked_out_at=shift.ends_at - dt.timedelta(minutes=rng.randrange(0, 30)),
        )  # fmt: skip


def _task_credit(rng, tree, person):
    """A completed dispatched task; sometimes checked in and done in the same minute."""
    start = _at(rng)
    request = ServiceRequest.objects.create(
        title=rng.choice(["送药上门", "代买课外书", "陪同就医"]),
        category=ServiceRequest.Category.ELDERLY, grid=tree.grid3a, branch=tree.branch_a,
        window_start=start, window_end=start + dt.timedelta(hours=2),
        status=ServiceRequest.Status.COMPLETED,
    )  # fmt: skip
    began = start + dt.timedelta(minutes=rng.randrange(0, 30))
    took = rng.choice([0, rng.randrange(1, 150)])
    offer = Offer.objects.create(
        request=request, user=person, status=Offer.Status.COMPLETED, expires_at=start,
        started_at=began, finished_at=began + dt.timedelta(minutes=took),
    )  # fmt: skip
    task_credit_post(offer=offer)


def _ledger(rng, tree, users, n):
    person = make_user(f"ledger{n}", first_name=f"志愿者{n}")
    duty = make_duty(tree, title=rng.choice(["楼道清理", "敬老探访", "垃圾分类宣传"]))
    for _ in range(rng.randrange(0, 7)):
        _shift_credit(rng, tree, duty, person, users.secretary)
    for _ in range(rng.randrange(0, 4)):
        _task_credit(rng, tree, person)
    return person


def _number(text: str) -> Decimal:
    return Decimal(text.strip().replace(",", ""))


def _cells(html: str, row: str, col: str) -> list[Decimal]:
    pattern = rf'<tr {row}>.*?<td class="num" data-col="{col}">([^<]*)</td>'
    return [_number(v) for v in re.findall(pattern, html, flags=re.S)]


def _check_page(client, person):
    """The facts, the rows and the footer of the year on /me/service/ agree."""
    client.force_login(person)
    html = client.get(reverse("my_service"), {"year": YEAR}).content.decode()
    facts = {
        name: re.search(rf'data-testid="{name}">([^<]*)<', html).group(1)
        for name in ("hours", "points", "services")
    }
    hours, points = _cells(html, "data-row", "hours"), _cells(html, "data-row", "points")
    assert int(facts["services"]) == len(hours) == len(points)
    assert _number(facts["hours"]) == sum(hours, Decimal(0))
    assert _number(facts["points"]) == sum(points, Decimal(0))
    if hours:
        assert _cells(html, "data-total", "hours") == [sum(hours)]
        assert _cells(html, "data-total", "points") == [sum(points)]
        assert f"合计：{len(hours)} 次" in html
    return len(hours), sum(hours, Decimal(0))


def _check_certificate(client, person, tmp_path, page_figures):
    """The certificate's sentence, its rows and its total row agree (and with the page)."""
    response = client.get(reverse("volunteer_certificate", args=[YEAR]))
    if not page_figures[0]:
        assert response.status_code == 302  # nothing credited: no certificate
        return
    path = tmp_path / "certificate.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    times, total = re.search(r"参加志愿服务(\d+)次，累计服务时长([\d.,]+)小时", flat).groups()
    rows = re.findall(r"^\s*(\d+)\s+\d{4}-\d{2}-\d{2}\s.*?\s(\d[\d,]*\.\d)\s*$", text, flags=re.M)
    assert [int(seq) for seq, _ in rows] == list(range(1, len(rows) + 1))
    shown = sum((_number(h) for _, h in rows), Decimal(0))
    assert int(times) == len(rows) and _number(total) == shown
    footer = re.search(r"合计\s+共\s*(\d+)\s*次\s+(\d[\d,]*\.\d)", text)
    assert footer and int(footer.group(1)) == len(rows) and _number(footer.group(2)) == shown
    assert (len(rows), shown) == page_figures


@needs_poppler
def test_every_total_is_the_sum_of_the_rows_shown(tree, users, client, tmp_path):
    rng = random.Random(SEED)
    for n in range(CASES):
        person = _ledger(rng, tree, users, n)
        figures = _check_page(client, person)
        _check_certificate(client, person, tmp_path, figures)


def test_a_task_done_in_no_time_is_listed_where_it_is_counted(tree, users, client):
    """The demo's case: a task checked in and completed in the same minute."""
    rng = random.Random(SEED)
    person = make_user("zero")
    _shift_credit(rng, tree, make_duty(tree, title="楼道清理"), person, users.secretary)
    start = _at(rng)
    request = ServiceRequest.objects.create(
        title="微心愿：给孩子买一套课外书", category=ServiceRequest.Category.OTHER,
        grid=tree.grid3a, branch=tree.branch_a, window_start=start,
        window_end=start + dt.timedelta(hours=2), status=ServiceRequest.Status.COMPLETED,
    )  # fmt: skip
    offer = Offer.objects.create(
        request=request, user=person, status=Offer.Status.COMPLETED, expires_at=start,
        started_at=start, finished_at=start,
    )  # fmt: skip
    task_credit_post(offer=offer)
    services, _hours = _check_page(client, person)
    assert services == 2
    html = client.get(reverse("my_service"), {"year": YEAR}).content.decode()
    assert "微心愿：给孩子买一套课外书" in html and "派单任务" in html


@pytest.mark.parametrize(
    "served, credited",
    [(0, 0), (2, 0), (3, 6), (5, 6), (45, 48), (110, 108), (112, 114), (117, 120), (480, 480)],
)
def test_time_is_credited_to_the_nearest_tenth_of_an_hour(served, credited):
    assert ledger_minutes(served) == credited
