"""Alliance minutes and follow-up: the printed minutes of a long meeting, and the
follow-up board with 200 action items, at seed scale.

    .venv/bin/python bench/alliance.py [--runs 20] [--pdf-runs 10] [--fresh]

Works on its own copy of the seed-scale SQLite database
($BENCH_ALLIANCE_DB, default /tmp/tongxin-alliance.sqlite3, copied from $BENCH_DB
— built with ``load_demo --scale seed`` when missing — and migrated, so the
alliance tables exist and other benchmarks' files are left alone; ``--fresh``
copies it again). Each run adds its own alliance, partners, meeting and items,
named ``bench-<run>``. Writes bench/results/alliance.txt.
"""

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, RESULTS, ROOT, ensure_seed_db, env_for, machine, percentile  # noqa: E402

DEFAULT_DB = "/tmp/tongxin-alliance.sqlite3"
AGENDA_ITEMS = 20
ACTIONS_PER_ITEM = 2
BOARD_ITEMS = 200  # 50 in each group: overdue, due soon, open, done
# Discussion text per agenda item: enough for a 20-item meeting to print ~20 pages.
DISCUSSION_SENTENCES = 30


def bench_db(fresh: bool) -> tuple[str, str]:
    seed, _built = ensure_seed_db()
    path = os.environ.get("BENCH_ALLIANCE_DB", DEFAULT_DB)
    note = "reused"
    if fresh or not Path(path).exists():
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        shutil.copyfile(seed, path)
        note = f"copied from {seed}"
    start = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env_for(path), check=True)
    return path, f"{path} ({note}; migrate {time.perf_counter() - start:.1f} s)"


def setup_django(path: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
            "DATABASE_URL": f"sqlite:///{path}",
            # The set-up publishes minutes, which tells people by email.
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def make_meeting(run: str):
    """An alliance of the demo secretary's branch with five partners, a held
    meeting of 20 agenda items, its minutes drafted and published with 40 action
    items, and 160 more live items: 50 overdue, 50 due within a week, 50 open
    and 50 done in the last month for the board."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from alliance.minutes import services as svc
    from alliance.models import (
        ActionItem,
        AgendaItem,
        Alliance,
        Invitation,
        JointMeeting,
        Partner,
        PartnerContact,
    )
    from portal.models import Role, RoleAssignment
    from portal.services import role_assign

    User = get_user_model()
    secretary = User.objects.get(username="secretary")
    branch = (
        RoleAssignment.objects.filter(user=secretary, role=Role.BRANCH_SECRETARY)
        .select_related("page")
        .first()
        .page.specific
    )
    now = timezone.now()
    partners = []
    for n in range(5):
        partner = Partner.objects.create(name=f"bench-{run}-共建单位{n + 1}", kind="enterprise")
        contact = User.objects.create_user(username=f"bench-{run}-contact{n + 1}")
        role_assign(user=contact, role=Role.PARTNER_CONTACT)
        PartnerContact.objects.create(partner=partner, user=contact, name=f"联络人{n + 1}")
        partners.append((partner, contact))
    alliance = Alliance.objects.create(name=f"bench-{run}-党建联盟", unit=branch)
    alliance.branches.add(branch)
    alliance.partners.add(*(p for p, _c in partners))
    meeting = JointMeeting.objects.create(
        alliance=alliance,
        title=f"bench-{run} 年度联席会议",
        starts_at=now - dt.timedelta(hours=3),
        ends_at=now - dt.timedelta(hours=1),
        place="社区党群服务中心三楼会议室",
        convener=secretary,
        proposals_until=now - dt.timedelta(days=3),
        status=JointMeeting.Status.HELD,
    )
    for k, (partner, contact) in enumerate(partners):
        Invitation.objects.create(
            meeting=meeting,
            user=contact,
            partner=partner,
            response=Invitation.Response.DEPUTY if k == 4 else Invitation.Response.ATTEND,
            deputy_name="王副经理" if k == 4 else "",
        )
    items = [
        AgendaItem.objects.create(
            meeting=meeting,
            title=f"议题{n + 1}：共建项目推进情况与下一步工作安排",
            position=n,
            proposer_partner=partners[n % 5][0],
            background="各共建单位按照年初签订的共建协议推进各项工作。",
        )
        for n in range(AGENDA_ITEMS)
    ]
    sentence = (
        "与会单位围绕议题进行了深入讨论，结合辖区实际提出了具体措施，明确了责任分工和时间节点。"
    )
    today = timezone.localdate()
    minutes = svc.minutes_start(meeting=meeting, by=secretary)
    svc.minutes_save(
        minutes=minutes,
        by=secretary,
        summary="会议传达学习了上级文件精神，听取了各共建单位工作汇报，研究部署了下一阶段重点工作。",
        entries={
            item.pk: {
                "discussion": sentence * DISCUSSION_SENTENCES,
                "resolutions": "\n".join(
                    f"决议{k + 1}：按计划推进并按月报告进展。" for k in range(4)
                ),
            }
            for item in items
        },
        actions=[
            {
                "agenda_item": item.pk,
                "title": f"{item.title[:4]}督办事项{k + 1}",
                "owner_partner": partners[(i + k) % 5][0].pk,
                "owner": partners[(i + k) % 5][1].pk,
                "due_on": today + dt.timedelta(days=30 + i),
                "expected_result": "形成工作台账并按月报送进展",
            }
            for i, item in enumerate(items)
            for k in range(ACTIONS_PER_ITEM)
        ],
    )
    svc.minutes_circulate(minutes=minutes, by=secretary)
    svc.minutes_approve(minutes=minutes, by=secretary)
    svc.minutes_publish(minutes=minutes, by=secretary)

    # The 40 items of the minutes are "open" (due in 30+ days); add the rest.
    extra = BOARD_ITEMS - AGENDA_ITEMS * ACTIONS_PER_ITEM
    rows = []
    # 50 overdue, 50 due within a week, 50 done; the rest open with the minutes' 40.
    groups = [0] * 50 + [1] * 50 + [3] * 50 + [2] * (extra - 150)
    for n, group in enumerate(groups):
        partner, contact = partners[n % 5]
        due = {
            0: today - dt.timedelta(days=1 + n % 20),  # overdue
            1: today + dt.timedelta(days=n % 7),  # due soon
            2: today + dt.timedelta(days=10 + n % 20),  # open
            3: today - dt.timedelta(days=n % 20),  # done
        }[group]
        rows.append(
            ActionItem(
                meeting=meeting,
                agenda_item=items[n % AGENDA_ITEMS],
                title=f"bench 督办事项 {n + 1:03d}",
                owner_partner=partner,
                owner=contact,
                due_on=due,
                expected_result="按期完成",
                status=ActionItem.Status.DONE if group == 3 else ActionItem.Status.OPEN,
                done_at=now - dt.timedelta(days=n % 20) if group == 3 else None,
            )
        )
    ActionItem.objects.bulk_create(rows)
    return secretary, meeting, minutes


def time_calls(fn, runs):
    fn()  # warm-up (fonts, templates)
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def pdf_benchmark(minutes, runs):
    from reportlab.platypus import Paragraph

    from alliance.meetings.pdf import agenda_pdf
    from alliance.minutes.pdf import minutes_pdf
    from alliance.minutes.versions import minutes_verify_url
    from portal.pdf import render, styles

    url = minutes_verify_url(minutes)
    rows = []
    times, pdf = time_calls(lambda: minutes_pdf(minutes, url), runs)
    Path("/tmp/bench-minutes.pdf").write_bytes(pdf)
    rows.append(("minutes_pdf, 20 agenda items, 40 action items", times, pdf))
    times, agenda = time_calls(lambda: agenda_pdf(minutes.meeting), runs)
    Path("/tmp/bench-agenda.pdf").write_bytes(agenda)
    rows.append(("agenda_pdf, 20 agenda items", times, agenda))
    times, base = time_calls(
        lambda: render([Paragraph("同心 基准", styles()["body"])], title="基准"), runs
    )
    rows.append(("baseline: portal.pdf.render of one paragraph", times, base))
    return rows


def pages_of(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")


def measure(client, url, runs, warmup=3):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - start)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    return times, len(ctx.captured_queries), response


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20, help="requests per page")
    parser.add_argument("--pdf-runs", type=int, default=10, help="renders per document")
    parser.add_argument("--fresh", action="store_true", help="copy the seed database again")
    args = parser.parse_args()
    path, db_note = bench_db(args.fresh)
    setup_django(path)

    from django.test import Client
    from django.utils import translation

    run = time.strftime("%Y%m%d%H%M%S")
    translation.activate("zh-hans")
    start = time.perf_counter()
    secretary, meeting, minutes = make_meeting(run)
    setup_s = time.perf_counter() - start

    pdf_rows = pdf_benchmark(minutes, args.pdf_runs)

    client = Client(HTTP_HOST="localhost")
    client.force_login(secretary)
    board_url = f"/alliance/followup/?alliance={meeting.alliance_id}"
    pages = [
        ("follow-up board, 200 items (50 per group)", board_url),
        ("follow-up board, all alliances", "/alliance/followup/"),
        ("minutes page (published, 20 items)", f"/alliance/meetings/{meeting.pk}/minutes/"),
        ("baseline: /me/inbox/ (trivial page)", "/me/inbox/"),
    ]
    results = []
    for label, url in pages:
        times, queries, response = measure(client, url, args.runs)
        body = response.content.decode()
        results.append(
            (label, times, queries, len(response.content), body.count('data-testid="board-item"'))
        )
    base = statistics.median(results[-1][1])

    lines = [
        "# bench/alliance.py — minutes PDF and follow-up board",
        "",
        f"date: {time.strftime('%Y-%m-%d %H:%M')}; {machine()}",
        f"database: {db_note}",
        f"set-up of run bench-{run}: {setup_s:.1f} s (alliance, 5 partners, meeting, "
        f"{AGENDA_ITEMS} agenda items, minutes drafted → circulated → approved → published "
        f"with {AGENDA_ITEMS * ACTIONS_PER_ITEM} action items, +"
        f"{BOARD_ITEMS - AGENDA_ITEMS * ACTIONS_PER_ITEM} live items)",
        "",
        f"## PDFs (zh-hans, {args.pdf_runs} renders after one warm-up)",
        "",
        f"{'document':52} {'pages':>5} {'KiB':>7} {'median ms':>10} {'p95 ms':>8} {'ratio':>6}",
    ]
    pdf_base = statistics.median(pdf_rows[-1][1])
    for label, times, pdf in pdf_rows:
        median = statistics.median(times)
        lines.append(
            f"{label:52} {pages_of(pdf):5d} {len(pdf) / 1024:7.0f} {median * 1000:10.1f} "
            f"{percentile(times, 95) * 1000:8.1f} {median / pdf_base:6.1f}"
        )
    lines += [
        "",
        "The PDFs are left in /tmp/bench-minutes.pdf and /tmp/bench-agenda.pdf to look at.",
        "",
        f"## Pages (django.test.Client as the demo secretary, {args.runs} requests after 3 warm-up)",
        "",
        f"{'page':44} {'items':>5} {'queries':>7} {'KiB':>6} {'median ms':>10} {'p95 ms':>8} "
        f"{'ratio':>6}",
    ]
    for label, times, queries, size, items in results:
        median = statistics.median(times)
        lines.append(
            f"{label:44} {items:5d} {queries:7d} {size / 1024:6.0f} {median * 1000:10.1f} "
            f"{percentile(times, 95) * 1000:8.1f} {median / base:6.1f}"
        )
    lines += [
        "",
        "ratio: median divided by the baseline's median in the same run. The board lists",
        "at most 50 items per group and page whatever the data; its query count is fixed.",
    ]
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "alliance.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
