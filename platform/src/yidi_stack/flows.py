"""Visit flows as a hospital's HIS runs them through the gateway (used by the end-to-end suite
and the simulation). Each returns the `setlinfo` the hospital receives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from yidi_cli.his import HisClient
from yidi_events.kernel import fen_to_yuan, yuan_to_fen
from yidi_events.kernel.time import SHANGHAI


def outpatient(
    his: HisClient, person: dict[str, str], lines: list[dict[str, str]], *, med_type: str = "11"
) -> dict[str, Any]:
    """2201 -> 2204 -> 2207 for a sandbox person; returns the setlinfo."""
    settled = his.call(
        "2207",
        registered_outpatient(his, person, lines, med_type=med_type),
        person["insuplc_admdvs"],
    )
    result: dict[str, Any] = settled["setlinfo"]
    return result


def registered_outpatient(
    his: HisClient, person: dict[str, str], lines: list[dict[str, str]], *, med_type: str = "11"
) -> dict[str, Any]:
    """2201 -> 2204 for a sandbox person; returns the input of the 2207 that settles the visit
    (fault tests send it themselves, to crash the platform in the middle of it)."""
    now = his.clock.now().astimezone(SHANGHAI)
    stamp = f"{now:%Y-%m-%d %H:%M:%S}"
    insured = person["insuplc_admdvs"]
    voucher = {"mdtrt_cert_type": "02", "mdtrt_cert_no": person["certno"]}
    registered = his.call(
        "2201",
        {
            "data": {
                "psn_no": person["psn_no"],
                "insutype": person["insutype"],
                "begntime": stamp,
                **voucher,
                "ipt_otp_no": f"OP{his.last_message_id[-8:]}",
                "atddr_no": "D001",
                "dr_name": "医生",
                "dept_code": "A01",
                "dept_name": "内科",
                "caty": "A01",
            }
        },
        insured,
    )
    visit_id = registered["data"]["mdtrt_id"]
    fee_lines = [
        {
            "feedetl_sn": str(n),
            "mdtrt_id": visit_id,
            "psn_no": person["psn_no"],
            "chrg_bchno": "B1",
            "med_list_codg": line["code"],
            "medins_list_codg": line["code"],
            "det_item_fee_sumamt": line["amount"],
            "cnt": line["cnt"],
            "pric": line["pric"],
            "fee_ocur_time": stamp,
        }
        for n, line in enumerate(lines, start=1)
    ]
    his.call("2204", {"feedetail": fee_lines}, insured)
    total = fen_to_yuan(sum(yuan_to_fen(line["amount"]) for line in lines))
    return {
        "data": {
            "psn_no": person["psn_no"],
            **voucher,
            "med_type": med_type,
            "medfee_sumamt": total,
            "psn_setlway": "01",
            "mdtrt_id": visit_id,
            "chrg_bchno": "B1",
            "acct_used_flag": "1",
            "insutype": person["insutype"],
            "invono": "",
        }
    }


def inpatient(
    his: HisClient,
    person: dict[str, str],
    lines: list[dict[str, str]],
    *,
    admitted: datetime,
    discharged: datetime,
    diagnosis: str,
    med_type: str = "21",
) -> dict[str, Any]:
    """2401 -> 2301 -> 2402 -> 2304 for a sandbox person; returns the setlinfo. `med_type` 52
    admits a maternity stay, 92 another admission settled by its own terms."""
    insured = person["insuplc_admdvs"]
    voucher = {"mdtrt_cert_type": "02", "mdtrt_cert_no": person["certno"]}
    adm = f"{admitted.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}"
    dis = f"{discharged.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}"
    admission = his.call(
        "2401",
        {
            "mdtrtinfo": {
                "psn_no": person["psn_no"],
                "insutype": person["insutype"],
                "begntime": adm,
                **voucher,
                "med_type": med_type,
                "ipt_no": f"IP{his.last_message_id[-8:]}",
                "atddr_no": "D001",
                "chfpdr_name": "医生",
                "adm_diag_dscr": diagnosis,
                "adm_dept_codg": "A03",
                "adm_dept_name": "外科",
                "dscg_maindiag_code": diagnosis,
                "dscg_maindiag_name": diagnosis,
            },
            "diseinfo": [
                {
                    "psn_no": person["psn_no"],
                    "diag_type": "1",
                    "maindiag_flag": "1",
                    "diag_srt_no": "1",
                    "diag_code": diagnosis,
                    "diag_name": diagnosis,
                    "diag_time": adm,
                }
            ],
        },
        insured,
    )
    visit_id = admission["result"]["mdtrt_id"] if "result" in admission else admission["mdtrt_id"]
    fee_lines = [
        {
            "feedetl_sn": str(n),
            "mdtrt_id": visit_id,
            "psn_no": person["psn_no"],
            "med_type": med_type,
            "med_list_codg": line["code"],
            "medins_list_codg": line["code"],
            "det_item_fee_sumamt": line["amount"],
            "cnt": line["cnt"],
            "pric": line["pric"],
            "fee_ocur_time": line.get("at", adm),
        }
        for n, line in enumerate(lines, start=1)
    ]
    his.call("2301", {"feedetail": fee_lines}, insured)
    his.call(
        "2402",
        {
            "dscginfo": {
                "mdtrt_id": visit_id,
                "psn_no": person["psn_no"],
                "insutype": person["insutype"],
                "endtime": dis,
                "dise_codg": diagnosis,
                "dise_name": diagnosis,
                "dscg_way": "1",
            },
            "diseinfo": [
                {
                    "psn_no": person["psn_no"],
                    "diag_type": "1",
                    "maindiag_flag": "1",
                    "diag_srt_no": "1",
                    "diag_code": diagnosis,
                    "diag_name": diagnosis,
                    "diag_time": dis,
                }
            ],
        },
        insured,
    )
    total = fen_to_yuan(sum(yuan_to_fen(line["amount"]) for line in lines))
    settled = his.call(
        "2304",
        {
            "data": {
                "psn_no": person["psn_no"],
                **voucher,
                "medfee_sumamt": total,
                "psn_setlway": "01",
                "mdtrt_id": visit_id,
                "insutype": person["insutype"],
                "acct_used_flag": "1",
                "invono": "",
                "mid_setl_flag": "0",
            }
        },
        insured,
    )
    result: dict[str, Any] = settled["setlinfo"]
    return result
