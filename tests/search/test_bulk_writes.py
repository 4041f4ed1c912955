"""Every write path keeps the search index current: imports through the admin
(members, households, service requests), bulk creates and updates, many-to-many
changes, a deleted unit that empties its records' group, an agenda carried into
a later meeting, and data migrations. Each write is followed by what a user
sees: the site search, the admin's "All records" search and ``search_index
status``."""

import io
import re

import pytest
from django.apps import apps as global_apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models.signals import post_migrate, pre_migrate
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Page

from branches.models import CareTag, Household, Member
from search.query import search
from search.tasks import BATCH, index_later
from tests.alliance.test_minutes import _draft, al  # noqa: F401  (al is a fixture)
from tests.branches.test_import import (
    HOUSEHOLD_HEADERS,
    MEMBER_HEADERS,
    household_row,
    id_number,
    member_row,
    to_csv,
)
from tests.factories import make_household, make_member
from volunteers.models import ServiceRequest

IMPORTED = ("欧阳明远", "司马晓雯")


@pytest.fixture(autouse=True)
def staging_storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def rebuild():
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())


def status() -> str:
    out = io.StringIO()
    call_command("search_index", "status", stdout=out)
    return out.getvalue()


def found(user, text, doc_type):
    return {h.object_id for h in search(user=user, text=text, doc_types=(doc_type,)).results.hits}


def plain(html: str) -> str:
    return re.sub(r"</?mark>", "", html)


def site_search(client, text) -> str:
    response = client.get("/search/", {"q": text})
    assert response.status_code == 200
    return plain(response.content.decode())


def admin_search(client, text) -> str:
    response = client.get(reverse("search_admin"), {"q": text})
    assert response.status_code == 200
    return plain(response.content.decode())


def admin_import(client, url, data, name, capture):
    """Upload (the dry run), then confirm, as a secretary does in the admin."""
    upload = io.BytesIO(data)
    upload.name = name
    dry = client.post(url, {"file": upload})
    body = dry.content.decode()
    assert "data-import-confirm" in body, body
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    digest = re.search(r'name="digest" value="([^"]+)"', body).group(1)
    with capture(execute=True):
        done = client.post(url, {"confirm": "1", "token": token, "digest": digest})
    assert done.status_code == 302


# --- Imports through the admin ------------------------------------------------------------


def test_imported_members_are_found_by_the_site_and_admin_search(
    client, tree, users, members, django_capture_on_commit_callbacks
):
    rebuild()
    rows = [
        member_row(姓名=IMPORTED[0], 身份证号=id_number(seq="611"), 手机号="13800138611"),
        member_row(
            姓名=IMPORTED[1], 身份证号=id_number(seq="612"), 手机号="13800138612", 所属党小组=""
        ),
    ]
    client.force_login(users.secretary)

    admin_import(
        client,
        reverse("branches_import", args=["members"]),
        to_csv(rows, MEMBER_HEADERS),
        "党员.csv",
        django_capture_on_commit_callbacks,
    )

    for name in IMPORTED:
        member = Member.objects.get(name=name)
        edit = reverse("members:edit", args=[member.pk])
        # The hit links to the member's record (the query itself is echoed in the form).
        assert edit in site_search(client, name)
        assert edit in admin_search(client, name)
        # The group leader finds only the one imported into their group.
        assert (str(member.pk) in found(users.leader, name, "member")) == bool(
            member.building_group_id
        )
    assert "out of date" not in status()


def test_imported_households_are_found_with_their_care_tags(
    client, tree, users, django_capture_on_commit_callbacks
):
    CareTag.objects.create(name="独居老人")
    rebuild()
    rows = [
        household_row(户主="上官秀英", 单元房号="5单元501", 关怀标签="独居老人"),
        household_row(户主="诸葛建国", 单元房号="5单元502", 联系电话=""),
    ]
    client.force_login(users.secretary)

    admin_import(
        client,
        reverse("branches_import", args=["households"]),
        to_csv(rows, HOUSEHOLD_HEADERS),
        "住户.csv",
        django_capture_on_commit_callbacks,
    )

    for head in ("上官秀英", "诸葛建国"):
        household = Household.objects.get(head_name=head)
        edit = reverse("households:edit", args=[household.pk])
        assert edit in site_search(client, head) and edit in admin_search(client, head)
    alone = Household.objects.get(head_name="上官秀英")
    assert str(alone.pk) in found(users.secretary, "独居老人", "household")
    assert "out of date" not in status()


def test_imported_requests_are_found_by_the_site_search(
    client, tree, users, django_capture_on_commit_callbacks
):
    from openpyxl import Workbook

    rebuild()
    book = Workbook()
    book.active.append(["标题", "类别", "网格", "地址", "开始时间", "结束时间"])
    book.active.append(["代缴燃气费", "代办服务", "幸福里三级网格", "", "2030-06-01 09:00",
                        "2030-06-01 11:00"])  # fmt: skip
    book.active.append(["陪同老人就医", "助老服务", "幸福里三级网格", "", "2030-06-02 09:00",
                        "2030-06-02 11:00"])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    client.force_login(users.secretary)

    admin_import(
        client,
        "/admin/volunteering/requests/import/",
        out.getvalue(),
        "需求.xlsx",
        django_capture_on_commit_callbacks,
    )

    for title in ("代缴燃气费", "陪同老人就医"):
        request = ServiceRequest.objects.get(title=title)
        assert reverse("request_detail", args=[request.pk]) in site_search(client, title)
        assert str(request.pk) in found(users.gridworker, title, "request")
    assert "out of date" not in status()


# --- Bulk writes in code -------------------------------------------------------------------


def test_bulk_create_and_update_are_indexed_on_commit_in_bounded_tasks(
    tree, users, django_capture_on_commit_callbacks
):
    rebuild()
    people = [
        Member(branch=tree.branch_a, name=f"东方{i:04d}", id_number=id_number(seq=f"{i:03d}"))
        for i in range(BATCH + 20)
    ]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = Member.objects.bulk_create(people)
        index_later(Member, [m.pk for m in created])
    # BATCH + 20 records: two tasks (each then marks cached search pages stale).
    assert [c.__qualname__.split(".")[0] for c in callbacks] == ["enqueue_sync"] * 2 + [
        "tags_bump"
    ] * 2
    assert str(created[-1].pk) in found(users.secretary, created[-1].name, "member")
    assert "out of date" not in status()

    first = created[0]
    with django_capture_on_commit_callbacks(execute=True):
        Member.objects.filter(pk=first.pk).update(name="慕容秋水")
        index_later("branches.Member", [first.pk])
    assert found(users.secretary, "慕容秋水", "member") == {str(first.pk)}
    assert str(first.pk) not in found(users.secretary, first.name, "member")


def test_records_gone_from_the_database_leave_the_index(
    tree, users, django_capture_on_commit_callbacks
):
    member = make_member(branch=tree.branch_a, name="皇甫云飞")
    rebuild()
    assert found(users.secretary, "皇甫云飞", "member") == {str(member.pk)}
    with django_capture_on_commit_callbacks(execute=True):
        with connection.cursor() as cursor:  # raw SQL: no signal at all
            cursor.execute(f"DELETE FROM {Member._meta.db_table} WHERE id = %s", [member.pk])
        index_later(Member, [member.pk])
    assert found(users.secretary, "皇甫云飞", "member") == set()
    assert "out of date" not in status()


def test_a_write_that_rolls_back_indexes_nothing(tree, users, django_capture_on_commit_callbacks):
    from django.db import transaction

    rebuild()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            Member.objects.bulk_create([Member(branch=tree.branch_a, name="令狐冲")])
            index_later(Member, Member.objects.filter(name="令狐冲").values_list("pk", flat=True))
            raise RuntimeError
    assert callbacks == []
    assert found(users.district, "令狐冲", "member") == set()


def test_a_care_tag_added_to_a_household_is_found(tree, users, django_capture_on_commit_callbacks):
    tag = CareTag.objects.create(name="残疾人")
    home = make_household(building=tree.building_a, room="2单元201", head_name="欧阳春")
    rebuild()
    assert found(users.secretary, "残疾人", "household") == set()
    with django_capture_on_commit_callbacks(execute=True):
        home.care_tags.add(tag)  # a many-to-many change saves no household
    assert found(users.secretary, "残疾人", "household") == {str(home.pk)}
    with django_capture_on_commit_callbacks(execute=True):
        tag.household_set.remove(home)  # from the other side: the household is re-indexed too
    assert found(users.secretary, "残疾人", "household") == set()


def test_deleting_a_group_re_indexes_the_records_it_held(
    tree, users, members, django_capture_on_commit_callbacks
):
    building = tree.building_b  # group B
    rebuild()
    member = members.b_private  # branch B, group B
    assert str(member.pk) in found(users.district, "光明路8号楼党小组", "member")
    with django_capture_on_commit_callbacks(execute=True):
        Page.objects.get(pk=tree.group_b.pk).delete()  # the group goes: SET_NULL, no signal
    assert str(member.pk) not in found(users.district, "光明路8号楼党小组", "member")
    assert str(building.pk) not in found(users.district, "光明路8号楼党小组", "building")
    assert str(member.pk) in found(users.secretary_b, "黄强", "member")


def test_an_agenda_carried_into_a_later_meeting_is_found(
    al,  # noqa: F811  (the fixture imported above)
    users,
    django_capture_on_commit_callbacks,
):
    import datetime as dt

    from alliance.minutes import services as svc
    from alliance.models import JointMeeting

    later = JointMeeting.objects.create(
        alliance=al.alliance,
        title="第三季度联席会议",
        starts_at=timezone.now() + dt.timedelta(days=30),
        ends_at=timezone.now() + dt.timedelta(days=30, hours=2),
        place="社区党群服务中心",
        convener=users.secretary,
        proposals_until=timezone.now() + dt.timedelta(days=25),
    )
    minutes = _draft(al, users)
    svc.minutes_circulate(minutes=minutes, by=users.secretary)
    svc.minutes_approve(minutes=minutes, by=users.secretary)
    rebuild()
    assert str(later.pk) not in found(users.secretary, "操场", "meeting_joint")
    with django_capture_on_commit_callbacks(execute=True):
        # Publishing puts the action item on the later meeting's agenda (bulk_create).
        svc.minutes_publish(minutes=minutes, by=users.secretary)
    assert str(later.pk) in found(users.secretary, "操场", "meeting_joint")


# --- Data migrations -----------------------------------------------------------------------


def test_a_data_migration_is_indexed_once_migrate_has_finished(
    tree, users, django_capture_on_commit_callbacks
):
    """A data migration writes with its historical models and calls
    index_later; the documents are built after the last migration ran."""
    member = make_member(branch=tree.branch_a, name="公孙胜")
    rebuild()
    state_apps = MigrationExecutor(connection).loader.project_state().apps
    historical = state_apps.get_model("branches", "Member")
    search_config = global_apps.get_app_config("search")
    signal_args = dict(
        sender=search_config,
        app_config=search_config,
        verbosity=0,
        interactive=False,
        using="default",
        plan=[],
        apps=state_apps,
    )

    pre_migrate.send(**signal_args)
    with django_capture_on_commit_callbacks(execute=True):
        historical.objects.filter(pk=member.pk).update(name="公孙龙")
        index_later(historical, [member.pk])
    assert found(users.secretary, "公孙龙", "member") == set()  # not during the migrations
    with django_capture_on_commit_callbacks(execute=True):
        post_migrate.send(**signal_args)
    assert found(users.secretary, "公孙龙", "member") == {str(member.pk)}
    assert "out of date" not in status()


def test_rotating_the_hash_key_re_indexes_the_lookups(
    tree, users, members, django_capture_on_commit_callbacks
):
    """rotate_field_keys rewrites the keyed hashes with QuerySet.update; a full
    ID number still finds its member once the old hash key is gone."""
    from django.conf import settings
    from django.test import override_settings

    member = members.a_private
    rebuild()
    assert str(member.pk) in found(users.district, member.id_number, "member")
    new_key = "rotated-hash-key-" + "k" * 40
    during = {"FIELD_HASH_KEY": new_key, "FIELD_HASH_KEYS_PREVIOUS": [settings.FIELD_HASH_KEY]}
    with override_settings(**during):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("rotate_field_keys", only=["branches.Member"], stdout=io.StringIO())
    with override_settings(FIELD_HASH_KEY=new_key, FIELD_HASH_KEYS_PREVIOUS=[]):
        assert str(member.pk) in found(users.district, member.id_number, "member")
