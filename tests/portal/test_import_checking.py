"""Row checks on their own (portal/imports/checking.py): errors are labelled by
column, private values masked; ``rows_check`` keeps only the rows without an
error; each ``parse_*`` helper reads its value or says what is wrong with it."""

from datetime import date

import pytest
from django.utils import translation

from portal.imports.checking import (
    RowChecker,
    parse_bool,
    parse_choice,
    parse_date,
    parse_id_number,
    parse_list,
    parse_mobile,
    rows_check,
)
from portal.imports.kinds import IMPORT_KINDS, ImportColumn, ImportKind
from portal.imports.reading import ImportRow
from portal.validators import id_check_digit

KIND = "test-things"
COLUMNS = (
    ImportColumn("name", "Name", ("姓名",), required=True),
    ImportColumn("id_number", "ID number", ("身份证号",), private=True),
    ImportColumn("phone", "Phone", ("手机号",), private=True),
    ImportColumn("address", "Address", ("地址",), private=True),
    ImportColumn("joined", "Joined", ("入党日期",)),
    ImportColumn("status", "Status", ("类别",)),
    ImportColumn("employed", "Employed", ("在职",)),
    ImportColumn("posts", "Posts", ("职务",)),
)
TODAY = date(2026, 3, 10)
ID_NUMBER = "11010119850312123" + id_check_digit("11010119850312123")


@pytest.fixture(autouse=True)
def kind(monkeypatch):
    monkeypatch.setitem(IMPORT_KINDS, KIND, ImportKind(KIND, COLUMNS))


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def checker(number=2, **values):
    errors = []
    return RowChecker(ImportRow(number, values), {c.key: c for c in COLUMNS}, errors, TODAY), errors


def test_an_error_names_the_row_and_column_and_shows_the_value():
    check, errors = checker(5, joined="去年")

    parse_date(check, "joined")

    assert check.failed
    [error] = errors
    assert (error.row, error.column, error.label, error.code, error.value) == (
        5,
        "joined",
        "Joined",
        "bad_date",
        "去年",
    )


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("id_number", "110101198503121230", "110***********1230"),
        ("phone", "1380013800", "138***3800"),
        ("address", "幸福里小区3号楼2单元301", "幸福里小区****"),
    ],
)
def test_private_values_are_masked_in_errors(key, value, shown):
    check, errors = checker(**{key: value})

    check.error(key, "bad", "wrong")

    assert errors[0].value == shown


def test_required_and_max_length():
    check, errors = checker(name="")
    check.required("name")
    check.max_length("name", "张" * 6, 5)

    assert [(e.code, e.value) for e in errors] == [("required", ""), ("too_long", "")]
    assert "At most 5 characters" in errors[1].message


def test_rows_check_keeps_the_rows_without_errors_and_every_error_in_order():
    rows = [
        ImportRow(2, {"name": "张伟"}),
        ImportRow(3, {"name": ""}),
        ImportRow(4, {"name": "李娜", "joined": "2999-01-01"}),
        ImportRow(5, {"name": "王芳"}),
    ]

    def check_row(check):
        return (check.required("name"), parse_date(check, "joined"))

    checked, errors = rows_check(KIND, rows, check_row)

    assert checked == [("张伟", None), ("王芳", None)]
    assert [(e.row, e.column, e.code) for e in errors] == [
        (3, "name", "required"),
        (4, "joined", "future_date"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2008-07-01", date(2008, 7, 1)), ("2008/7/1", date(2008, 7, 1)),
     ("2008.07.01", date(2008, 7, 1)), ("2008年7月1日", date(2008, 7, 1)),
     ("20080701", date(2008, 7, 1)), ("", None)],
)  # fmt: skip
def test_parse_date_reads_the_usual_forms(text, expected):
    check, errors = checker(joined=text)

    assert parse_date(check, "joined") == expected and not errors


@pytest.mark.parametrize(
    ("text", "code"), [("2008-13-01", "bad_date"), ("2026-03-11", "future_date")]
)
def test_parse_date_refuses_non_dates_and_the_future(text, code):
    check, errors = checker(joined=text)

    assert parse_date(check, "joined") is None
    assert [e.code for e in errors] == [code]


def test_parse_choice_maps_any_case_and_lists_the_chinese_choices():
    choices = {"正式党员": "full", "full": "full", "预备党员": "probationary"}
    check, errors = checker(status="FULL")
    assert parse_choice(check, "status", choices) == "full"
    check, errors = checker(status="")
    assert parse_choice(check, "status", choices, default="full") == "full"
    check, errors = checker(status="群众")
    assert parse_choice(check, "status", choices) is None
    assert errors[0].code == "bad_choice" and errors[0].message.endswith("正式党员、预备党员")
    check, errors = checker(status="群众")
    parse_choice(check, "status", choices, shown=["正式", "预备"])
    assert errors[0].message.endswith("正式、预备")


@pytest.mark.parametrize(
    ("text", "expected"), [("是", True), ("Y", True), ("否", False), ("", False)]
)
def test_parse_bool(text, expected):
    check, errors = checker(employed=text)

    assert parse_bool(check, "employed") is expected and not errors


def test_parse_bool_refuses_anything_else():
    check, errors = checker(employed="也许")

    parse_bool(check, "employed")

    assert [e.code for e in errors] == ["bad_choice"]


def test_parse_list_splits_finds_and_drops_repeats_and_reports_unknown_parts():
    known = {"书记": "secretary", "委员": "committee"}
    check, errors = checker(posts="书记、委员，书记;主席")

    found = parse_list(
        check,
        "posts",
        known.get,
        code="bad_choice",
        message="“%(value)s” is unknown. Allowed: %(choices)s",
        allowed=list(known),
    )

    assert found == ["secretary", "committee"]
    assert [(e.code, e.message, e.value) for e in errors] == [
        ("bad_choice", "“主席” is unknown. Allowed: 书记、委员", "")
    ]


def test_parse_id_number_cleans_and_validates():
    check, errors = checker(id_number=f"'{ID_NUMBER[:9]} {ID_NUMBER[9:].lower()}")
    assert parse_id_number(check, "id_number") == ID_NUMBER and not errors
    check, errors = checker(id_number=ID_NUMBER[:17] + ("0" if ID_NUMBER[17] != "0" else "1"))
    assert parse_id_number(check, "id_number") == ""
    assert [e.code for e in errors] == ["id_check_digit"]
    check, errors = checker(id_number="")
    parse_id_number(check, "id_number")
    assert [e.code for e in errors] == ["required"]


def test_parse_mobile_normalises_and_validates():
    check, errors = checker(phone="+86 138-0013-8001")
    assert parse_mobile(check, "phone") == "13800138001" and not errors
    check, errors = checker(phone="12800138001")
    assert parse_mobile(check, "phone") == ""
    assert [e.code for e in errors] == ["mobile_format"]
