"""All-or-nothing writing on its own (portal/imports/writing.py): nothing is
written on a dry run or when a row has an error; a clean file is written with its
audit entry in one transaction; a conflict during the write rolls back every row
and the audit entry, and is reported."""

import pytest
from django.db import IntegrityError

from branches.models import CareTag
from portal.imports.checking import RowError
from portal.imports.writing import import_finish
from portal.models import AuditEntry

pytestmark = pytest.mark.django_db

ROW_ERROR = RowError(row=3, column="name", label="Name", code="required", message="required")


def finish(write, *, errors=(), dry_run=False, total=2, user=None):
    return import_finish(
        kind="tags",
        total=total,
        errors=list(errors),
        dry_run=dry_run,
        write=write,
        user=user,
        model=CareTag,
        source="tags.csv",
    )


def write_tags(*names, then_fail=False):
    def write():
        for name in names:
            CareTag.objects.create(name=name)
        if then_fail:
            raise IntegrityError("as if another import added the same record")
        return len(names)

    return write


def import_audits():
    return AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT)


def test_a_clean_file_is_written_and_audited(users):
    result = finish(write_tags("独居老人", "残疾人"), user=users.secretary)

    assert result.ok and result.created == 2 and not result.dry_run
    assert set(CareTag.objects.values_list("name", flat=True)) == {"独居老人", "残疾人"}
    entry = import_audits().get()
    assert entry.actor == users.secretary
    assert "created=2" in entry.detail and "file=tags.csv" in entry.detail


def test_a_dry_run_writes_nothing():
    result = finish(write_tags("独居老人"), dry_run=True)

    assert result.ok and result.created == 0
    assert not CareTag.objects.exists() and not import_audits().exists()


def test_a_row_error_writes_nothing():
    result = finish(write_tags("独居老人"), errors=[ROW_ERROR])

    assert not result.ok and result.created == 0
    assert (result.error_rows, result.ok_rows) == (1, 1)
    assert not CareTag.objects.exists() and not import_audits().exists()


def test_a_file_without_rows_writes_nothing():
    result = finish(write_tags("独居老人"), total=0)

    assert not result.ok and not CareTag.objects.exists()


def test_a_conflict_during_the_write_rolls_back_every_row_and_the_audit(users):
    result = finish(write_tags("独居老人", "残疾人", then_fail=True), user=users.secretary)

    assert result.created == 0 and not result.ok
    assert [(e.row, e.code) for e in result.errors] == [(None, "conflict")]
    assert not CareTag.objects.exists() and not import_audits().exists()
