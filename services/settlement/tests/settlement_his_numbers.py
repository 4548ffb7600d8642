"""HIS answers as a client reads them: amounts arrive as JSON numbers (read as Decimal, as
BigDecimal clients do). The shared vectors hold amounts as yuan text; comparing a number's
literal text with them checks the figure and its two decimals at once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def as_text(value: Any) -> Any:
    """`value` with every number replaced by the text it was sent as (`12.30` -> "12.30")."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    return value


def funds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`setldetail` rows reduced to what the vectors hold: which fund paid how much."""
    return [{"fund_pay_type": r["fund_pay_type"], "fund_payamt": r["fund_payamt"]} for r in rows]
