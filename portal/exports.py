"""Spreadsheet downloads (Excel and CSV): one rule for every writer.

Text stays text. A spreadsheet evaluates a cell that begins with ``=``, ``+``,
``-`` or ``@`` (and, after a tab or carriage return, what follows) as a
formula, so a value someone typed (``=HYPERLINK("http://evil", "x")``) would
run on the computer of whoever opens the download (OWASP "CSV injection").
Every such string gets a leading apostrophe (``spreadsheet_text``), and in
xlsx every string cell has the string type (``xlsx_row``). Masked values are
escaped too: ``=1+2小区****`` is no formula either. CSV files start with a
UTF-8 BOM so Excel opens Chinese correctly.

Our own downloads call ``xlsx_row``/``csv_bytes``; every export of Wagtail's
admin (viewset listings and reports) gets the same rule from
``harden_wagtail_exports``."""

import csv
import datetime as dt
import io
import numbers
from urllib.parse import quote

from django.utils import timezone
from django.utils.functional import Promise
from wagtail.admin.views.mixins import SpreadsheetExportMixin

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def spreadsheet_text(value):
    """``value`` as a spreadsheet cell may hold it: a string a spreadsheet would
    read as a formula gets a leading ``'``; anything else is returned as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def xlsx_row(worksheet, values) -> list:
    """Cells for ``worksheet.append``: strings escaped by ``spreadsheet_text``
    and typed as strings, so openpyxl never stores a formula. Works for
    ordinary and write-only worksheets alike."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in values:
        if isinstance(value, Promise):  # a lazy translation
            value = str(value)
        cell = WriteOnlyCell(worksheet, spreadsheet_text(value))
        if isinstance(cell.value, str):
            cell.data_type = "s"
        cells.append(cell)
    return cells


def csv_bytes(rows) -> bytes:
    """``rows`` (lists of values) as CSV for Excel: UTF-8 with a BOM, CRLF line
    ends, every value through ``spreadsheet_text``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([spreadsheet_text(v) for v in row])
    return (CSV_BOM + out.getvalue()).encode("utf-8")


def attachment_header(filename: str, fallback: str) -> str:
    """Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 5987)."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def harden_wagtail_exports() -> None:
    """Give Wagtail's ``SpreadsheetExportMixin`` the project's rules: it is behind
    every admin export (``?export=csv`` / ``?export=xlsx``), the listings of our
    viewsets and snippets and Wagtail's own reports (site history, redirects,
    workflows …) alike, and has no setting or hook for them, so its three methods
    are wrapped once at start-up (``PortalConfig.ready``). Every text value goes
    through ``spreadsheet_text`` (numbers, dates and booleans keep their type),
    times are in the site's time zone (Wagtail writes UTC), and CSV gets a UTF-8
    BOM and charset, and each export is written to the audit log. Tested in
    tests/portal/test_exports.py through our views and Wagtail's."""
    mixin = SpreadsheetExportMixin
    if getattr(mixin, "tongxin_safe", False):
        return
    preprocess, stream_csv, write_csv_response, as_spreadsheet = (
        mixin.preprocess_field_value,
        mixin.stream_csv,
        mixin.write_csv_response,
        mixin.as_spreadsheet,
    )

    def audited_as_spreadsheet(self, queryset, spreadsheet_format):
        from portal.audit import audit_record
        from portal.masking import mask_private_numbers
        from portal.models import AuditEntry

        model = getattr(self, "model", None)
        what = model._meta.label if model is not None else self.request.path
        audit_record(
            actor=self.request.user,
            action=AuditEntry.Action.EXPORT,
            detail=mask_private_numbers(f"{what} {self.request.GET.urlencode()}")[:500],
            request=self.request,
        )
        return as_spreadsheet(self, queryset, spreadsheet_format)

    def safe_preprocess(self, field, value, export_format):
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            value = timezone.localtime(value).replace(tzinfo=None)
            if export_format == self.FORMAT_CSV:
                return value.isoformat(sep=" ", timespec="seconds")
        prepared = preprocess(self, field, value, export_format)
        if isinstance(value, numbers.Number):  # -5 is a number, not a formula
            return prepared
        return spreadsheet_text(prepared)

    def safe_stream_csv(self, queryset):
        yield CSV_BOM
        yield from stream_csv(self, queryset)

    def safe_write_csv_response(self, queryset):
        response = write_csv_response(self, queryset)
        response["Content-Type"] = CSV_CONTENT_TYPE
        return response

    mixin.preprocess_field_value = safe_preprocess
    mixin.stream_csv = safe_stream_csv
    mixin.write_csv_response = safe_write_csv_response
    mixin.as_spreadsheet = audited_as_spreadsheet
    mixin.tongxin_safe = True
