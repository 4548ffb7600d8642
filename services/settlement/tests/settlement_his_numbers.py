"""HIS answers as a client reads them: amounts arrive as JSON numbers (read as Decimal, as
BigDecimal clients do). The shared vectors hold amounts as yuan text; comparing a number's
literal text with them checks the figure and its two decimals at once. `spec_gaps` checks an
answer against the spec's own output tables (his/spec_outputs.json)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from yidi_settlement.his.typed import spec_outputs


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


_DAY = r"\d{4}-\d{2}-\d{2}"
_FORMATS = {
    "日期型": re.compile(rf"{_DAY}( \d{{2}}:\d{{2}}:\d{{2}})?"),
    "日期时间型": re.compile(rf"{_DAY} \d{{2}}:\d{{2}}:\d{{2}}"),
}


def _rows(output: Any, node: str) -> list[Any]:
    """The rows of `node` wherever it hangs: under `output`, or inside another node's rows."""
    if node == "":
        # a table without a node: the output itself, or its rows when the spec's output is
        # several rows (5204)
        return list(output) if isinstance(output, list) else [output]
    found: list[Any] = []
    items = output if isinstance(output, list) else [output]
    for item in items:
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key == node:
                found.extend(value if isinstance(value, list) else [value])
            elif isinstance(value, dict | list):
                found.extend(_rows(value, node))
    return found


def _mistyped(field: dict[str, Any], value: Any) -> str | None:
    kind, scale = field["type"], field["length"].replace("，", ",").partition(",")[2]
    if kind == "数值型":
        if not isinstance(value, Decimal | int) or isinstance(value, bool):
            return f"{type(value).__name__}, not a number"
        if scale and isinstance(value, Decimal) and -int(value.as_tuple().exponent) != int(scale):
            return f"{value} has not {scale} decimals"
    elif kind == "字符型" and not isinstance(value, str):
        return f"{type(value).__name__}, not a string"
    elif kind in _FORMATS and not (isinstance(value, str) and _FORMATS[kind].fullmatch(value)):
        return f"{value!r} is not a {kind}"
    return None


def spec_gaps(infno: str, output: Any) -> list[str]:
    """Every 非空 field of `infno`'s output tables that is missing, null or not of its type.
    A node the answer does not carry at all (an empty list of rows) has nothing to check."""
    gaps = []
    tables = spec_outputs()[infno]["outputs"]
    nested = {f["code"] for fields in tables.values() for f in fields}
    for node, fields in tables.items():
        if node.startswith("@"):
            continue  # a file's columns, not the JSON answer
        if node and node not in nested and (not isinstance(output, dict) or node not in output):
            gaps.append(f"{infno} {node}: missing")
            continue
        for row in _rows(output, node):
            for field in (f for f in fields if f["required"]):
                value = row.get(field["code"]) if isinstance(row, dict) else None
                problem = "missing or null" if value is None else _mistyped(field, value)
                if problem:
                    gaps.append(f"{infno} {node or 'output'}.{field['code']}: {problem}")
    return gaps
