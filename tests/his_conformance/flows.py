"""Request payloads shaped as the spec's input tables (his-interface.md section 2) and as real
clients fill them (section 0): amounts and quantities as JSON numbers with the client's own
decimals, codes as strings, ISO datetimes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

D = Decimal


def voucher(p: dict[str, Any]) -> dict[str, Any]:
    return {"mdtrt_cert_type": "03", "mdtrt_cert_no": p["certno"], "card_sn": p["card_sn"]}


def line(
    sn: int, visit: str, p: dict[str, Any], code: str, cnt: str, pric: str, total: str,
    at: str, **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "feedetl_sn": sn,  # a number, as C# clients send it
        "mdtrt_id": visit,
        "psn_no": p["psn_no"],
        "fee_ocur_time": at,
        "med_list_codg": code,
        "medins_list_codg": f"HIS-{code}",
        "det_item_fee_sumamt": D(total),
        "cnt": D(cnt),
        "pric": D(pric),
        "bilg_dept_codg": "A03",
        "bilg_dept_name": "内科",
        "bilg_dr_codg": "D001",
        "bilg_dr_name": "王医生",
        "hosp_appr_flag": "1",
        **extra,
    }


def settle(p: dict[str, Any], visit: str, total: str, **extra: Any) -> dict[str, Any]:
    return {
        "data": {
            "psn_no": p["psn_no"],
            **voucher(p),
            "medfee_sumamt": D(total),
            "psn_setlway": "01",
            "mdtrt_id": visit,
            "insutype": p["insutype"],
            "acct_used_flag": "1",
            **extra,
        }
    }


def money(setlinfo: dict[str, Any], *names: str) -> dict[str, str]:
    """The named figures as the text of the numbers sent (`1678.75`)."""
    return {name: str(setlinfo[name]) for name in names}


FIGURES = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "hifob_pay",
    "fund_pay_sumamt",
    "acct_pay",
    "psn_cash_pay",
    "balc",
)
