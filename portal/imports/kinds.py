"""What a kind of import declares, and the registry of kinds.

Each app registers its kinds (members, households, service requests, …) with
``register_import_kind``: the columns, with the header texts a file may use for
each, and a couple of example rows. The reader, the report and the example file
work from this declaration; the kind's own importer checks and writes its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class ImportColumn:
    key: str
    label: Promise
    # Header texts accepted for this column; the first is the one the example uses.
    headers: tuple[str, ...]
    required: bool = False
    private: bool = False


@dataclass(frozen=True)
class ImportKind:
    name: str  # "members", "households", "requests", ...
    columns: tuple[ImportColumn, ...]
    # Two or so rows of made-up data for the example file (values by column key).
    example_rows: tuple[dict, ...] = ()
    # What an Excel cell's value becomes before it is read as text (e.g. keeping
    # the time of a date-time cell, where the default keeps the date).
    xlsx_cell: Callable | None = None

    @property
    def columns_by_key(self) -> dict[str, ImportColumn]:
        return {c.key: c for c in self.columns}


# Each app registers its kinds of import with ``register_import_kind``.
IMPORT_KINDS: dict[str, ImportKind] = {}


def register_import_kind(name: str, columns, example_rows=(), *, xlsx_cell=None) -> ImportKind:
    kind = ImportKind(name, tuple(columns), tuple(example_rows), xlsx_cell)
    IMPORT_KINDS[name] = kind
    return kind


# --- Columns several kinds share -------------------------------------------------------


def contact_phone_column(key: str = "phone") -> ImportColumn:
    """A contact phone (a household's, a resident's): private."""
    return ImportColumn(
        key,
        gettext_lazy("Phone"),
        ("联系电话", "电话", "手机号", "phone", "mobile"),
        private=True,
    )


def address_column(key: str = "address") -> ImportColumn:
    """A home or service address: private."""
    return ImportColumn(key, gettext_lazy("Address"), ("地址", "住址", "address"), private=True)
