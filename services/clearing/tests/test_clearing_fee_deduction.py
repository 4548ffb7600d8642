"""Issue 22: a routine audit deduction (审核扣款) decided by the visit place's fee review reaches
clearing through the broker like a clawback: decided on 10 March, it is deducted in March's
statement, with its evidence on the statement's detail, and from the hospital's payable for March
(3203 path: reviewed at 40, paid at 60 as a ledger movement, seen in 3205A).

March: two Suzhou patients at Nanjing's hospital H32010000001, inpatient (category 21), fund
100,000 + 50,000 fen. The fee review refuses 1,200 + 800 = 2,000 fen of the first settlement's
fund money. Suzhou owes Nanjing 150,000 - 2,000 = 148,000.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from yidi_clearing.app.projection import own_projection
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
from yidi_events.runtime.projection import rebuild_from_store

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

    statement = await ok(await c.post(f"/v1/periods/{PERIOD}/statement", headers=centre))
    (line,) = statement["lines"]
    (part,) = line["parts"]
    assert (part["fund_paid"], part["audit_deducted"], part["clawed_back"]) == (150_000, 2_000, 0)
    assert (line["line_id"], line["amount"]) == (PAIR, 148_000)

    detail = await ok(
        await c.get(f"/v1/periods/{PERIOD}/statement/lines/{PAIR}", headers=world.agency(SUZHOU))
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
    again = await ok(await c.post(f"/v1/periods/{PERIOD}/statement", headers=centre))
    assert again["input_hash"] == statement["input_hash"]


def his_call(world: Any, name: str, command: dict[str, Any]) -> dict[str, Any]:
    return {
        "json": {
            "name": name,
            "institution_code": HOSPITAL,
            "message_id": f"{HOSPITAL}{name}",
            "visit_region": NANJING,
            "insured_region": None,
            "command": command,
        },
        "headers": world.token("his-gateway", NANJING, "his", kind="service"),
    }


async def test_the_deduction_comes_off_the_hospitals_payable_and_the_payment_is_booked(
    world: Any,
) -> None:
    c = world.client
    nanjing = world.agency(NANJING)
    await feed_march(world)
    await world.audit.append("fee-deduction:FD-1", FEE_DEDUCTION)
    await world.catch_up()

    # 3203: the hospital's March inpatient claim equals what reconciliation recorded:
    # 2 settlements, fee 130,000 + 60,000, fund 100,000 + 50,000, cash 30,000 + 10,000.
    applied = await c.post(
        "/v1/internal/his",
        **his_call(
            world,
            "clearing.apply",
            {
                "clearing_agency": NANJING,
                "month": PERIOD,
                "clearing_category": "21",
                "count": 2,
                "total_fee": 190_000,
                "fund_total": 150_000,
                "account_paid": 0,
                "cash_paid": 40_000,
            },
        ),
    )
    application_id = (await ok(applied))["result"]["clearing_application_id"]
    for to in ("20", "30", "40"):
        row = await ok(
            await c.post(
                f"/v1/hospital-clearing/{application_id}/status",
                headers=nanjing,
                json={"to_status": to},
            )
        )
    # Reviewed: 150,000 reimbursable less the 2,000 the fee review refused.
    assert (row["reimbursable"], row["audit_deducted"], row["clawed_back"]) == (150_000, 2_000, 0)
    assert row["payable_amount"] == 148_000
    assert row["deadlines"] == {
        "application": "2026-04-10",
        "review": "2026-04-15",
        "payment": "2026-04-25",
    }
    assert row["late"] == []
    await ok(
        await c.post(
            f"/v1/hospital-clearing/{application_id}/status",
            headers=nanjing,
            json={"to_status": "50"},
        )
    )
    short = await c.post(
        f"/v1/hospital-clearing/{application_id}/payment",
        headers=nanjing,
        json={"amount": 150_000, "bank_reference": "NJ-H-1"},
    )
    assert short.status_code == 422
    assert short.json()["error"]["rule"] == "clearing.payment_amount"
    paid = await ok(
        await c.post(
            f"/v1/hospital-clearing/{application_id}/payment",
            headers=nanjing,
            json={"amount": 148_000, "bank_reference": "NJ-H-1"},
        )
    )
    assert (paid["status"], paid["paid_amount"], paid["bank_reference"]) == (
        "60",
        148_000,
        "NJ-H-1",
    )

    # In the books: posted at review, paid out at 60; balanced, the hospital owed nothing more.
    trial = await ok(await c.get("/v1/ledger/trial-balance", headers=world.approver("alice")))
    assert trial["total"] == 0
    assert {a: b for a, b in trial["accounts"].items() if b} == {
        "agency_bank:320100": -148_000,
        "hospital_claims:320100": 148_000,
    }
    # 3205A (forwarded): the hospital sees its application paid, with the payable.
    listed = await ok(
        await c.post(
            "/v1/internal/his", **his_call(world, "clearing.applications", {"month": PERIOD})
        )
    )
    (seen,) = listed["result"]["applications"]
    assert (seen["status"], seen["payable_amount"], seen["paid_amount"]) == ("60", 148_000, 148_000)

    # Rebuilt from the event store, the applications and the ledger equal the live rows.
    projection = own_projection()
    async with world.runtime.engine.connect() as conn:
        live = await projection.snapshot(conn)
    await rebuild_from_store(world.runtime.engine, world.runtime.store, projection)
    async with world.runtime.engine.connect() as conn:
        assert await projection.snapshot(conn) == live
