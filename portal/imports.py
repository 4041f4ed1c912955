"""Importing records from Excel (.xlsx) or CSV files, the pieces every kind of
import shares:

* ``import_table_read`` turns the uploaded bytes into rows keyed by column
  (headers in Chinese or English; UTF-8, UTF-8 with BOM or GBK CSV);
* ``RowChecker`` and the ``parse_*`` helpers check a row's values, collecting
  errors labelled by column, private values masked;
* ``import_write`` writes all rows in one transaction (all or nothing) and
  audits it; ``import_example`` builds a kind's example file.

Each kind (members and households in branches/importers.py, service requests
in volunteers/request_import.py) declares its columns and example rows with
``register_import_kind``, and checks its own rows.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.audit import audit_record
from portal.exports import csv_bytes, xlsx_row
from portal.masking import mask_address, mask_id_number, mask_phone
from portal.models import AuditEntry
from portal.validators import (
    id_check_digit,
    normalise_mobile,
    validate_id_number,
    validate_mobile,
)

MAX_FILE_BYTES = 5 * 1024 * 1024


MAX_ROWS = 20_000


# Wide sheets are cut here; no import needs more columns than this.


MAX_COLUMNS = 60


# The header may sit below a title row or two, as in many hand-made sheets.


HEADER_SCAN_ROWS = 10


# Lookups with IN (...) are chunked below SQLite's variable limit.


CHUNK = 500


BATCH_SIZE = 500


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message is for the user."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


@dataclass(frozen=True)
class ImportColumn:
    key: str
    label: Promise
    # Header texts accepted for this column; the first is the one the example uses.
    headers: tuple[str, ...]
    required: bool = False
    private: bool = False


MASKS = {"id_number": mask_id_number, "phone": mask_phone, "address": mask_address}


@dataclass(frozen=True)
class ImportKind:
    name: str  # "members", "households", "requests", ...
    columns: tuple[ImportColumn, ...]
    # Two or so rows of made-up data for the example file (values by column key).
    example_rows: tuple[dict, ...] = ()
    # What an Excel cell's value becomes before it is read as text (e.g. keeping
    # the time of a date-time cell, where the default keeps the date).
    xlsx_cell: Callable | None = None


# Each app registers its kinds of import with ``register_import_kind``.
IMPORT_KINDS: dict[str, ImportKind] = {}


def register_import_kind(name: str, columns, example_rows=(), *, xlsx_cell=None) -> ImportKind:
    kind = ImportKind(name, tuple(columns), tuple(example_rows), xlsx_cell)
    IMPORT_KINDS[name] = kind
    return kind


# --- Results ---------------------------------------------------------------------------


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


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: not one row's fault (e.g. the database changed meanwhile)
    column: str
    label: str
    code: str
    message: str
    value: str = ""  # masked when the column is private


@dataclass
class ImportResult:
    kind: str
    total: int
    errors: list[RowError]
    dry_run: bool
    created: int = 0

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def ok_rows(self) -> int:
        return max(self.total - len({e.row for e in self.errors if e.row is not None}), 0)

    @property
    def ok(self) -> bool:
        return self.total > 0 and not self.errors


class RowChecker:
    """Collects errors for one row, labelled by column and masked if private."""

    def __init__(
        self, row: ImportRow, columns: dict[str, ImportColumn], sink: list[RowError], today
    ):
        self.row = row
        self.columns = columns
        self.sink = sink
        self.today = today
        self.failed = False

    def value(self, key: str) -> str:
        return self.row.values.get(key, "")

    def error(self, key: str, code: str, message, *, show_value: bool = True) -> None:
        column = self.columns[key]
        raw = self.value(key) if show_value else ""
        if raw and column.private:
            raw = MASKS.get(key, mask_phone)(raw)
        self.sink.append(
            RowError(
                row=self.row.number,
                column=key,
                label=str(column.label),
                code=code,
                message=str(message),
                value=raw,
            )
        )
        self.failed = True

    def required(self, key: str) -> str:
        value = self.value(key)
        if not value:
            self.error(key, "required", _("This value is required."), show_value=False)
        return value

    def max_length(self, key: str, value: str, limit: int) -> str:
        if len(value) > limit:
            self.error(
                key,
                "too_long",
                _("At most %(limit)d characters are allowed.") % {"limit": limit},
            )
        return value


# --- Reading files ---------------------------------------------------------------------


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


def xlsx_rows(data: bytes) -> Iterable[list]:
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
    delimiter = _csv_delimiter(text)

    def rows():
        try:
            for values in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
                yield values[:MAX_COLUMNS]
        except csv.Error as exc:
            message = _("The CSV file is malformed: %(error)s") % {"error": exc}
            raise ImportFileError(message) from exc

    return rows()


def _csv_delimiter(text: str) -> str:
    """Comma, or tab / semicolon when the first line that has any of them says so
    (csv.Sniffer guesses wrongly on short files with Chinese text)."""
    for line in text[:65536].splitlines():
        counts = {d: line.count(d) for d in (",", "\t", ";")}
        if any(counts.values()):
            return max(counts, key=counts.get)
    return ","


def _header_key(text) -> str:
    """``身份证号*``, ``身份证号（必填）``, ``ID_Number`` all read as one header."""
    text = str(text or "")
    text = re.sub(r"[（(【\[].*?[）)】\]]", "", text)
    text = text.replace("*", "").replace("_", " ").replace("\u3000", " ")
    return " ".join(text.split()).lower()


def _header_map(columns: Sequence[ImportColumn]) -> dict[str, str]:
    return {_header_key(h): c.key for c in columns for h in c.headers}


def table_from_rows(kind, columns, raw_rows: Iterable[list]) -> ImportTable:
    lookup = _header_map(columns)
    iterator = iter(raw_rows)
    header_row = None
    header_number = 0
    seen_any = False
    for number, values in enumerate(iterator, start=1):
        cells = [cell_text(v) for v in values]
        if any(cells):
            seen_any = True
        if sum(1 for c in cells if _header_key(c) in lookup) >= 2:
            header_row, header_number = cells, number
            break
        if number >= HEADER_SCAN_ROWS:
            break
    if header_row is None:
        if not seen_any:
            raise ImportFileError(_("The file is empty."))
        raise ImportFileError(
            _(
                "No recognised column headers were found. "
                "Use the headers of the example file: %(headers)s"
            )
            % {"headers": "、".join(c.headers[0] for c in columns)}
        )

    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored = []
    for index, text in enumerate(header_row):
        key = lookup.get(_header_key(text))
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


def cell_text(value) -> str:
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


# --- Parsing values ---------------------------------------------------------------------


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


YES = {"是", "y", "yes", "true", "1", "√", "在职"}


NO = {"否", "n", "no", "false", "0", "×", "不在职"}


LIST_SPLIT = re.compile(r"[、,，;；/|]+")


def parse_date(checker: RowChecker, key: str) -> date | None:
    text = checker.value(key)
    if not text:
        return None
    for fmt in DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    else:
        checker.error(key, "bad_date", _("This is not a date; write it as 2024-07-01."))
        return None
    if parsed > checker.today:
        checker.error(key, "future_date", _("This date is in the future."))
        return None
    return parsed


def parse_choice(checker: RowChecker, key: str, choices: dict, default=None):
    text = checker.value(key)
    if not text:
        return default
    found = choices.get(text.lower())
    if found is None:
        checker.error(
            key,
            "bad_choice",
            _("This is not one of the allowed values: %(choices)s")
            % {"choices": "、".join(dict.fromkeys(k for k in choices if not k.isascii()))},
        )
    return found


def parse_bool(checker: RowChecker, key: str) -> bool:
    text = checker.value(key).lower()
    if not text:
        return False
    if text in YES:
        return True
    if text not in NO:
        checker.error(key, "bad_choice", _("Write 是 (yes) or 否 (no)."))
    return False


def clean_id_number(text: str) -> str:
    return "".join(text.lstrip("'").split()).upper()


def parse_id_number(checker: RowChecker, key: str) -> str:
    value = clean_id_number(checker.value(key))
    if not value:
        checker.required(key)
        return ""
    try:
        validate_id_number(value)
    except ValidationError as exc:
        checker.error(key, exc.code or "id_format", exc.messages[0])
        return ""
    return value


def parse_mobile(checker: RowChecker, key: str) -> str:
    value = normalise_mobile(checker.value(key).lstrip("'"))
    if not value:
        return ""
    try:
        validate_mobile(value)
    except ValidationError as exc:
        checker.error(key, exc.code or "mobile_format", exc.messages[0])
        return ""
    return value


def chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def field_limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


# --- Writing ------------------------------------------------------------------------------


def import_write(result: ImportResult, write: Callable[[], int], *, user, model, source: str):
    try:
        with transaction.atomic():
            created = write()
            audit_record(
                actor=user,
                action=AuditEntry.Action.IMPORT,
                model=model,
                summary=ngettext(
                    "%(n)s record from %(file)s", "%(n)s records from %(file)s", created
                )
                % {"n": created, "file": source or "—"},
                detail=f"{model._meta.label} created={created} rows={result.total} file={source}",
            )
    except IntegrityError:
        # Someone added the same record between the check and the write.
        result.errors.append(
            RowError(
                row=None,
                column="",
                label="",
                code="conflict",
                message=_(
                    "The records changed while importing, so nothing was imported. "
                    "Check the file again."
                ),
            )
        )
        return result
    result.created = created
    return result


# --- Example files -----------------------------------------------------------------------


def _example_value(key: str, value):
    if key == "id_number":
        # The example's ID numbers are made up but carry a correct check digit.
        return value[:17] + id_check_digit(value[:17])
    return value


def import_example(*, kind: str, fmt: str) -> bytes:
    """A small file with the expected headers and two rows of made-up data that
    import into the demo tree; ``fmt`` is ``"xlsx"`` or ``"csv"`` (UTF-8 with BOM)."""
    columns = IMPORT_KINDS[kind].columns
    headers = [c.headers[0] for c in columns]
    rows = [
        [_example_value(c.key, row[c.key]) for c in columns]
        for row in IMPORT_KINDS[kind].example_rows
    ]
    if fmt == "csv":
        return csv_bytes(
            [headers, *([v.isoformat() if isinstance(v, date) else v for v in row] for row in rows)]
        )
    if fmt != "xlsx":
        raise ValueError(fmt)
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = kind
    sheet.append(xlsx_row(sheet, headers))
    for row in rows:
        sheet.append(xlsx_row(sheet, row))
    for column_cells in sheet.iter_cols(min_row=2):
        for cell in column_cells:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(cell.value, str):
                cell.number_format = "@"  # text, so long numbers keep every digit
    for index, _header in enumerate(headers, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = 16
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
