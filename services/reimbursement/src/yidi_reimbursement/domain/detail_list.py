"""The fee detail list (费用明细清单) a claim hands in, as a CSV file.

Columns, with a header row naming them (any order, extra columns ignored): `line_no`,
`catalogue_code`, `item_name`, `quantity`, `unit_price` (yuan), `amount` (yuan), `fee_date`
(YYYY-MM-DD, may be empty). Amounts are read with Decimal and must have at most two decimals:
a list that does not parse is refused naming the row and column, and nothing is recorded.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation

from yidi_events.contracts.reimbursement import ClaimFeeLine
from yidi_events.kernel import DomainError, yuan_to_fen

COLUMNS = ("line_no", "catalogue_code", "item_name", "quantity", "unit_price", "amount", "fee_date")
REQUIRED = ("line_no", "catalogue_code", "quantity", "unit_price", "amount")
MAX_LINES = 5000


def _refuse(row: int, column: str, message: str) -> DomainError:
    return DomainError(
        "reimbursement.detail_file",
        f"detail list row {row}, column {column}: {message}",
        field="detail_file",
        values={"row": row, "column": column},
    )


def parse_detail_list(content: str) -> tuple[ClaimFeeLine, ...]:
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DomainError(
            "reimbursement.detail_file",
            f"the detail list's header lacks {', '.join(missing)} (columns: {', '.join(COLUMNS)})",
            field="detail_file",
        )
    lines: list[ClaimFeeLine] = []
    seen: set[str] = set()
    for row, record in enumerate(reader, start=2):
        if len(lines) >= MAX_LINES:
            raise _refuse(row, "line_no", f"more than {MAX_LINES} lines")
        values = {k: (v or "").strip() for k, v in record.items() if k is not None}
        for column in REQUIRED:
            if not values.get(column):
                raise _refuse(row, column, "is empty")
        line_no = values["line_no"]
        if line_no in seen:
            raise _refuse(row, "line_no", f"line {line_no} appears twice")
        seen.add(line_no)
        lines.append(
            ClaimFeeLine(
                line_no=line_no,
                catalogue_code=values["catalogue_code"],
                item_name=values.get("item_name", ""),
                quantity=str(_decimal(values["quantity"], row, "quantity")),
                unit_price=str(_decimal(values["unit_price"], row, "unit_price")),
                amount=_fen(values["amount"], row),
                fee_date=_date(values.get("fee_date", ""), row),
            )
        )
    if not lines:
        raise DomainError(
            "reimbursement.detail_file", "the detail list has no lines", field="detail_file"
        )
    return tuple(lines)


def _decimal(text: str, row: int, column: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _refuse(row, column, f"{text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise _refuse(row, column, f"{text!r} must be a positive number")
    return value


def _fen(text: str, row: int) -> int:
    try:
        fen = yuan_to_fen(text)
    except (ValueError, ArithmeticError):
        raise _refuse(row, "amount", f"{text!r} is not an amount in yuan (two decimals)") from None
    if fen <= 0:
        raise _refuse(row, "amount", f"{text!r} must be positive")
    return fen


def _date(text: str, row: int) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _refuse(row, "fee_date", f"{text!r} is not a date (YYYY-MM-DD)") from None
