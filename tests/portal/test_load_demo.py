"""The demo data commands: the small demo loads right, is idempotent, leaves a sane
Wagtail tree, stores private values encrypted, and keeps opted-out members off
public pages; the seed-scale plan has the district's exact grid counts."""

import random
import re
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Page, Site

from branches import demo, demo_plan
from branches.models import (
    BuildingGroupPage,
    CentralHousehold,
    DistrictPage,
    GridBranchPage,
    GridPage,
    Household,
    HouseholdVisit,
    Member,
    Resident,
)
from portal.crypto import keyed_hash
from portal.models import Role, RoleAssignment, UserPhone
from portal.validators import validate_id_number, validate_mobile


def load(**kwargs) -> str:
    out = StringIO()
    call_command("load_demo", stdout=out, **kwargs)
    return out.getvalue()


def counts() -> dict:
    models = [
        Page,
        GridPage,
        GridBranchPage,
        BuildingGroupPage,
        Household,
        Resident,
        Member,
        CentralHousehold,
        HouseholdVisit,
        RoleAssignment,
        get_user_model(),
        UserPhone,
    ]
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture
def small_demo(db):
    return load()


def test_small_demo_tree(small_demo):
    expected = demo_plan.plan_counts(demo_plan.grid_plan(demo_plan.SMALL, random.Random(1)))
    for level, n in expected.items():
        assert GridPage.objects.filter(level=level).count() == n
    assert expected[GridPage.Level.FIRST] == 2
    district = DistrictPage.objects.get()
    site = Site.objects.get(is_default_site=True)
    assert site.root_page_id == district.pk
    assert not Page.objects.filter(depth=2).exclude(pk=district.pk).exists()  # welcome page gone
    # Only the demo's scheduled notice waits to go live (tomorrow).
    waiting = Page.objects.filter(live=False).specific()
    assert [p.title for p in waiting] == ["下月主题党日活动安排"]
    assert waiting[0].go_live_at > timezone.now()

    level3 = GridPage.objects.filter(level=GridPage.Level.THIRD)
    assert GridBranchPage.objects.count() == level3.count()
    for grid in level3:
        assert GridBranchPage.objects.child_of(grid).count() == 1
    for branch in GridBranchPage.objects.all():
        assert 2 <= BuildingGroupPage.objects.child_of(branch).count() <= 3
    dedicated = GridPage.objects.filter(level=GridPage.Level.DEDICATED)
    assert set(dedicated.values_list("dedicated_kind", flat=True)) == {"school", "market"}
    for grid in GridPage.objects.exclude(level=GridPage.Level.DEDICATED):
        assert grid.dedicated_kind == ""
        grid.full_clean()  # the model's own level rules hold

    assert 50 <= Member.objects.count() <= 80
    assert Member.objects.filter(public_badge=True).exclude(badge_title="").exists()
    ch = CentralHousehold.objects.first()
    assert 10 <= ch.contact_households.count() <= 15
    assert HouseholdVisit.objects.exists()
    assert Household.objects.filter(care_tags__name="独居老人").exists()


def test_pages_have_sane_tree_and_revisions(small_demo):
    assert Page.find_problems() == ([], [], [], [], [])
    for page in Page.objects.filter(depth__gt=1, live=True):
        assert page.live_revision_id and page.latest_revision_id == page.live_revision_id
        assert page.url_path == page.get_parent().url_path + page.slug + "/"
    branch = GridBranchPage.objects.order_by("path").first()
    assert branch.get_latest_revision_as_object().title == branch.title


def test_demo_accounts_and_roles(small_demo):
    User = get_user_model()
    expected = {
        "district": Role.DISTRICT_ADMIN,
        "coordinator": Role.GRID_COORDINATOR,
        "secretary": Role.BRANCH_SECRETARY,
        "leader": Role.GROUP_LEADER,
        "centralhead": Role.CENTRAL_HOUSEHOLD_HEAD,
        "member": Role.MEMBER,
        "volunteer": Role.VOLUNTEER,
        "partner": Role.PARTNER_CONTACT,
    }
    for username, role in expected.items():
        user = User.objects.get(username=username)
        assert user.check_password(demo.DEMO_PASSWORD)
        assert RoleAssignment.objects.filter(user=user, role=role).exists(), username
    coordinator = RoleAssignment.objects.get(user__username="coordinator")
    assert coordinator.page.specific.level == GridPage.Level.SECOND
    secretary = RoleAssignment.objects.get(user__username="secretary")
    assert secretary.page.pk == GridBranchPage.objects.order_by("path").first().pk
    leader = RoleAssignment.objects.get(user__username="leader")
    assert leader.page.get_parent().pk == secretary.page.pk
    assert RoleAssignment.objects.get(user__username="volunteer").page is None
    assert RoleAssignment.objects.get(user__username="partner").page is None

    head = User.objects.get(username="centralhead")
    assert CentralHousehold.objects.filter(member__user=head).exists()
    member_user = User.objects.get(username="member")
    phone = UserPhone.objects.get(user=member_user)
    assert phone.verified and phone.phone == member_user.member.phone

    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import validate_totp_code

    for username in ("district", "coordinator", "secretary"):
        assert Authenticator.objects.filter(user__username=username, type="totp").exists()
        assert Authenticator.objects.filter(user__username=username, type="recovery_codes").exists()
    assert not Authenticator.objects.filter(user__username="member").exists()

    out = StringIO()
    call_command("demo_totp", "secretary", stdout=out, stderr=StringIO())
    code = out.getvalue().strip()
    assert re.fullmatch(r"\d{6}", code)
    assert validate_totp_code(demo.DEMO_TOTP_SECRET, code)
    with pytest.raises(CommandError):
        call_command("demo_totp", "member", stdout=StringIO(), stderr=StringIO())


def test_second_run_changes_nothing(small_demo):
    before = counts()
    output = load()
    assert "already loaded" in output
    assert "secretary" in output and demo.DEMO_PASSWORD in output
    assert counts() == before


def test_other_scale_is_refused(small_demo):
    with pytest.raises(CommandError, match="already loaded"):
        load(scale="seed")


def test_private_fields_encrypted_and_hashed(small_demo):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, id_number, phone, id_number_hash FROM branches_member")
        raw = {row[0]: row[1:] for row in cursor.fetchall()}
    for member in Member.objects.all():
        raw_id, raw_phone, raw_hash = raw[member.pk]
        validate_id_number(member.id_number)
        validate_mobile(member.phone)
        assert raw_id != member.id_number and raw_id.startswith("gAAAA")
        assert raw_phone != member.phone and member.phone not in raw_phone
        assert raw_hash == keyed_hash(member.id_number)
        assert member.phone_hash == keyed_hash(member.phone)
    for household in Household.objects.all()[:50]:
        assert household.address.startswith(demo_plan.DISTRICT_TITLE)
        assert household.address_hash == keyed_hash(household.address)
    ids = list(Resident.objects.exclude(id_number="").values_list("id_number_hash", flat=True))
    assert all(ids)
    member_ids = list(Member.objects.values_list("id_number_hash", flat=True))
    assert len(set(member_ids)) == len(member_ids)


def test_opted_out_members_stay_off_public_pages(small_demo, client):
    for branch in GridBranchPage.objects.all():
        response = client.get(branch.url)
        assert response.status_code == 200
        html = response.content.decode()
        shown = list(Member.objects.filter(branch=branch, public_badge=True))
        for member in shown[:5]:
            assert member.name in html
        shown_names = [m.name for m in shown]
        for member in Member.objects.filter(branch=branch, public_badge=False):
            if any(member.name in name for name in shown_names):
                continue  # a shorter name inside a badge holder's name
            assert member.name not in html
            assert member.phone not in html and member.id_number not in html


def test_seed_plan_has_the_districts_grid_counts():
    plans = [demo_plan.grid_plan(demo_plan.SEED, random.Random(seed)) for seed in (1, 1, 2)]
    for plan in plans:
        assert demo_plan.plan_counts(plan) == {
            "1": 8,
            "2": 104,
            "3": 685,
            "micro": 2009,
            "dedicated": 125,
        }
        by_index = {g.index: g for g in plan}
        allowed = {k: set(v) for k, v in GridPage.ALLOWED_PARENT_LEVELS.items()}
        for g in plan:
            parent_level = by_index[g.parent].level if g.parent is not None else None
            assert parent_level in allowed[g.level]
            assert bool(g.kind) == (g.level == "dedicated")
        # every non-micro tree level has children: no empty grid at levels 1 and 2
        parents = {g.parent for g in plan}
        assert all(g.index in parents for g in plan if g.level in ("1", "2"))
        assert len({g.code for g in plan}) == len(plan)
        assert {
            by_index[g.parent].level if g.parent is not None else None
            for g in plan
            if g.level == "dedicated"
        } >= {None, "1", "2", "3", "micro"}
    assert [(g.code, g.title) for g in plans[0]] == [(g.code, g.title) for g in plans[1]]
    assert [(g.code, g.title) for g in plans[0]] != [(g.code, g.title) for g in plans[2]]


def test_seed_scale_splits_buildings_exactly():
    groups = demo_plan.split(demo_plan.SEED.groups_total, demo_plan.SEED.level3, random.Random(1))
    assert sum(groups) == demo_plan.SEED.groups_total and min(groups) >= 1


def test_generator_at_a_tiny_seed_like_scale(db):
    """The seed path (a total of groups spread over branches, one building per group,
    no family residents) at a tiny size."""
    tiny = demo_plan.Scale(
        name="tiny",
        level1=2,
        level2=3,
        level3=4,
        micro=5,
        dedicated=3,
        groups_total=6,
        households_per_building=(13, 20),
        members_per_group=(3, 5),
        family_residents=False,
        central_household_share=1.0,
    )
    result = demo.load(tiny, seed=3)
    assert result.counts["grids level micro"] == 5
    assert GridPage.objects.filter(level="dedicated").count() == 3
    assert BuildingGroupPage.objects.count() == 6
    assert Resident.objects.count() == Household.objects.count()
    assert Page.find_problems() == ([], [], [], [], [])


def test_demo_publications_and_meetings(small_demo):
    from branches.models import Attendance, Meeting, MeetingKind
    from portal.publishing import NoticeBoardPage, NoticePage, PublicationPage

    board = NoticeBoardPage.objects.get()
    assert board.get_workflow() is not None
    assert NoticePage.objects.child_of(board).live().filter(requires_receipt=True).exists()
    assert PublicationPage.objects.live().count() == 5
    branch = GridBranchPage.objects.order_by("path").first()
    kinds = set(Meeting.objects.filter(branch=branch).values_list("kind", flat=True))
    assert kinds == set(MeetingKind.values)
    past = Meeting.objects.filter(branch=branch, starts_at__lt=timezone.now())
    assert past.exists()
    assert not Attendance.objects.filter(meeting__in=past, status="invited").exists()


# --- The example import files, the open offer and the summary ------------------------------

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("members", "members-example.xlsx"),
        ("members", "members-example.csv"),
        ("households", "households-example.csv"),
        ("requests", "requests.xlsx"),
    ],
)
def test_example_import_files_import_into_the_demo(small_demo, kind, name):
    """docs/import/ names the demo's branches, groups, buildings and grid: the demo
    secretary's dry run of each example reports no error."""
    from branches.household_import import household_import
    from branches.member_import import member_import
    from portal.imports.reading import import_table_read
    from volunteers.dispatch.request_import import request_import

    importer = {"members": member_import, "households": household_import}.get(kind, request_import)
    table = import_table_read(
        kind=kind, filename=name, data=(REPO / "docs/import" / name).read_bytes()
    )
    secretary = get_user_model().objects.get(username="secretary")

    result = importer(rows=table.rows, user=secretary, dry_run=True, source=name)

    assert [(e.row, e.column, e.code) for e in result.errors] == []
    assert result.total == 2


def test_the_open_offer_is_still_open_hours_after_loading(small_demo, client):
    """The demo member's offer (楼道堆物清理) gives a day to answer: opened eight
    hours after the load, "我的任务" still offers it and accepting works."""
    from volunteers.models import Offer

    member = get_user_model().objects.get(username="member")
    offer = Offer.objects.get(user=member, status=Offer.Status.OFFERED)
    assert offer.request.title == "楼道堆物清理"
    with time_machine.travel(timezone.now() + timedelta(hours=8)):
        assert offer.expires_at > timezone.now()
        client.force_login(member)
        page = client.get(reverse("my_tasks")).content.decode()
        assert "楼道堆物清理" in page
        from volunteers.dispatch.task_services import offer_accept

        assert offer_accept(offer=offer, user=member).status == Offer.Status.ACCEPTED


# Commits for real, so that the notifications are delivered.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_load_prints_a_short_summary_and_no_emails(settings, capsys):
    """With the console email backend (the development default), loading prints
    the counts and the demo accounts, not the notifications' emails; the
    notifications are in the demo accounts' inboxes."""
    from portal.models import InboxMessage

    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    output = load()

    printed = capsys.readouterr().out
    assert "MIME-Version" not in printed + output
    assert "Subject:" not in printed + output
    lines = output.splitlines()
    assert len(lines) < 40
    assert any(line.split()[:1] == ["members"] for line in lines)
    assert "search index documents" in output
    assert "secretary" in output and demo.DEMO_PASSWORD in output
    assert InboxMessage.objects.filter(user__username="member").exists()
