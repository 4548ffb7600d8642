"""The output mappings on domain values, against the spec's own output tables: every 非空 field
present and typed as the spec types it once the answer is rendered (amounts as numbers with two
decimals, written from their decimal text)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from settlement_his_numbers import spec_gaps
from settlement_his_testkit import envelope

from yidi_benefits.engine import SettlementComputation
from yidi_benefits.line_split import split_return
from yidi_benefits.model import CatalogueEntry, FeeLine
from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.settlement import ItemClass
from yidi_settlement.app.commands import Settlement
from yidi_settlement.domain.events import VisitRegistered
from yidi_settlement.his import analysis, clearing, downloads, hospital_checks, outputs, referral
from yidi_settlement.his.typed import SpecTypedJSON, dumps, spec_outputs, typed
from yidi_settlement.vectors import run_case

CASES: list[dict[str, Any]] = json.loads(
    (shared_dir() / "vectors/settlement.json").read_text(encoding="utf-8")
)
EMPLOYEE = next(c for c in CASES if c["name"].startswith("employee in-service, level 3"))
RESIDENT = next(c for c in CASES if c["name"].startswith("resident, level 3"))
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
PERSON = {
    "person_id": "P320100000001",
    "name": "张三",
    "certificate_type": "01",
    "certificate_no": "320102198001011234",
    "gender": "1",
    "birth_date": date(1980, 1, 1),
    "person_category": "11",
    "civil_servant": False,
}


def _settlement(result: SettlementComputation, *, committed: bool) -> Settlement:
    registration = VisitRegistered(
        visit_id="V1",
        person_id=PERSON["person_id"],
        insured_region="320500",
        visit_region="320100",
        institution_code="H32010000001",
        insurance_type="310",
        medical_type="21",
        began_at=NOW,
    )
    return Settlement(
        computation=result,
        person=PERSON,
        registration=registration,
        settlement_id="S1" if committed else None,
        clearing_agency="320100" if committed else None,
        clearing_category="21",
    )


def _answer(done: Settlement) -> dict[str, Any]:
    return outputs.settlement(done, settled_at=NOW, message_id="M1", voucher_type="03")


@pytest.mark.parametrize("case", [EMPLOYEE, RESIDENT], ids=["employee", "resident"])
@pytest.mark.parametrize("infno", ["2206", "2207", "2303", "2304"])
def test_settlement_answers_carry_every_non_null_field_typed(
    case: dict[str, Any], infno: str
) -> None:
    committed = infno in ("2207", "2304")
    answer = typed(_answer(_settlement(run_case(case), committed=committed)))
    assert spec_gaps(infno, answer) == []


def test_a_resident_without_an_account_answers_balance_zero_and_the_unpaid_funds_zero() -> None:
    info = typed(_answer(_settlement(run_case(RESIDENT), committed=True)))["setlinfo"]
    assert run_case(RESIDENT).account_balance_after is None
    for name in ("balc", "hifes_pay", "oth_pay", "acct_mulaid_pay", "hifdm_pay"):
        assert info[name] == Decimal("0.00"), name
        assert str(info[name]) == "0.00", name


def test_the_pooled_ratio_is_the_basic_fund_over_the_in_policy_amount_above_the_deductible() -> (
    None
):
    # 560.00 of (1,000.00 - 200.00) = 0.7; 1 fen of 3 fen rounds half up to 0.3333.
    totals = {"in_policy": 100000, "deductible_applied": 20000, "basic_fund": 56000}
    assert outputs.pool_ratio(totals) == "0.7000"
    assert outputs.pool_ratio({"in_policy": 3, "deductible_applied": 0, "basic_fund": 1}) == (
        "0.3333"
    )
    assert outputs.pool_ratio({"in_policy": 500, "deductible_applied": 500, "basic_fund": 0}) == (
        "0.0000"
    )


def test_setldetail_rows_carry_their_in_policy_base_and_a_zero_payable_limit() -> None:
    result = run_case(EMPLOYEE)
    rows = typed(_answer(_settlement(result, committed=True)))["setldetail"]
    assert rows
    for row in rows:
        assert row["inscp_scp_amt"] == Decimal(result.totals.in_policy) / 100
        assert str(row["crt_payb_lmt_amt"]) == "0.00"


@pytest.mark.parametrize("infno", ["2204", "2301"])
def test_fee_line_splits_carry_every_non_null_field_typed(infno: str) -> None:
    result = run_case(EMPLOYEE)
    capped = CatalogueEntry(
        catalogue_code="X",
        item_class=ItemClass.B,
        self_pay_ratio=Decimal("0.1"),
        price_cap=Decimal("50"),
    )
    uncapped = CatalogueEntry(
        catalogue_code="Y", item_class=ItemClass.A, self_pay_ratio=Decimal("0"), price_cap=None
    )
    rows = [outputs.fee_line_split(s, e) for s in result.lines for e in (capped, uncapped, None)]
    answer = typed({"result": rows})
    assert spec_gaps(infno, answer) == []
    without_cap = answer["result"][1]
    assert without_cap["pric_uplmt_amt"] == Decimal(outputs.NO_PRICE_CAP)
    outside = answer["result"][2]
    assert outside["selfpay_prop"] == Decimal(1)
    assert outside["lmt_used_flag"] == "0"


@pytest.mark.parametrize("infno", ["2204", "2301"])
def test_a_returned_line_carries_every_non_null_field_typed_and_negative(infno: str) -> None:
    # 10 of a 25.50 item charged, 4 returned: the return's split is -102.00 in policy.
    entry = CatalogueEntry(
        catalogue_code="XA001", item_class=ItemClass.A, self_pay_ratio=Decimal(0), price_cap=None
    )
    charged = FeeLine(
        fee_line_no="1",
        catalogue_code="XA001",
        quantity=Decimal(10),
        unit_price=Decimal("25.50"),
        amount=25500,
    )
    returned = replace(
        charged, fee_line_no="2", quantity=Decimal(-4), amount=-10200, returned_line="1"
    )
    answer = typed(
        {"result": [outputs.fee_line_split(split_return(returned, charged, entry), entry)]}
    )
    assert spec_gaps(infno, answer) == []
    [row] = answer["result"]
    assert (row["det_item_fee_sumamt"], row["inscp_scp_amt"]) == (
        Decimal("-102.00"),
        Decimal("-102.00"),
    )
    assert row["cnt"] == Decimal(-4)


@pytest.mark.parametrize("infno", ["2303", "2304"])
def test_an_interim_stage_answer_carries_every_non_null_field_typed(infno: str) -> None:
    # A later stage of a stay owes no deductible and counts no admission; its answer is whole.
    result = run_case(EMPLOYEE)
    later = replace(
        result,
        totals=replace(result.totals, deductible_applied=0),
        movement=replace(result.movement, inpatient_admissions=0),
        deductible_left=0,
    )
    answer = typed(_answer(_settlement(later, committed=infno == "2304")))
    assert spec_gaps(infno, answer) == []
    assert answer["setlinfo"]["act_pay_dedc"] == Decimal("0.00")


def _record(refund: bool) -> dict[str, Any]:
    result = run_case(EMPLOYEE)
    totals = result.totals.negated() if refund else result.totals
    return {
        "settlement_id": "S2",
        "visit_id": "V1",
        "person_id": PERSON["person_id"],
        "institution_code": "H32010000001",
        "insurance_type": "310",
        "medical_type": "21",
        "settled_at": NOW,
        "business_date": NOW.date(),
        "totals": {n: getattr(totals, n) for n in totals.__dataclass_fields__},
        "account_balance_after": result.account_balance_after,
        "message_id": "M2",
        "clearing_agency": "320100",
        "clearing_category": "21",
        "is_refund": refund,
        "insured_region": "320500",
        "visit_region": "320100",
        "original_settlement_id": "S1" if refund else None,
        "fund_payments": [
            {"fund_code": p.fund_code.value, "amount": -p.amount if refund else p.amount}
            for p in result.fund_payments
        ],
    }


@pytest.mark.parametrize("infno", ["2208", "2305"])
def test_a_cancellation_record_carries_every_non_null_field_typed(infno: str) -> None:
    answer = typed(outputs.settlement_record(_record(refund=True)))
    assert spec_gaps(infno, answer) == []
    assert answer["setlinfo"]["medfee_sumamt"] < 0


def test_amounts_are_written_as_numbers_with_their_two_decimals() -> None:
    body = SpecTypedJSON(
        {"infcode": 0, "err_msg": None, "output": {"setlinfo": {"medfee_sumamt": "12.30"}}}
    ).body
    assert body == b'{"infcode":0,"err_msg":null,"output":{"setlinfo":{"medfee_sumamt":12.30}}}'
    assert dumps(typed({"result": [{"cnt": "2", "pric": "60", "selfpay_prop": "0.1"}]})) == (
        '{"result":[{"cnt":2.0000,"pric":60.000000,"selfpay_prop":0.1000}]}'
    )
    assert dumps(typed({"data": {"psn_name": "张三", "balc": 0}})) == (
        '{"data":{"psn_name":"张三","balc":0.00}}'
    )


def test_the_spec_tables_hold_every_transaction_served() -> None:
    served = "1101 2201 2204 2206 2207 2208 2301 2303 2304 2305 2401 2501 3101 3102 3201 3202"
    queries = "1201 1901 4101 5201 5202 5204 5205 5206"  # 4101A answers 4101's table
    catalogue_queries = "1304 1312 1316 1317 1318 1319"  # test_settlement_his_catalogue_queries
    catalogue_files = tuple(downloads.CATALOGUE_FILES)
    for infno in (
        *served.split(),
        *queries.split(),
        *catalogue_queries.split(),
        *catalogue_files,
        "3203",
        "5203",
        "9001",
        "9101",
    ):
        assert spec_outputs()[infno]["outputs"], infno
    setlinfo = {f["code"]: f for f in spec_outputs()["2207"]["outputs"]["setlinfo"]}
    assert setlinfo["hifes_pay"]["type"] == "数值型"
    assert setlinfo["hifes_pay"]["length"] == "16,2"
    assert setlinfo["hifes_pay"]["required"] is True


_FILE = {
    "file_query_no": "F1",
    "filename": "d.zip",
    "download_until": "2026-03-17T01:00:00+00:00",
}
_WARNING = {
    "flag_id": "F1",
    "rule_id": "audit.split_hospitalization",
    "rule_name": "split stay",
    "detail": "readmitted within 15 days",
    "person_id": "P1",
    "visit_id": "V1",
    "amount_at_issue": 500_000,
    "severity": "suspected",
    "evidence": "settlements S1",
}
_TOTALS = {
    "clearing_agency": "320100",
    "start_date": "2026-03-10",
    "end_date": "2026-03-10",
    "balanced": True,
    "description": "Balanced.",
    "differences": [],
}
FORWARDED = {
    "2501": (referral.filing_output, {"filing_id": "T1"}),
    "3101": (analysis.analysis_output, {"warnings": [_WARNING]}),
    "3102": (analysis.analysis_output, {"warnings": [_WARNING]}),
    "3201": (hospital_checks.totals_output, _TOTALS),
    "3202": (hospital_checks.details_output, _FILE),
    "3203": (clearing.application_output, {"clearing_application_id": "C1"}),
    "9101": (hospital_checks.upload_output, _FILE),
}


@pytest.mark.parametrize("infno", sorted(FORWARDED))
def test_forwarded_answers_carry_every_non_null_field_typed(infno: str) -> None:
    to_output, result = FORWARDED[infno]
    answer = typed(to_output(envelope(infno, {"data": {"task_id": "TASK-1"}}), result))
    assert spec_gaps(infno, answer) == []
