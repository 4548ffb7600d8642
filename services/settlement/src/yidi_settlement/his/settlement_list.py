"""4101/4101A 医疗保障基金结算清单信息上传: the input read and checked against the spec's
required fields (tables 206-213 of the spec, 是否必填 Y), before anything is recorded. The list
itself is kept as the hospital filed it (domain/settlement_list.py); the platform answers its id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from yidi_settlement.his.envelope import ABSENT, TYPE, moment, refuse
from yidi_settlement.his.inputs import yuan

LIST_NODE = "setlinfo"  # single row
# The required fields of each node, in the spec's order. The multi-row nodes are optional as a
# whole (a list without operations has no oprninfo), but each row sent must be complete.
REQUIRED: Mapping[str, tuple[str, ...]] = {
    LIST_NODE: (
        "psn_no",
        "mdtrt_id",
        "setl_id",
        "ntly",
        "prfs",
        "patn_rlts",
        "coner_addr",
        "coner_tel",
        "dscg_caty",
        "bill_code",
        "bill_no",
        "biz_sn",
        "setl_begn_date",
        "setl_end_date",
        "medins_fill_dept",
        "medins_fill_psn",
    ),
    "opspdiseinfo": (),
    "diseinfo": ("diag_type", "diag_code", "diag_name", "adm_cond_type", "maindiag_flag"),
    "oprninfo": ("oprn_oprt_type", "oprn_oprt_name", "oprn_oprt_code", "oper_dr_code"),
    "icuinfo": (
        "scs_cutd_ward_type",
        "scs_cutd_inpool_time",
        "scs_cutd_exit_time",
        "scs_cutd_sum_dura",
    ),
    "payinfo": ("fund_pay_type", "fund_payamt"),
    "bldinfo": ("setl_List_bld_Id", "psn_no", "mdtrt_id", "setl_id"),
}


# Required fields the spec types as dates or times, and amounts (数值型): checked as such.
DATES = frozenset({"setl_begn_date", "setl_end_date", "scs_cutd_inpool_time", "scs_cutd_exit_time"})
AMOUNTS = frozenset({"fund_payamt"})


@dataclass(frozen=True)
class Upload:
    visit_id: str
    person_id: str
    settlement_id: str
    form: dict[str, Any]  # every node, as sent


def _as_filed(value: Any) -> Any:
    """The value with each number as the text it was sent as: kept exactly, never a float."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _as_filed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_filed(v) for v in value]
    return value


def _missing(row: Mapping[str, Any], fields: tuple[str, ...], where: str) -> None:
    for field in fields:
        value = row.get(field)
        if value in ABSENT:
            raise refuse(field, f"{where}.{field} is required (4101)", "his.required")
        if field in DATES:
            moment(field, str(value))
        if field in AMOUNTS:
            yuan(field, value)


def upload(payload: Mapping[str, Any]) -> Upload:
    info = payload.get(LIST_NODE)
    if not isinstance(info, Mapping):
        raise refuse(
            LIST_NODE, f"input.{LIST_NODE} must be an object (4101)", TYPE, expected="object"
        )
    _missing(info, REQUIRED[LIST_NODE], LIST_NODE)
    if moment("setl_end_date", str(info["setl_end_date"])) < moment(
        "setl_begn_date", str(info["setl_begn_date"])
    ):
        raise refuse(
            "setl_end_date", "setl_end_date is before setl_begn_date (4101)", "his.period_reversed"
        )
    form: dict[str, Any] = {LIST_NODE: _as_filed(info)}
    for name, fields in REQUIRED.items():
        if name == LIST_NODE or payload.get(name) in ABSENT:
            continue
        rows = payload[name]
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise refuse(name, f"input.{name} must be a list of rows (4101)", TYPE, expected="list")
        for number, row in enumerate(rows, start=1):
            _missing(row, fields, f"{name}[{number}]")
        form[name] = _as_filed(rows)
    return Upload(
        visit_id=str(info["mdtrt_id"]),
        person_id=str(info["psn_no"]),
        settlement_id=str(info["setl_id"]),
        form=form,
    )
