"""Lists and statements as files an officer opens in a spreadsheet: CSV (UTF-8 with a byte
order mark, which Excel needs to read Chinese) and XLSX (openpyxl)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response
from openpyxl import Workbook

from yidi_console.backend import Refused

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


def download(fmt: str, name: str, header: list[str], rows: list[list[Any]]) -> Response:
    """The list as a file to save, by the format its address asks for (`.csv` or `.xlsx`)."""
    filename = quote(f"{name}.{fmt}")
    disposition = {"content-disposition": f"attachment; filename*=UTF-8''{filename}"}
    if fmt == "csv":
        return Response(
            to_csv(header, rows), media_type="text/csv; charset=utf-8", headers=disposition
        )
    if fmt == "xlsx":
        return Response(
            to_xlsx(name, header, rows),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers=disposition,
        )
    raise Refused(404, "console.export_format", f"没有 {fmt} 格式的导出（csv 或 xlsx）", "format")
