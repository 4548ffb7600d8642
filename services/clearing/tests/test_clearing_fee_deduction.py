"""Issue 22: a routine audit deduction (审核扣款) decided by the visit place's fee review reaches
clearing through the broker like a clawback: decided on 10 March, it is deducted in March's
statement, with its evidence on the statement's detail.

March: two Suzhou patients at Nanjing's hospital H32010000001, inpatient (category 21), fund
100,000 + 50,000 fen. The fee review refuses 1,200 + 800 = 2,000 fen of the first settlement's
fund money. Suzhou owes Nanjing 150,000 - 2,000 = 148,000.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from yidi_events.contracts.audit import DeductedLine, DeductionSource, FeeDeductionDecided
from yidi_events.contracts.reconciliation import (
    ClearingSettlement,
    DayClosed,
    DaySettlement,
    DaySettlementRecorded,
    Figures,
    SchemeTotals,
)
from yidi_events.kernel import SHANGHAI

NANJING, SUZHOU = "320100", "320500"
HOSPITAL = "H32010000001"
PAIR = f"{SUZHOU}>{NANJING}"
PERIOD = "2026-03"
EMPTY = Figures(count=0, total_fee=0, fund_total=0, account_paid=0, cash_paid=0)
SETTLED = [("S-1", date(2026, 3, 3), 100_000, 30_000), ("S-2", date(2026, 3, 9), 50_000, 10_000)]


async def feed_march(world: Any) -> None:
    for settlement_id, day, fund, cash in SETTLED:
        record = DaySettlement(
            settlement_id=settlement_id,
            visit_id=f"V-{settlement_id}",
            person_id=f"P{settlement_id[-1] * 19}",
            institution_code=HOSPITAL,
            clearing_agency=NANJING,
            insured_region=SUZHOU,
            visit_region=NANJING,
            insurance_type="310",
            clearing_category="21",
            business_date=day,
            total_fee=fund + cash,
            fund_total=fund,
            account_paid=0,
            cash_paid=cash,
            is_refund=False,
            original_settlement_id=None,
            fund_payments=(),
        )
        await world.reconciliation.append(
            f"day:{PAIR}:{day}",
            DaySettlementRecorded(
                pair=PAIR,
                insured_region=SUZHOU,
                visit_region=NANJING,
                business_date=day,
                settlement=record,
                after_issue=False,
                recorded_at=datetime(2026, 3, 10, tzinfo=SHANGHAI),
            ),
            DayClosed(
                pair=PAIR,
                insured_region=SUZHOU,
                visit_region=NANJING,
                business_date=day,
                month=PERIOD,
                close_number=1,
                settlements=(
                    ClearingSettlement(
                        settlement_id=settlement_id,
                        insured_region=SUZHOU,
                        visit_region=NANJING,
                        insurance_type="310",
                        business_date=day,
                        fund_total=fund,
                        account_paid=0,
                        fund_payments=(),
                    ),
                ),
                totals=SchemeTotals(employee=EMPTY, resident=EMPTY),
                held_settlement_ids=(),
                closed_at=datetime(2026, 3, 11, tzinfo=SHANGHAI),
            ),
        )


FEE_DEDUCTION = FeeDeductionDecided(
    deduction_id="FD-1",
    source=DeductionSource.FEE_REVIEW,
    settlement_id="S-1",
    person_id="P1111111111111111111",
    institution_code=HOSPITAL,
    department="0301",
    insured_region=SUZHOU,
    visit_region=NANJING,
    insurance_type="310",
    settled_on=date(2026, 3, 3),
    lines=(
        DeductedLine(fee_line_id="F-1", amount=1_200, reason="超限价"),
        DeductedLine(fee_line_id="F-7", amount=800, reason="重复收费"),
    ),
    amount=2_000,
    reason="超限价及重复收费",
    evidence="审核规则 R-07；病历第3页",
    decided_by="reviewer-1",
    decided_on=date(2026, 3, 10),
)


async def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_fee_review_deduction_of_day_10_is_in_that_months_statement(world: Any) -> None:
    c = world.client
    centre = world.approver("alice")
    await feed_march(world)
    await world.audit.append("fee-deduction:FD-1", FEE_DEDUCTION)
    await world.catch_up()  # published by the relays, consumed from the broker

    statement = await ok(await c.post(f"/periods/{PERIOD}/statement", headers=centre))
    (line,) = statement["lines"]
    (part,) = line["parts"]
    assert (part["fund_paid"], part["audit_deducted"], part["clawed_back"]) == (150_000, 2_000, 0)
    assert (line["line_id"], line["amount"]) == (PAIR, 148_000)

    detail = await ok(
        await c.get(f"/periods/{PERIOD}/statement/lines/{PAIR}", headers=world.agency(SUZHOU))
    )
    (shown,) = detail["parts"][0]["deductions"]
    assert (shown["deduction_id"], shown["amount"], shown["source"]) == (
        "FD-1",
        2_000,
        "fee_review",
    )
    assert (shown["evidence"], shown["settlement_ids"]) == ("审核规则 R-07；病历第3页", "S-1")

    # Delivered again (a republish): the same statement, nothing doubled.
    await world.audit.publish(again=True)
    for consumer in world.runtime.consumers:
        await consumer.catch_up()
    again = await ok(await c.post(f"/periods/{PERIOD}/statement", headers=centre))
    assert again["input_hash"] == statement["input_hash"]
