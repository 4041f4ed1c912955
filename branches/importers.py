"""Importing party members and households from Excel (.xlsx) or CSV files.

Three steps, each usable on its own:

* ``import_table_read`` turns the uploaded bytes into rows keyed by column
  (Chinese headers, English aliases; UTF-8, UTF-8 with BOM or GBK CSV);
* ``member_import`` / ``household_import`` check every row against the
  validators, the organisation tree, the importing user's scope, the rest of
  the file and the database;
* unless it is a dry run, and only when no row has an error, they write every
  row in one transaction with ``bulk_create`` (all or nothing), audit it, and
  queue the new records for the search index (``index_later``, on commit).

Messages are English msgids translated to Chinese; private values (ID numbers,
mobile numbers, addresses) appear in reports only masked.
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
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from branches.forms import pages_in_scope
from branches.models import (
    Building,
    BuildingGroupPage,
    CareTag,
    Gender,
    GridBranchPage,
    Household,
    Member,
    PartyPost,
)
from branches.visibility import buildings_visible_to
from portal.audit import audit_record
from portal.crypto import keyed_hash, keyed_hashes
from portal.duplicates import ID_NUMBER_HELD_ELSEWHERE_IMPORT, held_elsewhere_audit, held_hashes
from portal.exports import csv_bytes, xlsx_row
from portal.masking import mask_address, mask_id_number, mask_phone
from portal.models import AuditEntry
from portal.validators import (
    id_check_digit,
    normalise_mobile,
    validate_id_number,
    validate_mobile,
)
from search.tasks import index_later

MEMBERS = "members"
HOUSEHOLDS = "households"

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# Wide sheets are cut here; no import needs more columns than this.
MAX_COLUMNS = 60
# The header may sit below a title row or two, as in many hand-made sheets.
HEADER_SCAN_ROWS = 10
# Lookups with IN (...) are chunked below SQLite's variable limit.
_CHUNK = 500
_BATCH_SIZE = 500


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


MEMBER_COLUMNS = (
    ImportColumn("name", gettext_lazy("Name"), ("姓名", "name"), required=True),
    ImportColumn("gender", gettext_lazy("Gender"), ("性别", "gender", "sex"), required=True),
    ImportColumn(
        "birth_date", gettext_lazy("Birth date"), ("出生日期", "birth date", "date of birth")
    ),
    ImportColumn(
        "id_number",
        gettext_lazy("ID number"),
        ("身份证号", "身份证号码", "公民身份号码", "id number", "id no", "id card number"),
        required=True,
        private=True,
    ),
    ImportColumn(
        "phone",
        gettext_lazy("Mobile number"),
        ("手机号", "手机号码", "手机", "mobile", "mobile number", "phone", "phone number"),
        private=True,
    ),
    ImportColumn(
        "join_date",
        gettext_lazy("Date joined the Party"),
        ("入党日期", "入党时间", "join date", "date joined", "date joined the party"),
    ),
    ImportColumn(
        "status", gettext_lazy("Member status"), ("党员类别", "党员状态", "status", "member status")
    ),
    ImportColumn(
        "employed_elsewhere",
        gettext_lazy("Employed elsewhere"),
        ("在职党员", "是否在职党员", "employed elsewhere", "employed"),
    ),
    ImportColumn("employer", gettext_lazy("Employer"), ("工作单位", "employer", "work unit")),
    ImportColumn(
        "branch", gettext_lazy("Branch"), ("所属支部", "党支部", "支部", "branch"), required=True
    ),
    ImportColumn(
        "building_group",
        gettext_lazy("Building group"),
        ("所属党小组", "党小组", "building group", "group"),
    ),
    ImportColumn(
        "party_posts",
        gettext_lazy("Party posts"),
        ("党内职务", "职务", "party posts", "party post", "posts"),
    ),
)

HOUSEHOLD_COLUMNS = (
    ImportColumn("estate", gettext_lazy("Estate"), ("小区", "小区名称", "estate"), required=True),
    ImportColumn("building", gettext_lazy("Building"), ("楼栋", "楼号", "building"), required=True),
    ImportColumn(
        "room",
        gettext_lazy("Unit and room"),
        ("单元房号", "房号", "单元及房号", "unit and room", "room"),
        required=True,
    ),
    ImportColumn(
        "head_name",
        gettext_lazy("Head of household"),
        ("户主", "户主姓名", "head of household", "head"),
        required=True,
    ),
    ImportColumn(
        "phone",
        gettext_lazy("Phone"),
        ("联系电话", "电话", "手机号", "phone", "mobile"),
        private=True,
    ),
    ImportColumn("address", gettext_lazy("Address"), ("地址", "住址", "address"), private=True),
    ImportColumn(
        "care_tags", gettext_lazy("Care tags"), ("关怀标签", "关怀对象", "care tags", "tags")
    ),
    ImportColumn("branch", gettext_lazy("Branch"), ("所属支部", "党支部", "支部", "branch")),
)

COLUMNS = {MEMBERS: MEMBER_COLUMNS, HOUSEHOLDS: HOUSEHOLD_COLUMNS}

_MASKS = {"id_number": mask_id_number, "phone": mask_phone, "address": mask_address}


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


class _RowChecker:
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
            raw = _MASKS.get(key, mask_phone)(raw)
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
    columns = COLUMNS[kind]
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
        raw_rows = _xlsx_rows(data)
    elif extension == "csv":
        raw_rows = _csv_rows(data)
    else:
        raise ImportFileError(_("Upload an Excel (.xlsx) or CSV (.csv) file."))
    return _table_from_rows(kind, columns, raw_rows)


def _xlsx_rows(data: bytes) -> Iterable[list]:
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


def _csv_rows(data: bytes) -> Iterable[list]:
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


def _table_from_rows(kind, columns, raw_rows: Iterable[list]) -> ImportTable:
    lookup = _header_map(columns)
    iterator = iter(raw_rows)
    header_row = None
    header_number = 0
    seen_any = False
    for number, values in enumerate(iterator, start=1):
        cells = [_cell_text(v) for v in values]
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
        cells = [_cell_text(v) for v in values]
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


def _cell_text(value) -> str:
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

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")

_YES = {"是", "y", "yes", "true", "1", "√", "在职"}
_NO = {"否", "n", "no", "false", "0", "×", "不在职"}

_GENDERS = {
    "男": Gender.MALE,
    "m": Gender.MALE,
    "male": Gender.MALE,
    "女": Gender.FEMALE,
    "f": Gender.FEMALE,
    "female": Gender.FEMALE,
}

_STATUSES = {
    "正式党员": Member.Status.FULL,
    "正式": Member.Status.FULL,
    "full": Member.Status.FULL,
    "full member": Member.Status.FULL,
    "预备党员": Member.Status.PROBATIONARY,
    "预备": Member.Status.PROBATIONARY,
    "probationary": Member.Status.PROBATIONARY,
    "probationary member": Member.Status.PROBATIONARY,
}

_POSTS = {
    "书记": PartyPost.SECRETARY,
    "支部书记": PartyPost.SECRETARY,
    "副书记": PartyPost.DEPUTY_SECRETARY,
    "支部副书记": PartyPost.DEPUTY_SECRETARY,
    "委员": PartyPost.COMMITTEE_MEMBER,
    "支委": PartyPost.COMMITTEE_MEMBER,
    "支委委员": PartyPost.COMMITTEE_MEMBER,
    "组长": PartyPost.GROUP_LEADER,
    "小组长": PartyPost.GROUP_LEADER,
    "党小组长": PartyPost.GROUP_LEADER,
    "中心户户主": PartyPost.CENTRAL_HOUSEHOLD_HEAD,
    "党员中心户户主": PartyPost.CENTRAL_HOUSEHOLD_HEAD,
    "示范岗": PartyPost.DEMO_POST_HOLDER,
    "党员示范岗": PartyPost.DEMO_POST_HOLDER,
    **{value: value for value in PartyPost.values},
    **{str(label).lower(): value for value, label in PartyPost.choices},
}

_LIST_SPLIT = re.compile(r"[、,，;；/|]+")


def _parse_date(checker: _RowChecker, key: str) -> date | None:
    text = checker.value(key)
    if not text:
        return None
    for fmt in _DATE_FORMATS:
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


def _parse_choice(checker: _RowChecker, key: str, choices: dict, default=None):
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


def _parse_bool(checker: _RowChecker, key: str) -> bool:
    text = checker.value(key).lower()
    if not text:
        return False
    if text in _YES:
        return True
    if text not in _NO:
        checker.error(key, "bad_choice", _("Write 是 (yes) or 否 (no)."))
    return False


def _parse_posts(checker: _RowChecker, key: str) -> list[str]:
    posts = []
    for part in _LIST_SPLIT.split(checker.value(key)):
        part = part.strip()
        if not part:
            continue
        post = _POSTS.get(part.lower())
        if post is None:
            checker.error(
                key,
                "bad_choice",
                _("“%(value)s” is not a party post. Allowed: %(choices)s")
                % {
                    "value": part,
                    "choices": "、".join(k for k in _POSTS if not k.isascii()),
                },
                show_value=False,
            )
        elif post not in posts:
            posts.append(post)
    return posts


def _clean_id_number(text: str) -> str:
    return "".join(text.lstrip("'").split()).upper()


def _parse_id_number(checker: _RowChecker, key: str) -> str:
    value = _clean_id_number(checker.value(key))
    if not value:
        checker.required(key)
        return ""
    try:
        validate_id_number(value)
    except ValidationError as exc:
        checker.error(key, exc.code or "id_format", exc.messages[0])
        return ""
    return value


def _parse_mobile(checker: _RowChecker, key: str) -> str:
    value = normalise_mobile(checker.value(key).lstrip("'"))
    if not value:
        return ""
    try:
        validate_mobile(value)
    except ValidationError as exc:
        checker.error(key, exc.code or "mobile_format", exc.messages[0])
        return ""
    return value


def _chunks(items: Sequence, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _field_limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


# --- Finding branches and groups -------------------------------------------------------


class _BranchResolver:
    """Branches by title, with the user's scope; two queries for the whole file."""

    def __init__(self, user, titles: set[str]):
        titles = {t for t in titles if t}
        self.by_title: dict[str, list[GridBranchPage]] = {}
        for page in GridBranchPage.objects.filter(title__in=titles).only("pk", "path", "title"):
            self.by_title.setdefault(page.title, []).append(page)
        self.in_scope = set(
            pages_in_scope(user, GridBranchPage.objects.filter(title__in=titles)).values_list(
                "pk", flat=True
            )
        )

    def resolve(self, checker: _RowChecker, key: str) -> GridBranchPage | None:
        title = checker.value(key)
        candidates = self.by_title.get(title, [])
        if not candidates:
            checker.error(key, "unknown_branch", _("There is no branch with this name."))
            return None
        allowed = [p for p in candidates if p.pk in self.in_scope]
        if not allowed:
            checker.error(key, "out_of_scope", _("You may not import into this branch."))
            return None
        if len(allowed) > 1:
            checker.error(
                key, "ambiguous_branch", _("Several branches have this name; rename one of them.")
            )
            return None
        return allowed[0]


# --- Members ----------------------------------------------------------------------------


def member_import(
    *, rows: Sequence[ImportRow], user, dry_run: bool, source: str = ""
) -> ImportResult:
    """Check every member row; unless ``dry_run``, and only if no row has an error,
    create all of them in one transaction and write an audit entry.

    Rows must be inside the user's scope (their branches). Duplicate ID numbers,
    within the file or against existing members, are errors."""
    errors: list[RowError] = []
    branches = _BranchResolver(user, {r.values.get("branch", "") for r in rows})
    group_titles = {r.values.get("building_group", "") for r in rows} - {""}
    groups: dict[str, list[BuildingGroupPage]] = {}
    group_pages = BuildingGroupPage.objects.filter(title__in=group_titles)
    for page in group_pages.only("pk", "path", "title"):
        groups.setdefault(page.title, []).append(page)
    # Members the user may see are named as duplicates; others only get a neutral
    # refusal (no membership oracle) and the hit is audited.
    existing_hashes, hidden_hashes = held_hashes(
        user=user,
        qs=Member.objects.all(),
        hash_field="id_number_hash",
        hashes=_existing_member_hashes(rows),
    )
    hidden_hits = []

    columns = {c.key: c for c in MEMBER_COLUMNS}
    today = timezone.localdate()
    seen_ids: dict[str, int] = {}
    members = []
    for row in rows:
        checker = _RowChecker(row, columns, errors, today)
        name = checker.max_length("name", checker.required("name"), _field_limit(Member, "name"))
        gender = _parse_choice(checker, "gender", _GENDERS) if checker.required("gender") else None
        id_number = _parse_id_number(checker, "id_number")
        if id_number:
            digest = keyed_hash(id_number)
            if digest in seen_ids:
                checker.error(
                    "id_number",
                    "duplicate_in_file",
                    _("This ID number is also on row %(row)d.") % {"row": seen_ids[digest]},
                )
            elif digest in existing_hashes:
                checker.error(
                    "id_number",
                    "duplicate_in_db",
                    _("A member with this ID number already exists."),
                )
            elif digest in hidden_hashes:
                checker.error("id_number", "not_importable", ID_NUMBER_HELD_ELSEWHERE_IMPORT)
                hidden_hits.append(f"row {row.number} {mask_id_number(id_number)}")
            seen_ids.setdefault(digest, row.number)
        birth_date = _parse_date(checker, "birth_date")
        if id_number:
            id_birth = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            if birth_date and birth_date != id_birth:
                checker.error(
                    "birth_date",
                    "birth_date_mismatch",
                    _("The birth date differs from the one in the ID number."),
                )
            birth_date = birth_date or id_birth
        phone = _parse_mobile(checker, "phone")
        join_date = _parse_date(checker, "join_date")
        status = _parse_choice(checker, "status", _STATUSES, default=Member.Status.FULL)
        employed = _parse_bool(checker, "employed_elsewhere")
        employer = checker.max_length(
            "employer", checker.value("employer"), _field_limit(Member, "employer")
        )
        branch = branches.resolve(checker, "branch") if checker.required("branch") else None
        group = _resolve_group(checker, groups, branch)
        posts = _parse_posts(checker, "party_posts")
        if not checker.failed:
            members.append(
                dict(
                    name=name,
                    gender=gender,
                    birth_date=birth_date,
                    id_number=id_number,
                    phone=phone,
                    join_date=join_date,
                    status=status,
                    employed_elsewhere=employed,
                    employer=employer,
                    branch=branch,
                    building_group=group,
                    party_posts=posts,
                )
            )

    held_elsewhere_audit(
        user=user,
        qs=Member.objects.all(),
        field="id_number",
        masked=hidden_hits,
        where=f"import file={source}" if source else "import",
    )
    result = ImportResult(kind=MEMBERS, total=len(rows), errors=errors, dry_run=dry_run)
    if dry_run or not result.ok:
        return result
    return _write(
        result,
        lambda: _member_write(members),
        user=user,
        model=Member,
        source=source,
    )


def _existing_member_hashes(rows: Sequence[ImportRow]) -> set[str]:
    """The keyed hashes of the file's ID numbers that some member already holds."""
    current = {}  # digest under any hash key (during a rotation) -> under the current one
    for row in rows:
        value = _clean_id_number(row.values.get("id_number", ""))
        if value:
            current.update(dict.fromkeys(keyed_hashes(value), keyed_hash(value)))
    found = set()
    for chunk in _chunks(sorted(current)):
        stored = Member.objects.filter(id_number_hash__in=chunk)
        found.update(current[h] for h in stored.values_list("id_number_hash", flat=True))
    return found


def _resolve_group(checker: _RowChecker, groups, branch) -> BuildingGroupPage | None:
    title = checker.value("building_group")
    if not title:
        return None
    candidates = groups.get(title, [])
    if not candidates:
        checker.error(
            "building_group", "unknown_group", _("There is no building group with this name.")
        )
        return None
    if branch is None:
        return None
    under = [g for g in candidates if g.path.startswith(branch.path)]
    if not under:
        checker.error(
            "building_group",
            "group_not_in_branch",
            _("This building group belongs to another branch."),
        )
        return None
    return under[0]


def _member_write(members: list[dict]) -> int:
    # bulk_create runs each field's pre_save, so the keyed hashes are filled in.
    created = Member.objects.bulk_create([Member(**m) for m in members], batch_size=_BATCH_SIZE)
    # bulk_create sends no post_save: index the new members once this commits.
    index_later(Member, [m.pk for m in created])
    return len(members)


# --- Households -------------------------------------------------------------------------


def household_import(
    *, rows: Sequence[ImportRow], user, dry_run: bool, source: str = ""
) -> ImportResult:
    """Check every household row; unless ``dry_run``, and only if no row has an
    error, create all of them (with their care tags) in one transaction and audit it.

    A building is found by estate and name among the buildings in the user's scope
    (narrowed by the branch column when the file has one); a building and room
    already in the file or in the database is an error."""
    errors: list[RowError] = []
    buildings = _BuildingResolver(user, rows)
    existing_rooms = _existing_rooms(rows, buildings.ids)
    tags = {t.name: t for t in CareTag.objects.all()}

    columns = {c.key: c for c in HOUSEHOLD_COLUMNS}
    today = timezone.localdate()
    seen_rooms: dict[tuple[int, str], int] = {}
    households = []
    household_tags = []
    for row in rows:
        checker = _RowChecker(row, columns, errors, today)
        estate = checker.required("estate")
        building_name = checker.required("building")
        room = checker.max_length(
            "room", _clean_room(checker.required("room")), _field_limit(Household, "room")
        )
        head_name = checker.max_length(
            "head_name", checker.required("head_name"), _field_limit(Household, "head_name")
        )
        phone = _parse_mobile(checker, "phone")
        address = checker.value("address")
        row_tags = _parse_tags(checker, tags)
        building = buildings.resolve(checker) if estate and building_name else None
        if building is not None and room:
            key = (building.pk, room)
            if key in seen_rooms:
                checker.error(
                    "room",
                    "duplicate_in_file",
                    _("This building and room are also on row %(row)d.") % {"row": seen_rooms[key]},
                )
            elif key in existing_rooms:
                checker.error(
                    "room",
                    "duplicate_in_db",
                    _("A household in this building and room already exists."),
                )
            seen_rooms.setdefault(key, row.number)
        if not checker.failed:
            households.append(
                dict(
                    building=building,
                    room=room,
                    head_name=head_name,
                    phone=phone,
                    address=address or f"{building.estate}{building.name}{room}",
                )
            )
            household_tags.append(row_tags)

    result = ImportResult(kind=HOUSEHOLDS, total=len(rows), errors=errors, dry_run=dry_run)
    if dry_run or not result.ok:
        return result
    return _write(
        result,
        lambda: _household_write(households, household_tags),
        user=user,
        model=Household,
        source=source,
    )


def _clean_room(text: str) -> str:
    return "".join(text.split())


class _BuildingResolver:
    """Buildings by estate and name (narrowed by the branch column when filled in),
    with the user's scope; two queries per chunk of estates for the whole file."""

    def __init__(self, user, rows: Sequence[ImportRow]):
        estates = sorted({r.values.get("estate", "") for r in rows} - {""})
        names = sorted({r.values.get("building", "") for r in rows} - {""})
        self.by_key: dict[tuple[str, str], list[Building]] = {}
        self.visible: set[int] = set()
        self.branch_titles: set[str] = set()
        for chunk in _chunks(estates):
            qs = Building.objects.filter(estate__in=chunk, name__in=names)
            for building in qs.select_related("branch").only(
                "pk", "estate", "name", "branch__title"
            ):
                self.by_key.setdefault((building.estate, building.name), []).append(building)
                self.branch_titles.add(building.branch.title)
            self.visible.update(buildings_visible_to(user, qs).values_list("pk", flat=True))
        self.ids = {b.pk for found in self.by_key.values() for b in found}
        wanted_branches = {r.values.get("branch", "") for r in rows} - {""} - self.branch_titles
        # Branch names that match no candidate building may still be real branches.
        self.other_branches = set(
            GridBranchPage.objects.filter(title__in=wanted_branches).values_list("title", flat=True)
        )

    def resolve(self, checker: _RowChecker) -> Building | None:
        candidates = self.by_key.get((checker.value("estate"), checker.value("building")), [])
        branch_title = checker.value("branch")
        if branch_title:
            if branch_title not in self.branch_titles | self.other_branches:
                checker.error("branch", "unknown_branch", _("There is no branch with this name."))
                return None
            candidates = [b for b in candidates if b.branch.title == branch_title]
        if not candidates:
            checker.error(
                "building",
                "unknown_building",
                _("There is no building with this estate and name in the branch."),
            )
            return None
        allowed = [b for b in candidates if b.pk in self.visible]
        if not allowed:
            checker.error(
                "branch" if branch_title else "building",
                "out_of_scope",
                _("You may not import into this branch."),
            )
            return None
        if len(allowed) > 1:
            checker.error(
                "building",
                "ambiguous_building",
                _("Several branches have a building with this name; fill in the branch column."),
            )
            return None
        return allowed[0]


def _existing_rooms(rows: Sequence[ImportRow], building_ids: set[int]) -> set[tuple[int, str]]:
    rooms = sorted({_clean_room(r.values.get("room", "")) for r in rows} - {""})
    found = set()
    for chunk in _chunks(rooms):
        found.update(
            Household.objects.filter(building_id__in=building_ids, room__in=chunk).values_list(
                "building_id", "room"
            )
        )
    return found


def _parse_tags(checker: _RowChecker, tags: dict[str, CareTag]) -> list[CareTag]:
    found = []
    for part in _LIST_SPLIT.split(checker.value("care_tags")):
        part = part.strip()
        if not part:
            continue
        tag = tags.get(part)
        if tag is None:
            checker.error(
                "care_tags",
                "bad_choice",
                _("“%(value)s” is not a care tag. Allowed: %(choices)s")
                % {"value": part, "choices": "、".join(tags) or "—"},
                show_value=False,
            )
        elif tag not in found:
            found.append(tag)
    return found


def _household_write(pending: list[dict], household_tags: list[list[CareTag]]) -> int:
    households = [Household(**h) for h in pending]
    Household.objects.bulk_create(households, batch_size=_BATCH_SIZE)
    if any(h.pk is None for h in households):
        # Backends that cannot return ids from a bulk insert: look them up.
        rows = Household.objects.filter(
            building_id__in={h.building_id for h in households}
        ).values_list("building_id", "room", "pk")
        ids = {(building_id, room): pk for building_id, room, pk in rows}
        for household in households:
            household.pk = ids[(household.building_id, household.room)]
    if any(household_tags):
        through = Household.care_tags.through
        through.objects.bulk_create(
            [
                through(household_id=household.pk, caretag_id=tag.pk)
                for household, row_tags in zip(households, household_tags, strict=True)
                for tag in row_tags
            ],
            batch_size=_BATCH_SIZE,
        )
    # bulk_create sends no post_save: index the new households once this commits.
    index_later(Household, [h.pk for h in households])
    return len(households)


# --- Writing ------------------------------------------------------------------------------


def _write(result: ImportResult, write: Callable[[], int], *, user, model, source: str):
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

EXAMPLE_ROWS = {
    MEMBERS: [
        {
            "name": "张伟",
            "gender": "男",
            "birth_date": date(1985, 3, 12),
            "id_number": "11010119850312" + "1234",
            "phone": "13800138001",
            "join_date": date(2008, 7, 1),
            "status": "正式党员",
            "employed_elsewhere": "是",
            "employer": "区教育局",
            "branch": "丰收社区第一网格党支部",
            "building_group": "晓园新村3号楼党小组",
            "party_posts": "党小组长",
        },
        {
            "name": "李娜",
            "gender": "女",
            "birth_date": date(1992, 11, 5),
            "id_number": "11010119921105" + "2345",
            "phone": "13900139002",
            "join_date": date(2023, 6, 28),
            "status": "预备党员",
            "employed_elsewhere": "否",
            "employer": "",
            "branch": "丰收社区第一网格党支部",
            "building_group": "",
            "party_posts": "",
        },
    ],
    HOUSEHOLDS: [
        {
            "estate": "晓园新村",
            "building": "3号楼",
            "room": "2单元301",
            "head_name": "王芳",
            "phone": "13700137003",
            "address": "晓园新村3号楼2单元301",
            "care_tags": "",
            "branch": "丰收社区第一网格党支部",
        },
        {
            "estate": "晓园新村",
            "building": "3号楼",
            "room": "2单元302",
            "head_name": "赵强",
            "phone": "",
            "address": "",
            "care_tags": "",
            "branch": "丰收社区第一网格党支部",
        },
    ],
}


def _example_value(key: str, value):
    if key == "id_number":
        # The example's ID numbers are made up but carry a correct check digit.
        return value[:17] + id_check_digit(value[:17])
    return value


def import_example(*, kind: str, fmt: str) -> bytes:
    """A small file with the expected headers and two rows of made-up data that
    import into the demo tree; ``fmt`` is ``"xlsx"`` or ``"csv"`` (UTF-8 with BOM)."""
    columns = COLUMNS[kind]
    headers = [c.headers[0] for c in columns]
    rows = [[_example_value(c.key, row[c.key]) for c in columns] for row in EXAMPLE_ROWS[kind]]
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
