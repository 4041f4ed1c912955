"""What the load test's journeys need in the seed database, prepared before each
run (``loadtest/run.py`` calls it with the run's environment):

- accounts, made once and reused: ``lt-member-NNN`` linked to members of the
  demo's first branch (as people who signed up and were linked), and
  ``lt-secretary-NN``, secretaries of the next branches with their own TOTP
  secret — so that concurrent users are different people (a TOTP code can be
  used once, a sign-up is one per person and shift), beside the demo accounts;
- for this run: a duty of the first branch with shifts under way (check-in is
  open) and shifts in the coming days, residents' requests offered to the
  load-test members, two held joint meetings of the demo alliance (minutes in
  draft for the staff to edit, minutes circulated for the partner to comment
  on) and an upcoming one to answer. Earlier runs' open shifts and requests are
  called off first (their sign-ups and tasks would clash with this run's).

Everything goes through the models and services the portal uses (signals,
search index tasks and notifications included). Writes ``fixtures.json``
(accounts with their passwords and TOTP secrets, ids of what was made): keep it
with the keys, in loadtest/.state/.

    python loadtest/fixtures.py <fixtures.json>
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 24
SECRETARIES = 6
TITLE = "压测"  # every run's records start with it (and the run's id)
NOW_SHIFTS = 4
NOW_SHIFT_PLACES = 8
LATER_SHIFTS = 8
LATER_SHIFT_PLACES = 4
REQUESTS = 8
OFFERS_PER_REQUEST = 6


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _totp_secret(user) -> str | None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import decrypt

    found = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    return decrypt(found.data["secret"]) if found else None


def _ensure_totp(user) -> str:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from allauth.mfa.utils import encrypt

    secret = _totp_secret(user)
    if secret is None:
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
        Authenticator.objects.create(
            user=user,
            type=Authenticator.Type.RECOVERY_CODES,
            data={"seed": encrypt(os.urandom(40).hex()), "used_mask": 0},
        )
    return secret


def accounts(*, branch, password: str) -> dict:
    """The load-test accounts (made on the first run) and the demo accounts."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from branches.demo import DEMO_PASSWORD, MFA_DEMO_USERS
    from branches.models import GridBranchPage, Member, PartyPost
    from portal.models import Role
    from portal.services import role_assign

    User = get_user_model()
    hashed = make_password(password)

    members = []
    free = iter(Member.objects.filter(branch=branch, user__isnull=True).order_by("id"))
    for i in range(1, MEMBERS + 1):
        username = f"lt-member-{i:03d}"
        user = User.objects.filter(username=username).first()
        if user is None:
            member = next(free, None)
            last, first = (member.name[0], member.name[1:]) if member else ("压测", f"志愿者{i}")
            user = User.objects.create(
                username=username, password=hashed, last_name=last, first_name=first,
                email=f"{username}@loadtest.tongxin.invalid",
            )  # fmt: skip
            if member is not None:
                member.user = user
                member.save(update_fields=["user"])
                role_assign(user=user, role=Role.MEMBER, page=branch)
            else:
                role_assign(user=user, role=Role.VOLUNTEER)
        members.append(user)

    secretaries = []
    others = GridBranchPage.objects.live().exclude(pk=branch.pk).order_by("path")
    for i, other in enumerate(others[:SECRETARIES], start=1):
        username = f"lt-secretary-{i:02d}"
        user = User.objects.filter(username=username).first()
        if user is None:
            member = Member.objects.filter(
                branch=other, user__isnull=True, party_posts__contains=[PartyPost.SECRETARY]
            ).first()
            user = User.objects.create(
                username=username, password=hashed,
                last_name=member.name[0] if member else "压测",
                first_name=member.name[1:] if member else f"书记{i}",
                email=f"{username}@loadtest.tongxin.invalid",
            )  # fmt: skip
            if member is not None:
                member.user = user
                member.save(update_fields=["user"])
            role_assign(user=user, role=Role.BRANCH_SECRETARY, page=other)
        secretaries.append((user, _ensure_totp(user)))

    demo = {u.username: u for u in User.objects.filter(username__in=[
        "district", "coordinator", "secretary", "leader", "centralhead", "member", "volunteer",
        "gridworker", "partner",
    ])}  # fmt: skip

    def entry(user, secret=None, role=""):
        return {"username": user.username, "password": password if user.username.startswith("lt-")
                else DEMO_PASSWORD, "totp": secret, "role": role}  # fmt: skip

    demo_secret = {name: _totp_secret(demo[name]) for name in MFA_DEMO_USERS if name in demo}
    return {
        "members": [entry(u, role="member") for u in members]
        + [entry(demo[n], role=n) for n in ("member", "volunteer", "leader", "centralhead")],
        "staff": _interleave(
            [entry(demo[n], demo_secret[n], n) for n in ("secretary", "coordinator", "district")],
            [entry(u, s, "lt-secretary") for u, s in secretaries],
        ),
        "gridworkers": [entry(demo["gridworker"], role="gridworker")],
        "partners": [entry(demo["partner"], role="partner")],
        "minutes_staff": ["secretary", "coordinator", "district"],
    }


def _interleave(first: list, second: list) -> list:
    """first[0], second[0], first[1], second[1], …: the few staff users of a run
    include the demo staff, who run the first branch (minutes, code screen)."""
    out = []
    for i in range(max(len(first), len(second))):
        out += first[i : i + 1] + second[i : i + 1]
    return out


def close_earlier_runs(*, gridworker) -> str:
    """Call off what earlier runs left open: their shifts still to end (and the
    sign-ups on them) and their open requests (withdrawing the tasks taken)."""
    from django.utils import timezone

    from volunteers.dispatch.services import request_cancel
    from volunteers.models import ServiceRequest, Shift, SignUp

    now = timezone.now()
    shifts = list(
        Shift.objects.filter(duty__title__startswith=TITLE, ends_at__gt=now, cancelled=False)
    )
    for shift in shifts:
        shift.cancelled = True
        shift.save(update_fields=["cancelled"])
        for signup in SignUp.objects.filter(shift=shift, status__in=SignUp.ACTIVE):
            signup.status = SignUp.Status.CANCELLED
            signup.save(update_fields=["status", "changed_at"])
    requests = list(
        ServiceRequest.objects.filter(title__startswith=TITLE, status__in=ServiceRequest.OPEN)
    )
    for sr in requests:
        request_cancel(request=sr, by=gridworker, reason="压测结束")
    return f"closed {len(shifts)} shifts and {len(requests)} requests of earlier runs"


def duty_and_shifts(*, run: str, branch, secretary, now) -> dict:
    """A duty anyone may sign up for: shifts that started 10 minutes ago (check-in
    open, sign-up open for two more hours) and shifts in the coming days."""
    from volunteers.models import Duty, Shift

    duty = Duty.objects.create(
        branch=branch, kind=Duty.Kind.ACTIVITY, title=f"{TITLE}志愿服务 {run}",
        place="社区党群服务中心", eligibility=Duty.Eligibility.VOLUNTEERS,
        description="负载测试用岗位。", created_by=secretary,
    )  # fmt: skip
    now_ids, later_ids = [], []
    start = now - dt.timedelta(minutes=10)
    for _ in range(NOW_SHIFTS):
        shift = Shift.objects.create(
            duty=duty, starts_at=start, ends_at=start + dt.timedelta(hours=3),
            capacity=NOW_SHIFT_PLACES, minimum=1, signup_deadline=now + dt.timedelta(hours=2),
        )  # fmt: skip
        now_ids.append(shift.pk)
    for day in range(LATER_SHIFTS):
        begins = (now + dt.timedelta(days=3 + day)).replace(minute=0, second=0, microsecond=0)
        begins = begins.replace(
            hour=(begins.hour % 12) + 1
        )  # 01:00–12:00 UTC, day time in Shanghai
        shift = Shift.objects.create(
            duty=duty, starts_at=begins, ends_at=begins + dt.timedelta(hours=2),
            capacity=LATER_SHIFT_PLACES, minimum=1,
            cancel_deadline=begins - dt.timedelta(hours=12),
        )  # fmt: skip
        later_ids.append(shift.pk)
    return {"duty": duty.pk, "now_shifts": now_ids, "later_shifts": later_ids}


def requests_and_offers(*, run: str, grid, gridworker, members, now) -> list[int]:
    """Residents' requests in the first branch's grid, each offered to a few of
    the load-test members (two places each: the first acceptances take them)."""
    from volunteers.dispatch.services import offers_send, request_create
    from volunteers.models import ServiceRequest

    made = []
    day = (now + dt.timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    for i in range(REQUESTS):
        start = day + dt.timedelta(hours=3 * i)
        sr = request_create(
            by=gridworker, grid=grid, title=f"{TITLE}：帮独居老人代购 {run}-{i + 1}",
            category=ServiceRequest.Category.ELDERLY, window_start=start,
            window_end=start + dt.timedelta(hours=2), address=f"晓园新村{i + 1}号楼1单元101",
            requester_name="居民", people_needed=2, offer_minutes=24 * 60,
        )  # fmt: skip
        chosen = [members[(i * 3 + k) % len(members)] for k in range(OFFERS_PER_REQUEST)]
        offers_send(request=sr, users=chosen, by=gridworker)
        made.append(sr.pk)
    return made


def meetings(*, run: str, branch, secretary, partner_user, now) -> dict:
    """Two held joint meetings of the demo alliance — minutes in draft (the staff
    edit them) and minutes circulated (the partner, an attendee, comments) — and
    an upcoming one the partner is invited to."""
    from alliance.meetings.services import meeting_convene
    from alliance.minutes.services import minutes_circulate, minutes_save, minutes_start
    from alliance.models import AgendaItem, Alliance, Invitation, JointMeeting, PartnerContact

    alliance = Alliance.objects.filter(branches=branch).order_by("id").first()
    school = PartnerContact.objects.get(user=partner_user).partner
    made = {}
    for key, days in (("draft_meeting", 2), ("circulated_meeting", 3)):
        start = now - dt.timedelta(days=days)
        meeting = JointMeeting.objects.create(
            alliance=alliance, title=f"{TITLE}联席会议 {run} {key}", starts_at=start,
            ends_at=start + dt.timedelta(hours=2), place="社区党群服务中心会议室",
            convener=secretary, proposals_until=start - dt.timedelta(days=1),
            status=JointMeeting.Status.HELD,
        )  # fmt: skip
        Invitation.objects.create(
            meeting=meeting, user=partner_user, partner=school, response="attend",
            signed_in_at=start,
        )  # fmt: skip
        items = [
            AgendaItem.objects.create(meeting=meeting, title=title, position=n)
            for n, title in enumerate(["校园周边交通安全", "四点半课堂师资", "老旧小区加装电梯"], 1)
        ]
        minutes = minutes_start(meeting=meeting, by=secretary)
        minutes_save(
            minutes=minutes, by=secretary, summary="会议由支部书记主持，共建单位参加。",
            entries={item.pk: {"discussion": "各方交流了情况。", "resolutions": "形成共识"}
                     for item in items},
        )  # fmt: skip
        if key == "circulated_meeting":
            minutes_circulate(minutes=minutes, by=secretary)
        made[key] = meeting.pk
    upcoming = (now + dt.timedelta(days=10)).replace(second=0, microsecond=0)
    meeting = meeting_convene(
        alliance=alliance, by=secretary, title=f"{TITLE}联席会议 {run} upcoming",
        starts_at=upcoming, ends_at=upcoming + dt.timedelta(hours=2), place="社区党群服务中心",
        proposals_until=upcoming - dt.timedelta(days=1), quorum=1, partners=[school],
    )  # fmt: skip
    made["upcoming_meeting"] = meeting.pk
    return made


def main() -> None:
    out = Path(sys.argv[1])
    setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from branches.demo import DEMO_PASSWORD
    from branches.models import Member
    from portal.models import Role, RoleAssignment

    started = time.perf_counter()
    now = timezone.now().replace(microsecond=0)
    run = timezone.localtime(now).strftime("%m%d-%H%M%S")
    User = get_user_model()
    secretary = User.objects.get(username="secretary")
    gridworker = User.objects.get(username="gridworker")
    partner_user = User.objects.get(username="partner")
    branch = RoleAssignment.objects.get(user=secretary, role=Role.BRANCH_SECRETARY).page.specific
    grid = branch.get_parent().specific

    # The private fields must read with this run's keys (the database and the keys
    # file belong together).
    try:
        [m.phone for m in Member.objects.filter(branch=branch)[:5]]
    except Exception as error:
        raise SystemExit(
            f"The database's private fields do not decrypt with loadtest/.state/keys.env "
            f"({error!r}): it was built with other keys. Drop it and run again."
        ) from error

    with transaction.atomic():
        people = accounts(branch=branch, password=DEMO_PASSWORD)
    with transaction.atomic():
        closed = close_earlier_runs(gridworker=gridworker)
    lt_members = list(User.objects.filter(username__startswith="lt-member-").order_by("username"))
    with transaction.atomic():
        shifts = duty_and_shifts(run=run, branch=branch, secretary=secretary, now=now)
    with transaction.atomic():
        requests = requests_and_offers(
            run=run, grid=grid, gridworker=gridworker, members=lt_members, now=now
        )
    with transaction.atomic():
        joint = meetings(
            run=run, branch=branch, secretary=secretary, partner_user=partner_user, now=now
        )
    data = {
        "run": run,
        "branch_url": urlsplit(branch.get_url()).path,
        "branch_id": branch.pk,
        "accounts": people,
        **shifts,
        "requests": requests,
        **joint,
        "summary": (
            f"run {run}: {len(people['members'])} member, {len(people['staff'])} staff "
            f"(TOTP), 1 grid-worker and 1 partner accounts; {NOW_SHIFTS} shifts under way "
            f"({NOW_SHIFT_PLACES} places) and {LATER_SHIFTS} later ({LATER_SHIFT_PLACES} places); "
            f"{REQUESTS} requests offered to {OFFERS_PER_REQUEST} members each (2 places); "
            f"meetings with draft and circulated minutes; {closed} "
            f"({time.perf_counter() - started:.0f} s)"
        ),
    }
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    out.chmod(0o600)
    print(data["summary"])


if __name__ == "__main__":
    main()
