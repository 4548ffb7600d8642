"""The harness's spec check finds what a BigDecimal client would crash on: a 非空 field missing or
null, an amount sent as a string or without the spec's two decimals, a code sent as a number."""

from __future__ import annotations

from typing import Any

from conformance import parse, spec_problems

GOOD = b"""{"signinoutb": {"sign_time": "2026-03-10 09:00:00", "sign_no": "42"}}"""


def split_answer(**changed: Any) -> Any:
    base = parse(
        b"""{"result": [{"feedetl_sn": "1", "det_item_fee_sumamt": 255.00, "cnt": 10.0000,
        "pric": 25.500000, "selfpay_prop": 0.0000, "fulamt_ownpay_amt": 0.00,
        "overlmt_amt": 0.00, "preselfpay_amt": 0.00, "inscp_scp_amt": 255.00,
        "chrgitm_lv": "01", "med_chrgitm_type": "09", "bas_medn_flag": "0",
        "hi_nego_drug_flag": "0", "chld_medc_flag": "0", "list_sp_item_flag": "0",
        "lmt_used_flag": "0", "drt_reim_flag": "0", "pric_uplmt_amt": 999999.000000}]}"""
    )
    base["result"][0].update(changed)
    return base


def test_a_complete_answer_has_no_problem() -> None:
    assert spec_problems("9001", parse(GOOD)) == []


def test_each_kind_of_problem_is_named() -> None:
    numeric = [f["code"] for f in _fields("2204", "result") if f["type"] == "数值型"]
    assert "det_item_fee_sumamt" in numeric
    assert spec_problems("2204", split_answer()) == []
    problems = spec_problems(
        "2204",
        split_answer(
            det_item_fee_sumamt="255.00", cnt=parse(b"10.0"), chrgitm_lv=1, lmt_used_flag=None
        ),
    )
    assert sorted(p.split(":")[0] for p in problems) == [
        "2204 result.chrgitm_lv",
        "2204 result.cnt",
        "2204 result.det_item_fee_sumamt",
        "2204 result.lmt_used_flag",
    ], problems
    assert spec_problems("9001", {"signinoutb": {"sign_no": "1"}}) == [
        "9001 signinoutb.sign_time: missing or null"
    ]
    assert spec_problems("9001", {}) == ["9001 signinoutb: missing"]


def _fields(infno: str, node: str) -> list[dict[str, Any]]:
    from yidi_settlement.his.typed import spec_outputs

    fields: list[dict[str, Any]] = spec_outputs()[infno]["outputs"][node]
    return fields
