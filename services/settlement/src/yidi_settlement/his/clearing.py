"""3203 / 3204 / 3205A, owned by clearing: the national names <-> the `clearing.*` commands and
their results, yuan <-> fen."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from yidi_events.kernel import DomainError, fen_to_yuan, yuan_to_fen
from yidi_settlement.his.envelope import HisEnvelope, quoted

APPLY = "clearing.apply"
WITHDRAW = "clearing.withdraw"
APPLICATIONS = "clearing.applications"

_MONTH = re.compile(r"^(\d{4})-?(0[1-9]|1[0-2])$")


def _data(national: dict[str, Any]) -> dict[str, Any]:
    inner = national.get("data", national)
    if not isinstance(inner, dict):
        raise DomainError("his.input_invalid", "input.data must be an object", field="data")
    return inner


def _required(data: dict[str, Any], name: str) -> Any:
    value = data.get(name)
    if value is None or value == "":
        raise DomainError("his.field_required", f"{name} is required", field=name)
    return value


def _month(text: Any, name: str) -> str:
    match = _MONTH.match(str(text))
    if match is None:
        raise DomainError(
            "his.month_invalid",
            f"{name} {text!r} is not a month YYYYMM",
            field=name,
            values={"value": quoted(text)},
        )
    return f"{match.group(1)}-{match.group(2)}"


def _fen(data: dict[str, Any], name: str) -> int:
    value = _required(data, name)
    try:
        return yuan_to_fen(str(value))
    except (ValueError, ArithmeticError):
        raise DomainError(
            "his.amount_invalid",
            f"{name} is not an amount in yuan",
            field=name,
            values={"value": quoted(value)},
        ) from None


def _count(data: dict[str, Any], name: str) -> int:
    given = _required(data, name)
    try:
        value = int(str(given))
    except ValueError:
        raise DomainError(
            "his.count_invalid",
            f"{name} is not a whole number",
            field=name,
            values={"value": quoted(given)},
        ) from None
    if value < 0:
        raise DomainError(
            "his.count_invalid",
            f"{name} cannot be negative",
            field=name,
            values={"value": quoted(given)},
        )
    return value


def apply_command(envelope: HisEnvelope) -> dict[str, Any]:
    """3203 input -> the application (agency, month, category) and the figures it claims."""
    data = _data(envelope.input)
    month_text = data.get("setlym") or data.get("clr_ym")
    return {
        "clearing_agency": str(data.get("clr_optins") or envelope.visit_region),
        "month": _month(month_text if month_text is not None else "", "setlym"),
        "clearing_category": str(_required(data, "clr_type")),
        "count": _count(data, "psntime"),
        "total_fee": _fen(data, "medfee_sumamt"),
        "fund_total": _fen(data, "fund_appy_sum"),
        "account_paid": _fen(data, "acct_pay"),
        "cash_paid": _fen(data, "cash_payamt"),
    }


def withdraw_command(envelope: HisEnvelope) -> dict[str, Any]:
    """3204 input -> the application to withdraw."""
    return {"clearing_application_id": str(_required(_data(envelope.input), "clr_appy_evt_id"))}


def application_output(envelope: HisEnvelope, result: Mapping[str, Any]) -> dict[str, Any]:
    return {"result": {"clr_appy_evt_id": result["clearing_application_id"]}}


def applications_query(envelope: HisEnvelope) -> dict[str, Any]:
    """3205A filters: clearing agency, status, month (all optional)."""
    data = _data(envelope.input)
    month = data.get("clr_ym") or data.get("setlym")
    return {
        "clearing_agency": str(data["clr_optins"]) if data.get("clr_optins") else None,
        "status": str(data["clr_stas"]) if data.get("clr_stas") else None,
        "month": _month(month, "clr_ym") if month else None,
    }


def applications_output(envelope: HisEnvelope, result: Mapping[str, Any]) -> dict[str, Any]:
    """The stored applications as 3205A output rows."""
    return {"data": [_application_row(row) for row in result["applications"]]}


def _application_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "fixmedins_code": row["institution_code"],
        "clr_appy_evt_id": row["clearing_application_id"],
        "clr_optins": row["clearing_agency"],
        "clr_ym": str(row["month"]).replace("-", ""),
        "clr_type": row["clearing_category"],
        "clr_stas": row["status"],
        "vali_flag": "0" if row["withdrawn"] else "1",
        "psntime": row["count"],
        "medfee_sumamt": fen_to_yuan(row["total_fee"]),
        "fund_appy_sum": fen_to_yuan(row["fund_total"]),
        "acct_pay": fen_to_yuan(row["account_paid"]),
        "cash_payamt": fen_to_yuan(row["cash_paid"]),
        "opt_time": row["changed_on"],
        "opter_id": row["changed_by"],
    }
