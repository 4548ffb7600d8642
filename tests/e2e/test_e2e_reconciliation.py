"""Issue 5 end to end: a day of sandbox settlements through the gateway, reconciled by the hospital
(3201, 3202 with the zipped file) and confirmed by both agencies, with a dispute held out."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import timedelta
from typing import Any

import pytest

from yidi_events.kernel import fen_to_yuan, yuan_to_fen
from yidi_stack.flows import outpatient

pytestmark = pytest.mark.e2e

SUZHOU, NANJING, WUXI = "320500", "320100", "320200"
LINES = [
    {"code": "XA001", "cnt": "6", "pric": "45.00", "amount": "270.00"},
    {"code": "XB002", "cnt": "3", "pric": "88.80", "amount": "266.40"},
    {"code": "C001", "cnt": "1", "pric": "35.50", "amount": "35.50"},
]


def total(settlements: list[dict[str, Any]], field: str) -> str:
    return fen_to_yuan(sum(yuan_to_fen(s[field]) for s in settlements))


def detail_file(rows: list[dict[str, Any]]) -> str:
    """The 3202 detail file as a hospital writes it: amounts as the yuan text it was answered
    (JSON numbers, read exactly as Decimal)."""
    columns = (
        "setl_id",
        "mdtrt_id",
        "psn_no",
        "medfee_sumamt",
        "fund_pay_sumamt",
        "acct_pay",
        "refd_setl_flag",
    )
    text = (
        "\t".join(columns)
        + "\n"
        + "".join("\t".join(str(r[c]) for c in columns) + "\n" for r in rows)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("stmt_detail.txt", text.encode())
    return base64.b64encode(buffer.getvalue()).decode()


def read_result(zipped: bytes) -> dict[str, dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    header, *lines = [line.split("\t") for line in text.splitlines() if line]
    return {row[0]: dict(zip(header, row, strict=True)) for row in lines}


def test_a_day_is_reconciled_by_the_hospital_and_closed_by_both_agencies(
    world: Any, sandbox_persons: Any
) -> None:
    his = world.his("H32010000001")
    day = world.clock.now().date().isoformat()
    zhang = outpatient(his, sandbox_persons["1"], LINES)  # Suzhou employee resettled in Nanjing
    zhou = outpatient(his, sandbox_persons["7"], LINES)  # Suzhou employee living in Nanjing
    outpatient(his, sandbox_persons["3"], LINES)  # Shangluo resident: another pair and scheme
    employees = [zhang, zhou]
    assert {s["clr_optins"] for s in employees} == {NANJING}

    claim = {
        "insutype": "310",
        "clr_type": zhang["clr_type"],
        "setl_optins": NANJING,
        "stmt_begndate": day,
        "stmt_enddate": day,
        "medfee_sumamt": total(employees, "medfee_sumamt"),
        "fund_pay_sumamt": total(employees, "fund_pay_sumamt"),
        "acct_pay": total(employees, "acct_pay"),
        "fixmedins_setl_cnt": "2",
        "refd_setl_flag": "1",
    }

    # 3201: the right totals balance once the settlements have reached reconciliation...
    balanced = world.eventually(
        lambda: (out := his.call("3201", {"data": claim})["stmtinfo"])["stmt_rslt"] == "0" and out,
        what="3201 to balance",
    )
    assert balanced["setl_optins"] == NANJING
    # ...and a wrong figure does not, naming it with both values.
    wrong = {**claim, "fund_pay_sumamt": fen_to_yuan(yuan_to_fen(claim["fund_pay_sumamt"]) + 100)}
    unbalanced = his.call("3201", {"data": wrong})["stmtinfo"]
    assert unbalanced["stmt_rslt"] == "1"
    assert claim["fund_pay_sumamt"] in unbalanced["stmt_rslt_dscr"]
    assert wrong["fund_pay_sumamt"] in unbalanced["stmt_rslt_dscr"]

    # 3202: the hospital's file leaves Zhou out and alters Zhang's total.
    altered = {
        "setl_id": zhang["setl_id"],
        "mdtrt_id": zhang["mdtrt_id"],
        "psn_no": zhang["psn_no"],
        "medfee_sumamt": fen_to_yuan(yuan_to_fen(zhang["medfee_sumamt"]) + 1000),
        "fund_pay_sumamt": zhang["fund_pay_sumamt"],
        "acct_pay": zhang["acct_pay"],
        "refd_setl_flag": "0",
    }
    upload = his.call(
        "9101",
        {
            "fsUploadIn": {
                "in": detail_file([altered]),
                "filename": "detail.zip",
                "fixmedins_code": "H32010000001",
            }
        },
    )
    detail = his.call(
        "3202",
        {
            "data": {
                "setl_optins": NANJING,
                "file_qury_no": upload["file_qury_no"],
                "stmt_begndate": day,
                "stmt_enddate": day,
                "insutype": "310",
                "medfee_sumamt": altered["medfee_sumamt"],
                "fund_pay_sumamt": altered["fund_pay_sumamt"],
                "cash_payamt": "0.00",
                "fixmedins_setl_cnt": "1",
                "refd_setl_flag": "1",
            }
        },
    )
    result = his.call(
        "9102",
        {
            "fsDownloadIn": {
                "file_qury_no": detail["fileinfo"]["file_qury_no"],
                "filename": detail["fileinfo"]["filename"],
                "fixmedins_code": "H32010000001",
            }
        },
    )
    rows = read_result(result)  # 9102 answers the zip itself
    # Each row: stmt_rslt 0 matched / 1 not, the outcome first in memo, the centre's figures.
    assert rows[zhang["setl_id"]]["stmt_rslt"] == "1"
    assert rows[zhang["setl_id"]]["memo"].startswith("amount_mismatch")
    # The result file holds text; the 2207 answer a number (read exactly): the same yuan.
    assert rows[zhang["setl_id"]]["medfee_sumamt"] == str(zhang["medfee_sumamt"])
    assert rows[zhou["setl_id"]]["stmt_rslt"] == "1"
    assert rows[zhou["setl_id"]]["memo"].startswith("missing_at_hospital")

    # The day ends; the centre issues the agencies' statements.
    world.clock.advance(timedelta(hours=16))
    centre = world.centre("reconciliation")
    issued = centre.ok("POST", "/v1/days/issue", params={"date": day})
    assert f"{SUZHOU}>{NANJING}" in issued["issued"]
    path = f"/v1/statements/{SUZHOU}/{NANJING}/{day}"

    suzhou = world.agency("reconciliation", SUZHOU)
    nanjing = world.agency("reconciliation", NANJING)
    wuxi = world.agency("reconciliation", WUXI)
    assert wuxi.request("GET", path).status_code == 403
    assert wuxi.request("POST", f"{path}/confirm").status_code == 403

    statement = suzhou.ok("GET", path)
    assert {s["settlement_id"] for s in statement["settlements"]} == {
        zhang["setl_id"],
        zhou["setl_id"],
    }

    # Nanjing disputes Zhou's settlement; both confirm; the day closes without it.
    nanjing.ok(
        "POST",
        f"{path}/disputes",
        json={"settlement_id": zhou["setl_id"], "reason": "病历与费用不符"},
    )
    suzhou.ok("POST", f"{path}/confirm")
    closed = nanjing.ok("POST", f"{path}/confirm")
    statement = nanjing.ok("GET", path)
    assert statement["closed"] is True
    cleared = {s["settlement_id"] for s in statement["settlements"] if s["cleared"]}
    held = {s["settlement_id"] for s in statement["settlements"] if s["disputed"]}
    assert cleared == {zhang["setl_id"]}
    assert held == {zhou["setl_id"]}
    assert closed is not None

    # Resolving the dispute by accepting the settlement releases it.
    nanjing.ok("POST", f"{path}/disputes/{zhou['setl_id']}/accept")
    statement = suzhou.ok("GET", path)
    assert {s["settlement_id"] for s in statement["settlements"] if s["cleared"]} == {
        zhang["setl_id"],
        zhou["setl_id"],
    }
    assert any(
        d["pair"] == f"{SUZHOU}>{NANJING}" for d in suzhou.ok("GET", "/v1/days/closed")["days"]
    )
