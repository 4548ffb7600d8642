"""Hospital clearing over the internal HIS endpoint (3203/3204/3205A) against reconciled totals,
the agency status lifecycle, the calendar's run-due, adjustments and the prepaid fund warning."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from yidi_events.contracts.reconciliation import (
    ClearingSettlement,
    DayClosed,
    DaySettlement,
    DaySettlementRecorded,
    Figures,
    SchemeTotals,
)

NANJING, SUZHOU, CENTRE = "320100", "320500", "320000"
HOSPITAL = "H32010000001"
EMPTY = Figures(count=0, total_fee=0, fund_total=0, account_paid=0, cash_paid=0)


def record(n: int, day: date, category: str, fund: int, account: int, cash: int) -> DaySettlement:
    return DaySettlement(
        settlement_id=f"S-{n}",
        visit_id=f"V-{n}",
        person_id=f"P{n:019d}",
        institution_code=HOSPITAL,
        clearing_agency=NANJING,
        insured_region=SUZHOU,
        visit_region=NANJING,
        insurance_type="310",
        clearing_category=category,
        business_date=day,
        total_fee=fund + account + cash,
        fund_total=fund,
        account_paid=account,
        cash_paid=cash,
        is_refund=False,
        original_settlement_id=None,
        fund_payments=(),
    )


async def feed(world: Any) -> None:
    days = [
        record(1, date(2026, 3, 3), "21", 100_000, 2_000, 30_050),
        record(2, date(2026, 3, 9), "21", 50_000, 0, 10_000),
        record(3, date(2026, 3, 9), "11", 8_000, 1_000, 1_000),
    ]
    for s in days:
        pair = f"{SUZHOU}>{NANJING}"
        await world.reconciliation.append(
            f"day:{pair}:{s.business_date}:{s.settlement_id}",
            DaySettlementRecorded(
                pair=pair,
                insured_region=SUZHOU,
                visit_region=NANJING,
                business_date=s.business_date,
                settlement=s,
                after_issue=False,
                recorded_at=datetime(2026, 3, 10, tzinfo=UTC),
            ),
            DayClosed(
                pair=pair,
                insured_region=SUZHOU,
                visit_region=NANJING,
                business_date=s.business_date,
                month="2026-03",
                close_number=1,
                settlements=(
                    ClearingSettlement(
                        settlement_id=s.settlement_id,
                        insured_region=SUZHOU,
                        visit_region=NANJING,
                        insurance_type="310",
                        business_date=s.business_date,
                        fund_total=s.fund_total,
                        account_paid=s.account_paid,
                        fund_payments=(),
                    ),
                ),
                totals=SchemeTotals(employee=EMPTY, resident=EMPTY),
                held_settlement_ids=(),
                closed_at=datetime(2026, 3, 11, tzinfo=UTC),
            ),
        )
    await world.catch_up()


APPLY, WITHDRAW, APPLICATIONS = "clearing.apply", "clearing.withdraw", "clearing.applications"


def his_call(world: Any, name: str, command: dict[str, Any]) -> dict[str, Any]:
    return {
        "json": {
            "name": name,
            "institution_code": HOSPITAL,
            "message_id": f"{HOSPITAL}20260402090000{name}",
            "visit_region": NANJING,
            "insured_region": None,
            "command": command,
        },
        "headers": world.token("his-gateway", NANJING, "his", kind="service"),
    }


INPATIENT = {
    "clearing_agency": NANJING,
    "clearing_category": "21",
    "month": "2026-03",
    "count": 2,
    "total_fee": 192_050,
    "fund_total": 150_000,
    "cash_paid": 40_050,
    "account_paid": 2_000,
}


async def test_hospital_clearing_application_checked_and_moved_through_its_lifecycle(
    world: Any,
) -> None:
    c = world.client
    await feed(world)

    wrong = await c.post(
        "/v1/internal/his", **his_call(world, APPLY, {**INPATIENT, "fund_total": 150_001})
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["field"] == "fund_total"
    assert wrong.json()["error"]["rule"] == "clearing.totals_mismatch"
    not_gateway = await c.post(
        "/v1/internal/his",
        json=his_call(world, APPLY, INPATIENT)["json"],
        headers=world.agency(NANJING),
    )
    assert not_gateway.status_code == 403

    applied = await c.post("/v1/internal/his", **his_call(world, APPLY, INPATIENT))
    assert applied.status_code == 200, applied.text
    application_id = applied.json()["result"]["clearing_application_id"]
    twice = await c.post("/v1/internal/his", **his_call(world, APPLY, INPATIENT))
    assert twice.status_code == 409

    status = await c.post("/v1/internal/his", **his_call(world, APPLICATIONS, {"month": "2026-03"}))
    rows = status.json()["result"]["applications"]
    assert [(r["clearing_application_id"], r["status"], r["fund_total"]) for r in rows] == [
        (application_id, "10", 150_000)
    ]

    # Suzhou is not the clearing agency: it may not move Nanjing's hospital application.
    foreign = await c.post(
        f"/v1/hospital-clearing/{application_id}/status",
        headers=world.agency(SUZHOU),
        json={"to_status": "20"},
    )
    assert foreign.status_code == 403
    skip = await c.post(
        f"/v1/hospital-clearing/{application_id}/status",
        headers=world.agency(NANJING),
        json={"to_status": "50"},
    )
    assert skip.status_code == 409
    assert skip.json()["error"]["rule"] == "clearing.illegal_transition"
    for to in ("20", "30", "40", "50"):
        moved = await c.post(
            f"/v1/hospital-clearing/{application_id}/status",
            headers=world.agency(NANJING),
            json={"to_status": to},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == to
    # Reviewed (40) fixed the payable: fund 150,000 + account 2,000, nothing deducted. It is
    # paid (60) by recording the payment, not by a status change.
    assert moved.json()["payable_amount"] == 152_000
    by_status = await c.post(
        f"/v1/hospital-clearing/{application_id}/status",
        headers=world.agency(NANJING),
        json={"to_status": "60"},
    )
    assert by_status.json()["error"]["rule"] == "clearing.payment_required"
    paid = await c.post(
        f"/v1/hospital-clearing/{application_id}/payment",
        headers=world.agency(NANJING),
        json={"amount": 152_000, "bank_reference": "NJ-H-1"},
    )
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["paid_amount"]) == ("60", 152_000)
    withdraw_late = await c.post(
        "/v1/internal/his", **his_call(world, WITHDRAW, {"clearing_application_id": application_id})
    )
    assert withdraw_late.status_code == 409

    # Outpatient: applied, withdrawn (3204), applied again with a new id, then rejected (70).
    outpatient = {
        **INPATIENT,
        "clearing_category": "11",
        "count": 1,
        "total_fee": 10_000,
        "fund_total": 8_000,
        "account_paid": 1_000,
        "cash_paid": 1_000,
    }
    first = (await c.post("/v1/internal/his", **his_call(world, APPLY, outpatient))).json()
    first_id = first["result"]["clearing_application_id"]
    withdrawn = await c.post(
        "/v1/internal/his", **his_call(world, WITHDRAW, {"clearing_application_id": first_id})
    )
    assert withdrawn.status_code == 200, withdrawn.text
    second = (await c.post("/v1/internal/his", **his_call(world, APPLY, outpatient))).json()
    second_id = second["result"]["clearing_application_id"]
    assert second_id != first_id
    no_reason = await c.post(
        f"/v1/hospital-clearing/{second_id}/status",
        headers=world.agency(NANJING),
        json={"to_status": "70"},
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["field"] == "reason"
    rejected = await c.post(
        f"/v1/hospital-clearing/{second_id}/status",
        headers=world.agency(NANJING),
        json={"to_status": "70", "reason": "DRG grouping to be redone"},
    )
    assert rejected.json()["status"] == "70"
    listed = (
        await c.get("/v1/hospital-clearing?month=2026-03", headers=world.agency(NANJING))
    ).json()
    assert {
        (a["clearing_application_id"], a["status"], a["withdrawn"]) for a in listed["applications"]
    } == {
        (application_id, "60", False),
        (first_id, "10", True),
        (second_id, "70", False),
    }
    assert (await c.get("/v1/hospital-clearing", headers=world.agency(SUZHOU))).json() == {
        "applications": []
    }
    # Paged by id within the month, the next page in `Link`, the wrapper body as it was.
    url: str | None = "/v1/hospital-clearing?month=2026-03&limit=2"
    pages = []
    while url is not None:
        page = await c.get(url, headers=world.agency(NANJING))
        assert page.status_code == 200, page.text
        pages.append([a["clearing_application_id"] for a in page.json()["applications"]])
        link = page.headers.get("link")
        url = None if link is None else link.removeprefix("<").removesuffix('>; rel="next"')
    assert [len(ids) for ids in pages] == [2, 1]
    assert [i for ids in pages for i in ids] == sorted([application_id, first_id, second_id])
    whole = await c.get("/v1/hospital-clearing?month=2026-03", headers=world.agency(NANJING))
    assert "link" not in whole.headers
    bad = await c.get("/v1/hospital-clearing?cursor=WzFd", headers=world.agency(NANJING))
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "cursor"), bad.text


async def test_run_due_makes_the_statement_and_reports_what_waits_and_what_is_late(
    world: Any,
) -> None:
    c = world.client
    await feed(world)
    centre = world.centre("scheduler", "approver")
    agency_run = await c.post("/v1/periods/2026-03/run-due", headers=world.agency(NANJING))
    assert agency_run.status_code == 403

    ran = (await c.post("/v1/periods/2026-03/run-due", headers=centre)).json()
    assert ran["ran"] == ["statement"]
    assert ran["due"] == []
    assert ran["late"] == []
    again = (await c.post("/v1/periods/2026-03/run-due", headers=centre)).json()
    assert again["ran"] == []
    assert again["done"] == ["statement"]

    # A period not yet over cannot be cleared.
    early = await c.post("/v1/periods/2026-04/statement", headers=centre)
    assert early.status_code == 422
    assert early.json()["error"]["rule"] == "clearing.days_still_closing"

    # Adjustments take four eyes too.
    adj = {
        "adjustment_id": "ADJ-1",
        "payer_agency": SUZHOU,
        "receiver_agency": NANJING,
        "amount": 1_234,
        "reason": "late correction agreed on the phone",
    }
    await c.post("/v1/periods/2026-03/adjustments", headers=world.approver("alice"), json=adj)
    self_approve = await c.post(
        "/v1/periods/2026-03/adjustments/ADJ-1/approve", headers=world.approver("alice")
    )
    assert self_approve.status_code == 403
    assert self_approve.json()["error"]["rule"] == "clearing.four_eyes"
    approved = await c.post(
        "/v1/periods/2026-03/adjustments/ADJ-1/approve", headers=world.approver("bob")
    )
    assert approved.json()["approved_by"] == "bob"

    # Prepaid fund: Q4 averages 100,000 yuan a month -> a 200,000-yuan fund; this month is small.
    check = await c.post(
        "/v1/periods/2026-03/prepaid-fund-check",
        headers=centre,
        json={"fund_id": "JS-2026", "q4_monthly_amounts": [100_000, 10_000, 10_000]},
    )
    assert check.status_code == 200, check.text
    assert check.json()["fund_amount"] == 80_000
    line_total = 100_000 + 2_000 + 50_000 + 8_000 + 1_000
    assert check.json()["clearing_amount"] == line_total
    assert check.json()["level"] == "red"
    async with world.runtime.engine.connect() as conn:
        stream = await world.runtime.store.load(conn, "clearing-period:2026-03")
    assert "clearing.PrepaidFundWarningRaised" in [e.event_type for e in stream]

    # Later in April nobody confirmed: confirmation is late, and run-due says who it waits for.
    world.runtime.clock.set(datetime(2026, 4, 11, 9, tzinfo=UTC))
    late = (await c.post("/v1/periods/2026-03/run-due", headers=centre)).json()
    assert late["late"] == ["confirmation", "netting"]
    assert [w["step"] for w in late["waiting"]] == ["confirmation", "netting"]
    assert f"{SUZHOU}>{NANJING}" in late["waiting"][0]["waiting_for"]
