"""Reading an uploaded import file: .xlsx, or CSV in UTF-8, UTF-8 with BOM or
GBK (as Chinese Excel saves it), comma, tab or semicolon separated.

``import_table_read`` finds the header row (it may sit below a title row or
two), maps its headers to the kind's columns (Chinese or English, with or
without ``*`` or a note in brackets) and returns the data rows keyed by column.
Whatever makes the file as a whole unreadable raises ``ImportFileError`` with a
message for the user; the values themselves are checked later (checking.py).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils.translation import gettext as _

from portal.imports.kinds import IMPORT_KINDS, ImportColumn

MAX_FILE_BYTES = 5 * 1024 * 1024

MAX_ROWS = 20_000

# Wide sheets are cut here; no import needs more columns than this.
MAX_COLUMNS = 60

# The header may sit below a title row or two, as in many hand-made sheets.
HEADER_SCAN_ROWS = 10


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message is for the user."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


@dataclass(frozen=True)
class ImportRow:
    number: int  # the row number the spreadsheet shows (the header is usually row 1)
    values: dict[str, str]


@dataclass
class ImportTable:
    kind: str
    rows: list[ImportRow]
    # Column key -> the header as written in the file.
    headers: dict[str, str]
    ignored_headers: list[str] = field(default_factory=list)


def import_table_read(*, kind: str, filename: str, data: bytes) -> ImportTable:
    """Parse an uploaded .xlsx or .csv file into rows keyed by column.

    Raises ``ImportFileError`` with a message for the user when the file is empty,
    too large, of the wrong type, or lacks the headers this kind of import needs."""
    spec = IMPORT_KINDS[kind]
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(size)d MB. Split it into smaller files.")
            % {"size": MAX_FILE_BYTES // (1024 * 1024)}
        )
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(
            _("Old Excel files (.xls) cannot be read. Save the file as .xlsx or CSV.")
        )
    if extension == "xlsx":
        raw_rows = xlsx_rows(data)
        if spec.xlsx_cell is not None:
            raw_rows = ([spec.xlsx_cell(v) for v in values] for values in raw_rows)
    elif extension == "csv":
        raw_rows = csv_rows(data)
    else:
        raise ImportFileError(_("Upload an Excel (.xlsx) or CSV (.csv) file."))
    return table_from_rows(kind, spec.columns, raw_rows)


# --- Formats ---------------------------------------------------------------------------


def xlsx_rows(data: bytes) -> Iterable[list]:
    """The first sheet's rows as lists of cell values (at most MAX_COLUMNS each)."""
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ImportFileError(_("This file is not a valid Excel (.xlsx) workbook."))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on malformed files
        raise ImportFileError(_("This file is not a valid Excel (.xlsx) workbook.")) from exc

    def rows():
        try:
            sheet = workbook.worksheets[0] if workbook.worksheets else None
            if sheet is None:
                return
            for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
                yield list(values)
        except ImportFileError:
            raise
        except Exception as exc:
            raise ImportFileError(_("This file is not a valid Excel (.xlsx) workbook.")) from exc
        finally:
            workbook.close()

    return rows()


def csv_rows(data: bytes) -> Iterable[list]:
    """The rows of a CSV text in UTF-8 (with or without BOM) or GBK."""
    if b"\x00" in data[:4096]:
        raise ImportFileError(_("This file is not a CSV text file."))
    # Excel saves "CSV UTF-8" with a BOM; Chinese Excel's plain "CSV" is GBK.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("The CSV file must be saved as UTF-8 or GBK text."))
    delimiter = csv_delimiter(text)

    def rows():
        try:
            for values in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
                yield values[:MAX_COLUMNS]
        except csv.Error as exc:
            message = _("The CSV file is malformed: %(error)s") % {"error": exc}
            raise ImportFileError(message) from exc

    return rows()


def csv_delimiter(text: str) -> str:
    """Comma, or tab / semicolon when the first line that has any of them says so
    (csv.Sniffer guesses wrongly on short files with Chinese text)."""
    for line in text[:65536].splitlines():
        counts = {d: line.count(d) for d in (",", "\t", ";")}
        if any(counts.values()):
            return max(counts, key=counts.get)
    return ","


def cell_text(value) -> str:
    """A cell's value as the text a row check reads."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        # A number typed into Excel (a phone number, an ID number that lost its digits).
        return str(int(value))
    return str(value).strip()


# --- Headers -----------------------------------------------------------------------------


def header_key(text) -> str:
    """``身份证号*``, ``身份证号（必填）``, ``ID_Number`` all read as one header."""
    text = str(text or "")
    text = re.sub(r"[（(【\[].*?[）)】\]]", "", text)
    text = text.replace("*", "").replace("_", " ").replace("\u3000", " ")
    return " ".join(text.split()).lower()


def header_lookup(columns: Sequence[ImportColumn]) -> dict[str, str]:
    """Every accepted header text (as ``header_key`` reads it) -> its column key."""
    return {header_key(h): c.key for c in columns for h in c.headers}


def table_from_rows(kind, columns, raw_rows: Iterable[list]) -> ImportTable:
    """The rows below the header row, keyed by column; empty rows are skipped."""
    lookup = header_lookup(columns)
    iterator = iter(raw_rows)
    header_row, header_number = _header_row_find(iterator, lookup, columns)
    positions, headers, ignored = _header_positions(header_row, lookup, columns)
    rows = []
    for number, values in enumerate(iterator, start=header_number + 1):
        cells = [cell_text(v) for v in values]
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(
                _("The file has more than %(limit)d rows. Split it into smaller files.")
                % {"limit": MAX_ROWS}
            )
        rows.append(
            ImportRow(
                number=number,
                values={
                    key: cells[index] if index < len(cells) else ""
                    for key, index in positions.items()
                },
            )
        )
    if not rows:
        raise ImportFileError(_("The file has headers but no data rows."))
    return ImportTable(kind=kind, rows=rows, headers=headers, ignored_headers=ignored)


def _header_row_find(iterator, lookup: dict[str, str], columns) -> tuple[list[str], int]:
    """The first of the top rows naming two or more known columns, and its number."""
    seen_any = False
    for number, values in enumerate(iterator, start=1):
        cells = [cell_text(v) for v in values]
        if any(cells):
            seen_any = True
        if sum(1 for c in cells if header_key(c) in lookup) >= 2:
            return cells, number
        if number >= HEADER_SCAN_ROWS:
            break
    if not seen_any:
        raise ImportFileError(_("The file is empty."))
    raise ImportFileError(
        _(
            "No recognised column headers were found. "
            "Use the headers of the example file: %(headers)s"
        )
        % {"headers": "、".join(c.headers[0] for c in columns)}
    )


def _header_positions(header_row: list[str], lookup: dict[str, str], columns):
    """Column key -> cell index and -> header text, and the headers no column has.
    Two headers for one column, or a required column missing, refuse the file."""
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored = []
    for index, text in enumerate(header_row):
        key = lookup.get(header_key(text))
        if key is None:
            if text:
                ignored.append(text)
            continue
        if key in positions:
            raise ImportFileError(
                _("The columns “%(first)s” and “%(second)s” mean the same thing; keep one.")
                % {"first": headers[key], "second": text}
            )
        positions[key] = index
        headers[key] = text
    missing = [c for c in columns if c.required and c.key not in positions]
    if missing:
        raise ImportFileError(
            _("Required columns are missing: %(columns)s")
            % {"columns": "、".join(f"{c.headers[0]} ({c.label})" for c in missing)}
        )
    return positions, headers, ignored
