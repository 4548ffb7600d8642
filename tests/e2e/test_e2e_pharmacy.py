"""Retail pharmacy purchases end to end: the sandbox pharmacy P32010000001 settles two Suzhou
employees' purchases through 2102, cancels one with 2103, and its 3201 for the day balances at
the reconciliation service, which counted the purchases (med type 41) as it counts any
settlement: the settled facts crossed Kafka like a hospital's."""

from __future__ import annotations

from typing import Any

import pytest

from yidi_events.kernel import fen_to_yuan, yuan_to_fen
from yidi_events.kernel.time import SHANGHAI

pytestmark = pytest.mark.e2e

NANJING = "320100"
PHARMACY = "P32010000001"


def purchase(world: Any, person: dict[str, str], acct_used: str) -> dict[str, Any]:
    his = world.his(PHARMACY)
    stamp = f"{world.clock.now().astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}"
    lines = [
        # XA001 class A: 4 x 12.50 = 50.00; C001 class C: 1 x 30.00 = 30.00
        {
            "feedetl_sn": "1",
            "med_list_codg": "XA001",
            "cnt": "4",
            "pric": "12.50",
            "det_item_fee_sumamt": "50.00",
        },
        {
            "feedetl_sn": "2",
            "med_list_codg": "C001",
            "cnt": "1",
            "pric": "30.00",
            "det_item_fee_sumamt": "30.00",
        },
    ]
    answer = his.call(
        "2102",
        {
            "druginfo": {
                "psn_no": person["psn_no"],
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": person["certno"],
                "begntime": stamp,
                "medfee_sumamt": "80.00",
                "insutype": person["insutype"],
                "acct_used_flag": acct_used,
                "med_type": "41",
            },
            "drugdetail": [
                {**x, "rx_circ_flag": "0", "fee_ocur_time": stamp, "medins_list_codg": "YD1"}
                for x in lines
            ],
        },
        person["insuplc_admdvs"],
    )
    setlinfo: dict[str, Any] = answer["setlinfo"]
    return setlinfo


def test_pharmacy_purchases_are_reconciled_like_any_settlement(
    world: Any, sandbox_persons: Any
) -> None:
    his = world.his(PHARMACY)
    day = world.clock.now().astimezone(SHANGHAI).date().isoformat()
    # Suzhou's policy has no pharmacy part: the account pays 80.00, or cash does.
    zhang = purchase(world, sandbox_persons["1"], "1")
    zhou = purchase(world, sandbox_persons["7"], "0")
    cancelled = purchase(world, sandbox_persons["7"], "1")
    his.call(
        "2103",
        {
            "data": {
                "setl_id": cancelled["setl_id"],
                "mdtrt_id": cancelled["mdtrt_id"],
                "psn_no": cancelled["psn_no"],
            }
        },
        "320500",
    )
    assert (zhang["acct_pay"], zhang["fund_pay_sumamt"]) == (80.0, 0.0)
    assert (zhou["psn_cash_pay"], zhou["clr_type"]) == (80.0, "41")
    # Zhang 80.00 from the account; Zhou 80.00 in cash; the cancelled purchase and its negative
    # record net to nothing in money and count as two records: four in all.
    claim = {
        "insutype": "310",
        "clr_type": "41",
        "setl_optins": NANJING,
        "stmt_begndate": day,
        "stmt_enddate": day,
        "medfee_sumamt": "160.00",
        "fund_pay_sumamt": "0.00",
        "acct_pay": "80.00",
        "fixmedins_setl_cnt": "4",
        "refd_setl_flag": "1",
    }
    balanced = world.eventually(
        lambda: (out := his.call("3201", {"data": claim})["stmtinfo"])["stmt_rslt"] == "0" and out,
        what="3201 of the pharmacy to balance",
    )
    assert balanced["setl_optins"] == NANJING
    wrong = {**claim, "medfee_sumamt": fen_to_yuan(yuan_to_fen("160.00") + 8000)}
    assert his.call("3201", {"data": wrong})["stmtinfo"]["stmt_rslt"] == "1"
