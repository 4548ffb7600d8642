"""Request payloads shaped as the spec's input tables (his-interface.md section 2) and as real
clients fill them (section 0): amounts and quantities as JSON numbers with the client's own
decimals, codes as strings, ISO datetimes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from conformance import Client

D = Decimal


def voucher(p: dict[str, Any]) -> dict[str, Any]:
    return {"mdtrt_cert_type": "03", "mdtrt_cert_no": p["certno"], "card_sn": p["card_sn"]}


def identity(p: dict[str, Any]) -> dict[str, Any]:
    """The person's fields the spec asks for beside the voucher (必填 in 2201, 2206, 2303...)."""
    return {
        "psn_cert_type": "01",
        "certno": p["certno"],
        "psn_name": p["psn_name"],
        "psn_type": p["psn_type"],
    }


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
        "rx_circ_flag": "0",
        **extra,
    }


def settle(p: dict[str, Any], visit: str, total: str, **extra: Any) -> dict[str, Any]:
    return {
        "data": {
            "psn_no": p["psn_no"],
            **voucher(p),
            **identity(p),
            "insuplc_admdvs": p["insuplc_admdvs"],
            "mdtrtarea_admvs": "320100",
            "medfee_sumamt": D(total),
            "psn_setlway": "01",
            "mdtrt_id": visit,
            "insutype": p["insutype"],
            "acct_used_flag": "1",
            **extra,
        }
    }


def split_totals(pre: dict[str, Any]) -> dict[str, Any]:
    """The four split totals 2207 carries, as clients copy them from the 2206 answer."""
    names = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
    return {name: pre["setlinfo"][name] for name in names}


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


async def sign_in_and_register(his: Client, p: dict[str, Any]) -> str:
    signed = await his.ok(
        "9001", {"signIn": {"opter_no": "001", "mac": "00-16-3E-00-00-01", "ip": "10.0.0.8"}}
    )
    assert signed["signinoutb"]["sign_no"]
    query = {**voucher(p), "psn_cert_type": "01", "certno": p["certno"], "psn_name": p["psn_name"]}
    info = await his.ok("1101", {"data": query})
    assert info["baseinfo"]["psn_no"] == p["psn_no"]
    assert [i["balc"] for i in info["insuinfo"]] == [D("2500.00")]
    registration = {
        **voucher(p),
        **identity(p),
        "psn_no": p["psn_no"],
        "insutype": p["insutype"],
        "begntime": "2026-03-10T09:05:00",
        "med_type": "11",
        "ipt_otp_no": "MZ20260310001",
        "atddr_no": "D001",
        "dr_name": "王医生",
        "dept_code": "A03",
        "dept_name": "内科",
        "caty": "A03",
    }
    registered = await his.ok("2201", {"data": registration})
    assert registered["data"]["ipt_otp_no"] == "MZ20260310001"
    visit: str = registered["data"]["mdtrt_id"]
    diagnosis = {
        "mdtrtinfo": {
            "mdtrt_id": visit,
            "psn_no": p["psn_no"],
            "med_type": "11",
            "begntime": "2026-03-10T09:05:00",
            "main_cond_dscr": "咳嗽三天",
            "dise_codg": "J20.900",
            "dise_name": "急性支气管炎",
        },
        "diseinfo": [
            {
                "diag_type": "1",
                "diag_srt_no": 1,
                "diag_code": "J20.900",
                "diag_name": "急性支气管炎",
                "diag_dept": "内科",
                "dise_dor_no": "D001",
                "dise_dor_name": "王医生",
                "diag_time": "2026-03-10T09:10:00",
                "vali_flag": "1",
            }
        ],
    }
    await his.ok("2203", diagnosis, string_input=True)  # an older build's `input` as a string
    return visit
