"""Checking the rows of an import: one ``RowChecker`` per row collects that row's
errors, labelled by column, with private values (ID numbers, phones, addresses)
masked; the ``parse_*`` helpers read one value each (dates, choices, yes/no,
ID numbers, mobiles, lists) and report what is wrong with it.

A kind's importer checks its rows with ``rows_check`` and its own row check,
which reads every value through the checker and returns what it would write;
the kind's lookups against the database (duplicates, the tree, the user's scope)
run once per file, chunked with ``chunks``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.imports.kinds import IMPORT_KINDS, ImportColumn
from portal.imports.reading import ImportRow
from portal.masking import MASKS, mask_phone
from portal.validators import normalise_mobile, validate_id_number, validate_mobile

T = TypeVar("T")

# Lookups with IN (...) are chunked below SQLite's variable limit.
CHUNK = 500


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: not one row's fault (e.g. the database changed meanwhile)
    column: str
    label: str
    code: str
    message: str
    value: str = ""  # masked when the column is private


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


def rows_check(
    kind: str, rows: Sequence[ImportRow], check_row: Callable[[RowChecker], T]
) -> tuple[list[T], list[RowError]]:
    """Run ``check_row`` on every row of a file of ``kind``, in order: what it
    returned for the rows without an error, and the errors of all rows."""
    columns = IMPORT_KINDS[kind].columns_by_key
    today = timezone.localdate()
    errors: list[RowError] = []
    checked = []
    for row in rows:
        checker = RowChecker(row, columns, errors, today)
        value = check_row(checker)
        if not checker.failed:
            checked.append(value)
    return checked, errors


# --- Values ------------------------------------------------------------------------------


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")

YES = {"是", "y", "yes", "true", "1", "√", "在职"}

NO = {"否", "n", "no", "false", "0", "×", "不在职"}

LIST_SPLIT = re.compile(r"[、,，;；/|]+")


def parse_date(checker: RowChecker, key: str) -> date | None:
    """A date in one of DATE_FORMATS, not in the future; None when empty."""
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


def parse_choice(checker: RowChecker, key: str, choices: dict, default=None, *, shown=None):
    """The value ``choices`` maps the text to (lower-cased); ``default`` when empty.
    An unknown text is reported with the allowed values: ``shown``, or else the
    Chinese keys of ``choices``."""
    text = checker.value(key)
    if not text:
        return default
    found = choices.get(text.strip().lower())
    if found is None:
        if shown is None:
            shown = dict.fromkeys(k for k in choices if not k.isascii())
        checker.error(
            key,
            "bad_choice",
            _("This is not one of the allowed values: %(choices)s") % {"choices": "、".join(shown)},
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


def parse_list(
    checker: RowChecker,
    key: str,
    find: Callable[[str], T | None],
    *,
    code: str,
    message: str,
    allowed: Sequence[str],
) -> list[T]:
    """The distinct items of a list cell (``党小组长、委员``), each found with
    ``find``. A part ``find`` does not know is reported with ``message``
    (``%(value)s``: the part, ``%(choices)s``: the ``allowed`` texts)."""
    found: list[T] = []
    for part in LIST_SPLIT.split(checker.value(key)):
        part = part.strip()
        if not part:
            continue
        item = find(part)
        if item is None:
            choices = "、".join(allowed) or "—"
            checker.error(
                key, code, message % {"value": part, "choices": choices}, show_value=False
            )
        elif item not in found:
            found.append(item)
    return found


def clean_id_number(text: str) -> str:
    return "".join(text.lstrip("'").split()).upper()


def parse_id_number(checker: RowChecker, key: str) -> str:
    """A valid ID number (check digit, birth date); required."""
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
    """A mainland mobile number, normalised; empty when not filled in."""
    value = normalise_mobile(checker.value(key).lstrip("'"))
    if not value:
        return ""
    try:
        validate_mobile(value)
    except ValidationError as exc:
        checker.error(key, exc.code or "mobile_format", exc.messages[0])
        return ""
    return value


# --- Lookups --------------------------------------------------------------------------------


def chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def field_limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length
