"""The import reader on its own (portal/imports/reading.py): xlsx and CSV in
UTF-8, UTF-8 with BOM and GBK give the same rows; headers in Chinese or English,
with marks and notes, map to the kind's columns; whatever makes a file
unreadable is refused with a message."""

import csv
import io
from datetime import date, datetime

import pytest
from django.utils import translation
from openpyxl import Workbook

from portal.imports.kinds import IMPORT_KINDS, ImportColumn, ImportKind
from portal.imports.reading import (
    ImportFileError,
    csv_delimiter,
    header_key,
    header_lookup,
    import_table_read,
)

KIND = "test-things"
COLUMNS = (
    ImportColumn("name", "Name", ("姓名", "name"), required=True),
    ImportColumn("id_number", "ID number", ("身份证号", "id number"), required=True, private=True),
    ImportColumn("joined", "Joined", ("入党日期", "date joined")),
    ImportColumn("note", "Note", ("备注", "note")),
)
HEADERS = ["姓名", "身份证号", "入党日期", "备注"]
ROWS = [
    ["张伟", "110101198503121234", "2008-07-01", "楼道清理"],
    ["李娜", "11010119921105234X", "", "独居老人，需上门"],
]
EXPECTED = [
    {"name": "张伟", "id_number": "110101198503121234", "joined": "2008-07-01", "note": "楼道清理"},
    {"name": "李娜", "id_number": "11010119921105234X", "joined": "", "note": "独居老人，需上门"},
]


@pytest.fixture(autouse=True)
def kind(monkeypatch):
    monkeypatch.setitem(IMPORT_KINDS, KIND, ImportKind(KIND, COLUMNS))


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def csv_data(rows, encoding="utf-8", delimiter=","):
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_data(rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def read(data, filename="things.csv"):
    return import_table_read(kind=KIND, filename=filename, data=data)


def refusal(data, filename="things.csv"):
    with pytest.raises(ImportFileError) as caught:
        read(data, filename)
    return caught.value.message


# --- Formats and encodings ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_utf8_utf8_with_bom_and_gbk_reads_the_same_rows(encoding):
    table = read(csv_data([HEADERS, *ROWS], encoding))

    assert [r.values for r in table.rows] == EXPECTED
    assert [r.number for r in table.rows] == [2, 3]
    assert table.headers == dict(zip(["name", "id_number", "joined", "note"], HEADERS, strict=True))


def test_xlsx_reads_whole_numbers_without_decimals_dates_as_iso_and_booleans_as_yes_no():
    table = read(
        xlsx_data(
            [
                HEADERS,
                ["张伟", 13800138001, datetime(2008, 7, 1), None],
                ["李娜", "X", date(2023, 6, 28), True],
            ]
        ),
        "things.xlsx",
    )

    assert [r.values for r in table.rows] == [
        {"name": "张伟", "id_number": "13800138001", "joined": "2008-07-01", "note": ""},
        {"name": "李娜", "id_number": "X", "joined": "2023-06-28", "note": "是"},
    ]


def test_a_kind_may_say_how_its_excel_cells_are_read(monkeypatch):
    def keep_time(value):
        return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value

    monkeypatch.setitem(IMPORT_KINDS, KIND, ImportKind(KIND, COLUMNS, xlsx_cell=keep_time))

    table = read(xlsx_data([HEADERS, ["张伟", "1", datetime(2030, 6, 1, 9, 30), ""]]), "t.xlsx")

    assert table.rows[0].values["joined"] == "2030-06-01 09:30"


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_comma_tab_and_semicolon_separated_csv_read_alike(delimiter):
    assert csv_delimiter(delimiter.join(HEADERS) + "\n") == delimiter
    assert [
        r.values for r in read(csv_data([HEADERS, *ROWS], delimiter=delimiter)).rows
    ] == EXPECTED


def test_empty_rows_are_skipped_and_rows_keep_the_numbers_the_sheet_shows():
    table = read(csv_data([HEADERS, ROWS[0], ["", "", "", ""], ROWS[1]]))

    assert [r.number for r in table.rows] == [2, 4]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "t.csv", "The file is empty."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "t.xls", "Old Excel files (.xls)"),
        (b"name,id number\n", "t.txt", "Upload an Excel (.xlsx) or CSV (.csv) file."),
        (b"not a zip file", "t.xlsx", "not a valid Excel (.xlsx) workbook"),
        (b"\xff\xfe\xff\xfe", "t.csv", "must be saved as UTF-8 or GBK"),
        (b"PK\x03\x04\x00\x00binary\x00", "t.csv", "not a CSV text file"),
    ],
)
def test_unreadable_files_are_refused_with_a_message(data, filename, message):
    assert message in refusal(data, filename)


# --- Headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written", ["身份证号", "身份证号*", "身份证号（必填）", " ID_Number ", "Id Number (18 digits)"]
)
def test_a_header_with_marks_notes_case_or_underscores_reads_as_its_column(written):
    assert header_lookup(COLUMNS)[header_key(written)] == "id_number"


def test_english_headers_map_to_the_same_columns():
    table = read(csv_data([["name", "ID number", "date joined"], ROWS[0][:3]]))

    assert table.rows[0].values == {k: v for k, v in EXPECTED[0].items() if k != "note"}


def test_title_rows_above_the_headers_are_skipped():
    table = read(csv_data([["2026年党员名册"], [], HEADERS, ROWS[0]]))

    assert [r.values for r in table.rows] == EXPECTED[:1]
    assert table.rows[0].number == 4


def test_unknown_headers_are_ignored_and_listed():
    table = read(csv_data([[*HEADERS, "籍贯"], [*ROWS[0], "浙江"]]))

    assert table.ignored_headers == ["籍贯"]
    assert "籍贯" not in table.rows[0].values


def test_two_headers_for_one_column_are_refused():
    message = refusal(csv_data([["姓名", "name", "身份证号"], ["张伟", "张伟", "1"]]))

    assert "“姓名” and “name” mean the same thing" in message


def test_a_missing_required_column_is_refused_with_its_header():
    message = refusal(csv_data([["姓名", "备注"], ["张伟", ""]]))

    assert "Required columns are missing" in message and "身份证号" in message


def test_a_file_without_known_headers_names_the_expected_ones():
    message = refusal(csv_data([["a", "b"], ["1", "2"]]))

    assert "No recognised column headers" in message and "姓名、身份证号、入党日期、备注" in message


def test_headers_without_data_rows_are_refused():
    assert "headers but no data rows" in refusal(csv_data([HEADERS, ["", "", "", ""]]))


def test_too_many_rows_are_refused(monkeypatch):
    from portal.imports import reading

    monkeypatch.setattr(reading, "MAX_ROWS", 1)

    assert "more than 1 rows" in refusal(csv_data([HEADERS, *ROWS]))
