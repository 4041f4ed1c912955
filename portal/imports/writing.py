"""Writing an import: all or nothing.

``import_finish`` turns a kind's checked rows into the result the report
shows; unless it is a dry run, and only when no row has an error, it runs the
kind's write in one transaction together with the audit entry. When the
database refuses a row meanwhile (someone added the same record between the
check and the write), the whole write rolls back and the result says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.audit import audit_record
from portal.imports.checking import RowError
from portal.models import AuditEntry

# Rows per INSERT of a bulk write.
BATCH_SIZE = 500


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


def import_finish(
    *,
    kind: str,
    total: int,
    errors: list[RowError],
    dry_run: bool,
    write: Callable[[], int],
    user,
    model,
    source: str,
) -> ImportResult:
    """The result of checking ``total`` rows of ``kind``. Unless ``dry_run``, and
    only if there are rows and no errors, ``write`` (which returns how many
    records it created) runs in one transaction with the audit entry."""
    result = ImportResult(kind=kind, total=total, errors=errors, dry_run=dry_run)
    if dry_run or not result.ok:
        return result
    return import_write(result, write, user=user, model=model, source=source)


def import_write(result: ImportResult, write: Callable[[], int], *, user, model, source: str):
    """Run ``write`` and audit it in one transaction; a conflict rolls both back
    and is reported as an error that is no row's fault."""
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
