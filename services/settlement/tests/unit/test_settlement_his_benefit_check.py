"""2001 人员待遇享受检查: registration's eligibility decision, told as the spec's trtinfo rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from settlement_his_numbers import spec_gaps

from yidi_events.kernel import DomainError
from yidi_settlement.app.visits import BenefitCheck
from yidi_settlement.his import outputs
from yidi_settlement.his.typed import typed


class _Person:
    def __init__(self, insurance_type: str) -> None:
        self.row = {"person_id": "P1", "insurance_type": insurance_type}


def check(insurance_type: str, refusal: DomainError | None) -> BenefitCheck:
    person: Any = _Person(insurance_type)
    return BenefitCheck(person, date(2026, 3, 10), refusal)


def test_an_eligible_employee_enjoys_the_employee_basic_fund() -> None:
    answer = typed(outputs.benefit_check(check("310", None)))
    assert answer == {
        "trtinfo": [
            {
                "psn_no": "P1",
                "trt_chk_type": "01",
                "fund_pay_type": "310100",
                "trt_enjymnt_flag": "1",
                "begndate": "2026-03-10",
                "enddate": None,
                "trt_chk_rslt": None,
            }
        ]
    }
    assert spec_gaps("2001", answer) == []


def test_a_suspended_resident_is_told_why_not() -> None:
    suspended = DomainError(
        "eligibility.benefits_suspended", "the person's benefits are suspended", field="person_id"
    )
    answer = typed(outputs.benefit_check(check("390", suspended)))
    (row,) = answer["trtinfo"]
    assert row["fund_pay_type"] == "390100"
    assert row["trt_enjymnt_flag"] == "0"
    assert row["trt_chk_rslt"] == (
        "psn_no：参保人员医保待遇已暂停（eligibility.benefits_suspended）"
    )
    assert spec_gaps("2001", answer) == []
