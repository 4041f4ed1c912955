"""Importing members and households: every problem is reported per row and nothing
is written; a clean file is written all at once, encrypted and hashed, and audited."""

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook
from wagtail.users.models import UserProfile

# Importing the views registers the admin URLs and the menu.
from branches import import_views
from branches import member_import as member_kind
from branches.household_import import HOUSEHOLDS, household_import
from branches.member_import import MEMBERS, member_import
from branches.models import CareTag, Household, Member
from portal.crypto import keyed_hash
from portal.imports import reading
from portal.imports.examples import import_example
from portal.imports.reading import ImportFileError, import_table_read
from portal.models import AuditEntry
from portal.validators import id_check_digit
from tests.factories import make_household, make_member

REPO = Path(__file__).resolve().parents[2]

MEMBER_HEADERS = [
    "姓名", "性别", "出生日期", "身份证号", "手机号", "入党日期", "党员类别", "在职党员",
    "工作单位", "所属支部", "所属党小组", "党内职务",
]  # fmt: skip
HOUSEHOLD_HEADERS = ["小区", "楼栋", "单元房号", "户主", "联系电话", "地址", "关怀标签", "所属支部"]


def id_number(birth="19850312", seq="123"):
    first17 = f"110101{birth}{seq}"
    return first17 + id_check_digit(first17)


def member_row(**overrides):
    row = {
        "姓名": "张伟",
        "性别": "男",
        "出生日期": "",
        "身份证号": id_number(),
        "手机号": "13800138001",
        "入党日期": "2008-07-01",
        "党员类别": "正式党员",
        "在职党员": "否",
        "工作单位": "",
        "所属支部": "幸福里网格党支部",
        "所属党小组": "幸福里3号楼党小组",
        "党内职务": "",
    }
    row.update(overrides)
    return row


def household_row(**overrides):
    row = {
        "小区": "幸福里小区",
        "楼栋": "3号楼",
        "单元房号": "2单元301",
        "户主": "王芳",
        "联系电话": "13700137003",
        "地址": "",
        "关怀标签": "",
        "所属支部": "",
    }
    row.update(overrides)
    return row


def to_csv(rows, headers, encoding="utf-8"):
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return out.getvalue().encode(encoding)


def to_xlsx(rows, headers):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h, "") for h in headers])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def run(kind, user, data, *, filename=None, dry_run=False):
    filename = filename or f"{kind}.csv"
    table = import_table_read(kind=kind, filename=filename, data=data)
    importer = member_import if kind == MEMBERS else household_import
    return importer(rows=table.rows, user=user, dry_run=dry_run, source=filename)


def import_members(user, rows, **kwargs):
    return run(MEMBERS, user, to_csv(rows, MEMBER_HEADERS), **kwargs)


def import_households(user, rows, **kwargs):
    return run(HOUSEHOLDS, user, to_csv(rows, HOUSEHOLD_HEADERS), **kwargs)


def codes(result):
    return {(e.row, e.column, e.code) for e in result.errors}


def import_audits():
    return AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def staging_storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


# --- Member rows: each problem is reported and nothing is written ------------------------

MEMBER_ROW_PROBLEMS = [
    ({"身份证号": id_number()[:17] + ("0" if id_number()[17] != "0" else "1")},
     "id_number", "id_check_digit", "check digit is wrong"),
    ({"身份证号": "11010119850312"}, "id_number", "id_format", "17 digits followed by"),
    ({"身份证号": "11010119900230123" + id_check_digit("11010119900230123")},
     "id_number", "id_birth_date", "not a real date"),
    ({"身份证号": "11010120990101123" + id_check_digit("11010120990101123")},
     "id_number", "id_birth_date", "not a real date"),
    ({"身份证号": ""}, "id_number", "required", "This value is required."),
    ({"手机号": "1380013800"}, "phone", "mobile_format", "11 digits"),
    ({"手机号": "12800138001"}, "phone", "mobile_format", "11 digits"),
    ({"所属支部": "不存在网格党支部"}, "branch", "unknown_branch", "no branch with this name"),
    ({"所属党小组": "不存在党小组"}, "building_group", "unknown_group",
     "no building group with this name"),
    ({"所属党小组": "光明路8号楼党小组"}, "building_group", "group_not_in_branch",
     "belongs to another branch"),
    ({"姓名": ""}, "name", "required", "This value is required."),
    ({"性别": ""}, "gender", "required", "This value is required."),
    ({"性别": "未知"}, "gender", "bad_choice", "not one of the allowed values"),
    ({"入党日期": "2008-13-01"}, "join_date", "bad_date", "not a date"),
    ({"入党日期": "去年"}, "join_date", "bad_date", "not a date"),
    ({"入党日期": "2999-01-01"}, "join_date", "future_date", "in the future"),
    ({"出生日期": "1985-03-13"}, "birth_date", "birth_date_mismatch", "differs"),
    ({"党员类别": "群众"}, "status", "bad_choice", "not one of the allowed values"),
    ({"在职党员": "也许"}, "employed_elsewhere", "bad_choice", "是 (yes) or 否 (no)"),
    ({"党内职务": "主席"}, "party_posts", "bad_choice", "not a party post"),
    ({"姓名": "张" * 51}, "name", "too_long", "At most 50 characters"),
]  # fmt: skip


@pytest.mark.parametrize(("override", "column", "code", "text"), MEMBER_ROW_PROBLEMS)
def test_member_row_problem_is_reported_and_nothing_written(users, override, column, code, text):
    before = Member.objects.count()

    result = import_members(users.district, [member_row(**override)])

    assert (2, column, code) in codes(result)
    assert any(text in e.message for e in result.errors if e.code == code)
    assert result.created == 0
    assert Member.objects.count() == before
    assert not import_audits().exists()


def test_report_masks_id_numbers_and_phones(users):
    bad_id = id_number()[:17] + ("0" if id_number()[17] != "0" else "1")
    result = import_members(users.district, [member_row(身份证号=bad_id, 手机号="1380013800199")])

    values = {e.column: e.value for e in result.errors}
    assert values["id_number"] == bad_id[:3] + "*" * 11 + bad_id[-4:]
    assert values["phone"] == "138******0199"
    assert all(bad_id not in e.value + e.message for e in result.errors)


def test_same_id_number_twice_in_file_is_reported_on_the_second_row(users):
    rows = [member_row(), member_row(姓名="李娜", 手机号="13900139002")]

    result = import_members(users.district, rows)

    assert codes(result) == {(3, "id_number", "duplicate_in_file")}
    assert "row 2" in result.errors[0].message
    assert Member.objects.filter(name__in=["张伟", "李娜"]).count() == 0


def test_id_number_already_in_database_is_reported(users, members):
    existing = members.a_private.id_number

    result = import_members(users.district, [member_row(身份证号=existing.lower())])

    assert codes(result) == {(2, "id_number", "duplicate_in_db")}
    assert "already exists" in result.errors[0].message
    assert Member.objects.filter(id_number_hash=keyed_hash(existing)).count() == 1


def test_secretary_cannot_import_into_another_branch(users, tree):
    row = member_row(所属支部="光明路网格党支部", 所属党小组="光明路8号楼党小组")

    result = import_members(users.secretary, [row])

    assert codes(result) == {(2, "branch", "out_of_scope")}
    assert result.errors[0].message == "You may not import into this branch."
    assert not Member.objects.filter(branch=tree.branch_b, name="张伟").exists()


def test_secretary_imports_into_own_branch(users, tree):
    result = import_members(users.secretary, [member_row()])

    assert result.errors == []
    assert result.created == 1
    assert Member.objects.get(name="张伟", branch=tree.branch_a).building_group == tree.group_a


def test_coordinator_imports_into_branches_under_their_grid(users, tree):
    rows = [
        member_row(),
        member_row(身份证号=id_number(seq="456"), 所属支部="光明路网格党支部", 所属党小组=""),
    ]

    result = import_members(users.coordinator, rows)

    assert result.created == 2


def test_one_bad_row_among_good_ones_writes_nothing(users):
    rows = [member_row(身份证号=id_number(seq=f"{n:03d}"), 姓名=f"党员{n}") for n in range(5)]
    rows[3]["手机号"] = "123"

    result = import_members(users.district, rows)

    assert codes(result) == {(5, "phone", "mobile_format")}
    assert result.ok_rows == 4
    assert result.error_rows == 1
    assert not Member.objects.filter(name__startswith="党员").exists()
    assert not import_audits().exists()


# --- Good files ------------------------------------------------------------------------------


def good_member_rows():
    return [
        member_row(
            身份证号=id_number("19850312", "123"), 出生日期="1985-03-12", 在职党员="是",
            工作单位="区教育局", 党内职务="党小组长、党员示范岗",
        ),
        member_row(
            姓名="李娜", 性别="女", 身份证号=id_number("19921105", "234"),
            手机号="+86 139-0013-9002", 党员类别="预备党员", 所属党小组="", 入党日期="2023/6/28",
        ),
    ]  # fmt: skip


def assert_good_members_written(tree, result):
    assert result.errors == []
    assert result.created == 2
    zhang = Member.objects.get(name="张伟", branch=tree.branch_a)
    li = Member.objects.get(name="李娜")
    assert zhang.id_number == id_number("19850312", "123")
    assert zhang.id_number_hash == keyed_hash(zhang.id_number)
    assert zhang.phone == "13800138001"
    assert zhang.phone_hash == keyed_hash("13800138001")
    assert zhang.birth_date == date(1985, 3, 12)
    assert zhang.employed_elsewhere is True
    assert zhang.party_posts == ["group_leader", "demo_post_holder"]
    assert zhang.building_group == tree.group_a
    assert li.gender == "F"
    assert li.status == Member.Status.PROBATIONARY
    assert li.phone == "13900139002"
    assert li.birth_date == date(1992, 11, 5)  # taken from the ID number
    assert li.join_date == date(2023, 6, 28)
    assert li.building_group is None
    assert "created=2" in import_audits().get().detail


def test_good_csv_imports_every_row_encrypted_and_hashed(users, tree):
    result = run(MEMBERS, users.district, to_csv(good_member_rows(), MEMBER_HEADERS))

    assert_good_members_written(tree, result)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM branches_member WHERE name = %s", ["张伟"])
        stored_id, stored_phone = cursor.fetchone()
    assert stored_id != id_number("19850312", "123") and stored_id.startswith("gAAAA")
    assert "13800138001" not in stored_phone


def test_good_csv_with_bom_imports(users, tree):
    data = to_csv(good_member_rows(), MEMBER_HEADERS, encoding="utf-8-sig")

    assert_good_members_written(tree, run(MEMBERS, users.district, data))


def test_good_gbk_csv_as_saved_by_chinese_excel_imports(users, tree):
    data = to_csv(good_member_rows(), MEMBER_HEADERS, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    assert_good_members_written(tree, run(MEMBERS, users.district, data))


def test_good_xlsx_imports(users, tree):
    rows = good_member_rows()
    rows[0]["出生日期"] = date(1985, 3, 12)  # a real Excel date cell
    rows[0]["手机号"] = 13800138001  # a number cell

    result = run(MEMBERS, users.district, to_xlsx(rows, MEMBER_HEADERS), filename="党员.xlsx")

    assert_good_members_written(tree, result)


def test_english_headers_are_accepted(users, tree):
    headers = ["Name", "Gender", "ID number", "Mobile", "Branch", "Building group", "Status"]
    row = member_row()
    english = {
        "Name": row["姓名"], "Gender": "male", "ID number": row["身份证号"],
        "Mobile": row["手机号"], "Branch": row["所属支部"], "Building group": row["所属党小组"],
        "Status": "probationary",
    }  # fmt: skip

    result = run(MEMBERS, users.district, to_csv([english], headers))

    assert result.created == 1
    assert Member.objects.get(name="张伟").status == Member.Status.PROBATIONARY


def test_a_title_row_above_the_headers_is_skipped(users):
    data = ("党员信息导入表\n" + to_csv([member_row()], MEMBER_HEADERS).decode()).encode()

    result = run(MEMBERS, users.district, data, dry_run=True)

    assert result.ok
    assert result.total == 1


def test_bulk_create_sets_the_keyed_hashes(users):
    ids = [id_number(seq=f"{n:03d}") for n in range(3)]
    rows = [
        member_row(身份证号=i, 姓名=f"党员{n}", 手机号=f"1380013800{n}") for n, i in enumerate(ids)
    ]

    import_members(users.district, rows)

    for n, value in enumerate(ids):
        member = Member.objects.get(id_number_hash=keyed_hash(value))
        assert member.name == f"党员{n}"
        assert member.phone_hash == keyed_hash(f"1380013800{n}")


def test_dry_run_writes_nothing(users):
    result = import_members(users.district, [member_row()], dry_run=True)

    assert result.ok
    assert result.created == 0
    assert not Member.objects.filter(name="张伟").exists()
    assert not import_audits().exists()


def test_dry_run_queries_do_not_grow_with_the_rows(users):
    def queries(n):
        rows = [member_row(身份证号=id_number(seq=f"{i:03d}"), 姓名=f"党员{i}") for i in range(n)]
        table = import_table_read(kind=MEMBERS, filename="m.csv", data=to_csv(rows, MEMBER_HEADERS))
        with CaptureQueriesContext(connection) as captured:
            member_import(rows=table.rows, user=users.secretary, dry_run=True)
        return len(captured)

    queries(1)  # the user's scope is computed once and cached
    assert queries(3) == queries(60)


# --- Households --------------------------------------------------------------------------


def test_good_household_file_imports_with_care_tags(users, tree):
    elderly = CareTag.objects.create(name="独居老人")
    rows = [
        household_row(关怀标签="独居老人"),
        household_row(
            单元房号="2单元302", 户主="赵强", 联系电话="", 地址="幸福里小区3号楼2单元302室"
        ),
    ]

    result = import_households(users.secretary, rows)

    assert result.errors == []
    assert result.created == 2
    first = Household.objects.get(building=tree.building_a, room="2单元301")
    assert first.phone == "13700137003"
    assert first.phone_hash == keyed_hash("13700137003")
    assert first.address == "幸福里小区3号楼2单元301"
    assert first.address_hash == keyed_hash(first.address)
    assert list(first.care_tags.all()) == [elderly]
    second = Household.objects.get(room="2单元302")
    assert second.address == "幸福里小区3号楼2单元302室"
    assert second.phone == ""
    assert "created=2" in import_audits().get().detail


HOUSEHOLD_ROW_PROBLEMS = [
    ({"楼栋": "99号楼"}, "building", "unknown_building", "no building with this estate"),
    ({"所属支部": "不存在网格党支部"}, "branch", "unknown_branch", "no branch with this name"),
    ({"所属支部": "光明路网格党支部"}, "building", "unknown_building",
     "no building with this estate"),
    ({"户主": ""}, "head_name", "required", "This value is required."),
    ({"单元房号": ""}, "room", "required", "This value is required."),
    ({"联系电话": "010-12345678"}, "phone", "mobile_format", "11 digits"),
    ({"关怀标签": "困难家庭"}, "care_tags", "bad_choice", "not a care tag"),
]  # fmt: skip


@pytest.mark.parametrize(("override", "column", "code", "text"), HOUSEHOLD_ROW_PROBLEMS)
def test_household_row_problem_is_reported_and_nothing_written(users, override, column, code, text):
    result = import_households(users.district, [household_row(**override)])

    assert (2, column, code) in codes(result)
    assert any(text in e.message for e in result.errors if e.code == code)
    assert not Household.objects.exists()
    assert not import_audits().exists()


def test_same_building_and_room_twice_in_file_is_reported(users):
    rows = [household_row(), household_row(单元房号="2单元 301", 户主="赵强")]

    result = import_households(users.district, rows)

    assert codes(result) == {(3, "room", "duplicate_in_file")}
    assert "row 2" in result.errors[0].message
    assert not Household.objects.exists()


def test_household_already_in_database_is_reported(users, tree):
    make_household(building=tree.building_a, room="2单元301")

    result = import_households(users.district, [household_row()])

    assert codes(result) == {(2, "room", "duplicate_in_db")}
    assert Household.objects.count() == 1


def test_secretary_cannot_import_households_into_another_branch(users, tree):
    row = household_row(小区="光明路小区", 楼栋="8号楼")

    result = import_households(users.secretary, [row])

    assert codes(result) == {(2, "building", "out_of_scope")}
    assert not Household.objects.exists()


# --- Whole-file problems -----------------------------------------------------------------


def file_error(kind, data, filename):
    with pytest.raises(ImportFileError) as caught:
        import_table_read(kind=kind, filename=filename, data=data)
    return caught.value.message


def test_empty_file_is_refused():
    assert file_error(MEMBERS, b"", "m.csv") == "The file is empty."
    assert file_error(MEMBERS, b"\xef\xbb\xbf\r\n,,\r\n", "m.csv") == "The file is empty."
    assert file_error(MEMBERS, to_xlsx([], []), "m.xlsx") == "The file is empty."


def test_headers_without_rows_are_refused():
    message = file_error(MEMBERS, to_csv([], MEMBER_HEADERS), "m.csv")
    assert message == "The file has headers but no data rows."


def test_wrong_file_type_is_refused():
    assert "Upload an Excel (.xlsx) or CSV" in file_error(MEMBERS, b"hello", "m.txt")
    assert ".xls" in file_error(MEMBERS, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"0" * 100, "m.xls")
    assert "not a valid Excel" in file_error(MEMBERS, b"not a zip file", "m.xlsx")
    assert "not a valid Excel" in file_error(MEMBERS, b"PK\x03\x04broken", "m.xlsx")
    assert "not a CSV" in file_error(MEMBERS, b"PK\x03\x04\x00\x00binary", "m.csv")


def test_file_without_recognised_headers_is_refused():
    data = to_csv([{"a": "1", "b": "2"}], ["foo", "bar"])
    assert "No recognised column headers" in file_error(MEMBERS, data, "m.csv")


def test_missing_required_column_is_refused():
    headers = [h for h in MEMBER_HEADERS if h != "身份证号"]
    message = file_error(MEMBERS, to_csv([member_row()], headers), "m.csv")
    assert "Required columns are missing" in message
    assert "身份证号" in message


def test_oversize_file_is_refused():
    data = b"a" * (reading.MAX_FILE_BYTES + 1)
    assert "larger than 5 MB" in file_error(MEMBERS, data, "m.csv")


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    rows = [member_row() for _ in range(4)]
    assert "more than 3 rows" in file_error(MEMBERS, to_csv(rows, MEMBER_HEADERS), "m.csv")


# --- Example files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (MEMBERS, "members-example.xlsx"),
        (MEMBERS, "members-example.csv"),
        (HOUSEHOLDS, "households-example.csv"),
    ],
)
def test_example_files_in_docs_are_the_ones_offered(kind, name):
    """The files in docs/import/ are the admin's example downloads; they name the
    demo's branches and groups (their dry run against the demo data is in
    tests/portal/test_load_demo.py)."""
    fmt = name.rsplit(".", 1)[1]
    docs = import_table_read(
        kind=kind, filename=name, data=(REPO / "docs/import" / name).read_bytes()
    )
    offered = import_table_read(kind=kind, filename=name, data=import_example(kind=kind, fmt=fmt))
    assert [r.values for r in docs.rows] == [r.values for r in offered.rows]
    assert len(docs.rows) == 2


# --- Admin views ----------------------------------------------------------------------------


def login(client, user):
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "en"
    profile.save()
    client.force_login(user)
    return client


def import_url(kind=MEMBERS):
    return reverse("branches_import", args=[kind])


def upload(client, data, name="members.csv", kind=MEMBERS):
    file = io.BytesIO(data)
    file.name = name
    return client.post(import_url(kind), {"file": file})


def confirm(client, response, kind=MEMBERS):
    staged = response.context["staged"]
    return client.post(
        import_url(kind), {"confirm": "1", "token": staged["token"], "digest": staged["digest"]}
    )


def test_import_page_renders_for_a_secretary(client, users):
    response = login(client, users.secretary).get(import_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="file"' in html
    assert reverse("branches_import_example", args=[MEMBERS, "xlsx"]) in html
    assert "身份证号" in html


@pytest.mark.parametrize("role", ["member", "volunteer", "partner"])
def test_members_and_volunteers_cannot_reach_the_import(client, users, role):
    login(client, getattr(users, role))

    for response in (
        client.get(import_url()),
        client.post(import_url(), {"file": io.BytesIO(b"x")}),
        client.get(import_url(HOUSEHOLDS)),
    ):
        # Wagtail turns away users without admin access before the view runs,
        # to the admin's sign-in URL, which tells them they have no access.
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
        assert client.get(response["Location"]).status_code == 403


def test_group_leader_gets_403(client, users):
    login(client, users.leader)

    response = client.get(import_url())
    posted = upload(client, to_csv([member_row()], MEMBER_HEADERS))

    assert response.status_code == 403
    assert posted.status_code == 403
    assert not Member.objects.filter(name="张伟").exists()


def test_dry_run_shows_the_report_and_writes_nothing(client, users):
    login(client, users.secretary)
    rows = [
        member_row(),
        member_row(身份证号=id_number(seq="777"), 手机号="1380013800199"),
        member_row(身份证号=id_number(seq="778"), 所属支部="光明路网格党支部", 所属党小组=""),
    ]

    response = upload(client, to_csv(rows, MEMBER_HEADERS))

    assert response.status_code == 200
    html = response.content.decode()
    assert "3 rows checked: 1 rows OK, 2 rows with errors." in html
    assert "You may not import into this branch." in html
    assert "138******0199" in html
    assert "1380013800199" not in html
    assert id_number(seq="777") not in html
    assert "data-import-confirm" not in html
    assert response.context["staged"] is None
    assert not Member.objects.filter(name="张伟").exists()


def test_dry_run_then_confirm_imports_every_row(client, users, tree):
    login(client, users.secretary)
    dry = upload(client, to_xlsx(good_member_rows(), MEMBER_HEADERS), name="党员.xlsx")
    assert "data-import-confirm" in dry.content.decode()
    assert not Member.objects.filter(name="张伟").exists()

    response = confirm(client, dry)

    assert response.status_code == 302
    assert response["Location"] == reverse("members:index")
    assert Member.objects.filter(name__in=["张伟", "李娜"], branch=tree.branch_a).count() == 2
    assert "created=2" in import_audits().get().detail
    # The staged copy is gone and a second confirm imports nothing more.
    again = confirm(client, dry)
    assert "changed or expired" in again.content.decode()
    assert Member.objects.filter(name__in=["张伟", "李娜"]).count() == 2


def test_staged_upload_is_encrypted(client, users, staging_storage):
    login(client, users.secretary)
    dry = upload(client, to_csv([member_row()], MEMBER_HEADERS))

    stored = default_storage.open(dry.context["staged"]["name"]).read()
    assert id_number().encode() not in stored
    assert "张伟".encode() not in stored


def test_confirm_refuses_when_another_file_was_checked_since(client, users):
    login(client, users.secretary)
    first = upload(client, to_csv([member_row()], MEMBER_HEADERS))
    upload(client, to_csv([member_row(姓名="李娜", 身份证号=id_number(seq="555"))], MEMBER_HEADERS))

    response = confirm(client, first)

    assert response.status_code == 200
    assert "changed or expired" in response.content.decode()
    assert not Member.objects.filter(name__in=["张伟", "李娜"]).exists()


def test_confirm_refuses_when_the_stored_file_was_altered(client, users):
    login(client, users.secretary)
    dry = upload(client, to_csv([member_row()], MEMBER_HEADERS))
    name = dry.context["staged"]["name"]
    default_storage.delete(name)
    default_storage.save(name, io.BytesIO(b"tampered"))

    response = confirm(client, dry)

    assert "changed or expired" in response.content.decode()
    assert not Member.objects.filter(name="张伟").exists()


def test_confirm_without_a_dry_run_is_refused(client, users):
    login(client, users.secretary)

    response = client.post(import_url(), {"confirm": "1", "token": "made-up", "digest": "0" * 64})

    assert "changed or expired" in response.content.decode()
    assert not import_audits().exists()


def test_confirm_checks_the_rows_again(client, users, tree):
    login(client, users.secretary)
    dry = upload(client, to_csv([member_row()], MEMBER_HEADERS))
    make_member(branch=tree.branch_a, name="先到者", id_number=id_number())

    response = confirm(client, dry)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was imported" in html
    assert "A member with this ID number already exists." in html
    assert not Member.objects.filter(name="张伟").exists()
    assert not import_audits().exists()


def test_upload_with_file_problem_shows_the_message(client, users):
    login(client, users.secretary)

    empty = upload(client, b"")
    wrong = upload(client, b"hello", name="members.txt")
    no_headers = upload(client, to_csv([{"a": "1"}], ["foo", "bar"]))

    assert empty.status_code == wrong.status_code == no_headers.status_code == 200
    assert "The submitted file is empty." in empty.content.decode()
    assert "Upload an Excel (.xlsx) or CSV (.csv) file." in wrong.content.decode()
    assert "No recognised column headers" in no_headers.content.decode()


def test_household_import_through_the_admin(client, users, tree):
    login(client, users.district)
    dry = upload(client, to_csv([household_row()], HOUSEHOLD_HEADERS), kind=HOUSEHOLDS)

    response = confirm(client, dry, kind=HOUSEHOLDS)

    assert response.status_code == 302
    assert Household.objects.get().building == tree.building_a


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_example_download(client, users, fmt):
    login(client, users.secretary)

    response = client.get(reverse("branches_import_example", args=[MEMBERS, fmt]))

    assert response.status_code == 200
    assert f"members-example.{fmt}" in response["Content-Disposition"]
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet["A1"].value == "姓名"
    else:
        assert response.content.decode("utf-8-sig").startswith("姓名,性别")


def test_import_menu_is_shown_only_to_those_who_may_import(rf, users):
    item = import_views.ImportMenuItem(MEMBERS, "members", 1)

    def shown(user):
        request = rf.get("/admin/")
        request.user = user
        return item.is_shown(request)

    assert shown(users.secretary)
    assert shown(users.district)
    assert not shown(users.leader)
    assert not shown(users.member)


def test_tab_separated_csv_is_read(users):
    text = to_csv([member_row()], MEMBER_HEADERS).decode().replace(",", "\t")

    result = run(MEMBERS, users.district, text.encode(), dry_run=True)

    assert result.ok


def test_a_conflict_during_the_write_rolls_every_row_back(users, members, monkeypatch):
    # As if another secretary added the same member between the check and the write.
    monkeypatch.setattr(member_kind, "_existing_member_hashes", lambda rows: set())
    monkeypatch.setattr(member_kind, "BATCH_SIZE", 1)
    rows = [member_row(), member_row(姓名="李娜", 身份证号=members.a_private.id_number)]

    result = import_members(users.district, rows)

    assert [e.code for e in result.errors] == ["conflict"]
    assert result.created == 0
    assert not Member.objects.filter(name__in=["张伟", "李娜"]).exists()
    assert not import_audits().exists()
