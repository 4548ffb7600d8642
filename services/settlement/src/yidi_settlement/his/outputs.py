"""Domain answers -> each transaction's output node. Amounts leave as yuan strings with two
decimals, as the national interface speaks them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from yidi_events.contracts.settlement import FeeLineSplit
from yidi_events.kernel import fen_to_yuan
from yidi_settlement.app.commands import Settlement
from yidi_settlement.domain.engine import SettlementComputation
from yidi_settlement.domain.model import CatalogueEntry
from yidi_settlement.his.envelope import local_time
from yidi_settlement.his.fields import DOMAIN_OF

# The money fields of setlinfo, in the order the interface lists them; each is the settlement
# total of the same name in the domain (fields.DOMAIN_OF).
SETLINFO_MONEY = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "hifob_pay",
    "hifmi_pay",
    "cvlserv_pay",
    "maf_pay",
    "fund_pay_sumamt",
    "acct_pay",
    "psn_cash_pay",
    "psn_part_amt",
    "hosp_part_amt",
)
_LINE_MONEY = ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")


def setlinfo(result: SettlementComputation) -> dict[str, str]:
    """The money fields of the 2207/2304 `setlinfo` block."""
    return {n: fen_to_yuan(getattr(result.totals, DOMAIN_OF[n])) for n in SETLINFO_MONEY}


def setldetail(result: SettlementComputation) -> list[dict[str, str]]:
    return [
        {"fund_pay_type": p.fund_code.value, "fund_payamt": fen_to_yuan(p.amount)}
        for p in result.fund_payments
    ]


def line(split: FeeLineSplit) -> dict[str, str]:
    """One 2204/2301 output row: how the line was split."""
    return {
        "feedetl_sn": split.fee_line_no,
        **{n: fen_to_yuan(getattr(split, DOMAIN_OF[n])) for n in _LINE_MONEY},
    }


def fee_line_split(split: FeeLineSplit, entry: CatalogueEntry | None) -> dict[str, Any]:
    return {
        **line(split),
        "det_item_fee_sumamt": fen_to_yuan(split.amount),
        "cnt": str(split.quantity),
        "pric": str(split.unit_price),
        "med_list_codg": split.catalogue_code,
        "chrgitm_lv": None if split.item_class is None else split.item_class.value,
        "selfpay_prop": None if entry is None else str(entry.self_pay_ratio),
        "pric_uplmt_amt": None
        if entry is None or entry.price_cap is None
        else str(entry.price_cap),
    }


def person(row: Mapping[str, Any], balance: int, on: date) -> dict[str, Any]:
    birth: date = row["birth_date"]
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    status = {"active": "1", "suspended": "2", "terminated": "4"}[row["enrolment_status"]]
    return {
        "baseinfo": {
            "psn_no": row["person_id"],
            "psn_cert_type": row["certificate_type"],
            "certno": row["certificate_no"],
            "psn_name": row["name"],
            "gend": row["gender"],
            "brdy": birth.isoformat(),
            "age": f"{age}.0",
        },
        "insuinfo": [
            {
                "balc": fen_to_yuan(balance),
                "insutype": row["insurance_type"],
                "psn_type": row["person_category"],
                "psn_insu_stas": status,
                "cvlserv_flag": "1" if row["civil_servant"] else "0",
                "insuplc_admdvs": row["insured_region"],
            }
        ],
        "idetinfo": [{"psn_idet_type": i} for i in row["assistance_identities"]],
    }


def settlement(
    done: Settlement,
    *,
    settled_at: datetime | None,
    message_id: str | None,
    voucher_type: str | None,
) -> dict[str, Any]:
    """The 2206/2207/2303/2304 output: setlinfo (identity + money) and setldetail."""
    result, reg, who = done.computation, done.registration, done.person
    info: dict[str, Any] = {
        "mdtrt_id": reg.visit_id,
        "setl_id": done.settlement_id,
        "psn_no": who["person_id"],
        "psn_name": who["name"],
        "psn_cert_type": who["certificate_type"],
        "certno": who["certificate_no"],
        "gend": who["gender"],
        "brdy": who["birth_date"].isoformat(),
        "insutype": reg.insurance_type,
        "psn_type": who["person_category"],
        "cvlserv_flag": "1" if who["civil_servant"] else "0",
        "setl_time": None if settled_at is None else local_time(settled_at),
        "mdtrt_cert_type": voucher_type,
        "med_type": reg.medical_type,
        **setlinfo(result),
        "balc": None
        if result.account_balance_after is None
        else fen_to_yuan(result.account_balance_after),
        "medins_setl_id": message_id,
        "clr_optins": done.clearing_agency,
        "clr_way": None if done.clearing_agency is None else "1",
        "clr_type": done.clearing_category,
    }
    return {"setlinfo": info, "setldetail": setldetail(result)}


def settlement_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored settlement (5203 query, 2208/2305 negative record)."""
    totals = row["totals"]
    balance = row["account_balance_after"]
    return {
        "setlinfo": {
            "setl_id": row["settlement_id"],
            "mdtrt_id": row["visit_id"],
            "psn_no": row["person_id"],
            "insutype": row["insurance_type"],
            "med_type": row["medical_type"],
            "setl_time": local_time(row["settled_at"]),
            **{n: fen_to_yuan(int(totals[DOMAIN_OF[n]])) for n in SETLINFO_MONEY},
            "balc": None if balance is None else fen_to_yuan(balance),
            "medins_setl_id": row["message_id"],
            "clr_optins": row["clearing_agency"],
            "clr_way": "1",
            "clr_type": row["clearing_category"],
            "refd_setl_flag": "1" if row["is_refund"] else "0",
            "pay_loc": "3" if row["insured_region"][:2] == row["visit_region"][:2] else "4",
            "init_setl_id": row["original_settlement_id"],
        },
        "setldetail": [
            {"fund_pay_type": p["fund_code"], "fund_payamt": fen_to_yuan(int(p["amount"]))}
            for p in row["fund_payments"]
        ],
    }
