"""Lists and statements as files an officer opens in a spreadsheet: CSV (UTF-8 with a byte
order mark, which Excel needs to read Chinese) and XLSX (openpyxl)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook

Cell = str | int | None


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheet: str, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet[:31]  # Excel's limit on a sheet name
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
