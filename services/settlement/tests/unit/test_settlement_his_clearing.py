"""3203/3204/3205A at the edge: the national claim becomes `clearing.apply`, the stored
applications become 3205A rows, and clearing's refusals are told in the claim's names."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from settlement_his_testkit import envelope

from yidi_events.kernel import DomainError
from yidi_events.settings import ServiceSettings
from yidi_settlement.his.clearing import (
    application_output,
    applications_output,
    applications_query,
    apply_command,
    withdraw_command,
)
from yidi_settlement.his.fields import error_text
from yidi_settlement.his.forwarder import Forwarder

NANJING = "320100"
INPATIENT = {
    "clr_type": "21",
    "clr_way": "1",
    "setlym": "202603",
    "psntime": 2,
    "medfee_sumamt": "1920.50",
    "fund_appy_sum": "1500.00",
    "cash_payamt": "400.50",
    "acct_pay": "20.00",
}


def test_3203_claim_maps_to_the_apply_command_in_fen() -> None:
    assert apply_command(envelope("3203", INPATIENT)) == {
        "clearing_agency": NANJING,  # no clr_optins: the visit place clears
        "month": "2026-03",
        "clearing_category": "21",
        "count": 2,
        "total_fee": 192_050,
        "fund_total": 150_000,
        "account_paid": 2_000,
        "cash_paid": 40_050,
    }


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"psntime": "-1"}, "psntime", "his.count_invalid"),
        ({"fund_appy_sum": "12.345"}, "fund_appy_sum", "his.amount_invalid"),
        ({"setlym": "2026-13"}, "setlym", "his.month_invalid"),
        ({"clr_type": ""}, "clr_type", "his.field_required"),
    ],
)
def test_a_malformed_claim_is_refused_by_its_national_field(
    change: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(DomainError) as refused:
        apply_command(envelope("3203", {**INPATIENT, **change}))
    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_3204_and_3205a_inputs_and_outputs() -> None:
    withdraw = envelope("3204", {"clr_appy_evt_id": "A1"})
    assert withdraw_command(withdraw) == {"clearing_application_id": "A1"}
    assert application_output(withdraw, {"clearing_application_id": "A1"}) == {
        "result": {"clr_appy_evt_id": "A1"}
    }
    query = envelope("3205A", {"clr_ym": "202603", "clr_stas": "10"})
    assert applications_query(query) == {
        "clearing_agency": None,
        "status": "10",
        "month": "2026-03",
    }
    row = {
        "institution_code": "H32010000001",
        "clearing_application_id": "A1",
        "clearing_agency": NANJING,
        "month": "2026-03",
        "clearing_category": "21",
        "status": "10",
        "withdrawn": False,
        "count": 2,
        "total_fee": 192_050,
        "fund_total": 150_000,
        "account_paid": 2_000,
        "cash_paid": 40_050,
        "changed_on": date(2026, 4, 2).isoformat(),
        "changed_by": "H32010000001",
    }
    (answer,) = applications_output(query, {"applications": [row]})["data"]
    assert answer == {
        "fixmedins_code": "H32010000001",
        "clr_appy_evt_id": "A1",
        "clr_optins": NANJING,
        "clr_ym": "202603",
        "clr_type": "21",
        "clr_stas": "10",
        "vali_flag": "1",
        "psntime": 2,
        "medfee_sumamt": "1920.50",
        "fund_appy_sum": "1500.00",
        "acct_pay": "20.00",
        "cash_payamt": "400.50",
        "opt_time": "2026-04-02",
        "opter_id": "H32010000001",
    }


async def test_the_owners_figures_cross_the_forwarding_and_are_told_in_chinese() -> None:
    """Clearing refuses a claim that is not what reconciliation found; its error body carries the
    two figures as values, and the hospital is told both, in the claim's own field name."""

    def clearing(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/internal/his"
        return httpx.Response(
            422,
            json={
                "error": {
                    "rule": "clearing.totals_mismatch",
                    "field": "fund_total",
                    "message": "fund_total 1500.00 differs from the reconciled 1400.00",
                    "values": {"claimed": "1500.00", "reconciled": "1400.00", "odd": [1]},
                }
            },
        )

    forwarder = Forwarder(ServiceSettings(), transport=httpx.MockTransport(clearing))
    with pytest.raises(DomainError) as refused:
        await forwarder.forward(envelope("3203", INPATIENT))
    assert refused.value.values == {"claimed": "1500.00", "reconciled": "1400.00"}
    assert error_text(refused.value, "3203") == (
        "fund_appy_sum：清算申请金额与对账结果不符，请先对账，申请 1500.00，对账 1400.00"
        "（clearing.totals_mismatch）"
    )


def test_clearings_refusal_is_told_in_the_claims_names() -> None:
    mismatch = DomainError("clearing.totals_mismatch", "fund_total differs", field="fund_total")
    assert error_text(mismatch, "3203") == (
        "fund_appy_sum：清算申请金额与对账结果不符，请先对账（clearing.totals_mismatch）"
    )
