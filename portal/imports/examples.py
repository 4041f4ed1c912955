"""A kind's example file: its headers and its example rows, as .xlsx (text cells
as text, dates as dates) or CSV (UTF-8 with BOM), made from the same column
list the reader matches, so the example always imports."""

from __future__ import annotations

import io
from datetime import date

from portal.exports import csv_bytes, xlsx_row
from portal.imports.kinds import IMPORT_KINDS
from portal.validators import id_check_digit


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
