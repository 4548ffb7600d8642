"""Issue 22, the prepaid fund (预付金) as money, through the clearing service's API on real
PostgreSQL and the broker: Suzhou is late with March's cash; on the disbursement day (20 April)
the fund pays Nanjing; Suzhou's cash repays it; the trial balance is zero at every step and the
fund's level and warnings are right; the ledger rebuilt from the store equals the live one.

March: two Suzhou patients in Nanjing, fund 60,000 + 40,000 fen, so Suzhou owes Nanjing 100,000
(Suzhou -100,000, Nanjing +100,000). The fund: Q4 of 60,000 a month x 2 = 120,000 fen.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from yidi_clearing.app.projection import own_projection
from yidi_events.contracts.reconciliation import (
    ClearingSettlement,
    DayClosed,
    Figures,
    SchemeTotals,
)
from yidi_events.kernel import SHANGHAI
from yidi_events.runtime.projection import rebuild_from_store

NANJING, SUZHOU = "320100", "320500"
PAIR = f"{SUZHOU}>{NANJING}"
PERIOD = "2026-03"
EMPTY = Figures(count=0, total_fee=0, fund_total=0, account_paid=0, cash_paid=0)


def day_closed(n: int, day: date, fund: int) -> DayClosed:
    return DayClosed(
        pair=PAIR,
        insured_region=SUZHOU,
        visit_region=NANJING,
        business_date=day,
        month=PERIOD,
        close_number=1,
        settlements=(
            ClearingSettlement(
                settlement_id=f"S-{n}",
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
        closed_at=datetime(2026, 3, 20, tzinfo=SHANGHAI),
    )


async def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_late_payers_receiver_is_paid_from_the_fund_and_the_cash_repays_it(
    world: Any,
) -> None:
    c = world.client
    alice, bob = world.approver("alice"), world.approver("bob")

    async def balanced() -> dict[str, int]:
        trial = await ok(await c.get("/v1/ledger/trial-balance", headers=alice))
        assert trial["total"] == 0
        assert trial["debits"] == trial["credits"]
        return {a: b for a, b in trial["accounts"].items() if b}

    async def fund() -> dict[str, Any]:
        return dict(await ok(await c.get("/v1/prepaid-fund", headers=world.agency(NANJING))))

    await world.reconciliation.append(
        f"day:{PAIR}:2026-03-09", day_closed(1, date(2026, 3, 9), 60_000)
    )
    await world.reconciliation.append(
        f"day:{PAIR}:2026-03-19", day_closed(2, date(2026, 3, 19), 40_000)
    )
    await world.catch_up()

    # 4 April: the fund is set aside; March's statement, confirmed and approved; netted on the 10th.
    established = await ok(
        await c.post(
            "/v1/prepaid-fund", headers=alice, json={"q4_monthly_amounts": [60_000, 60_000, 60_000]}
        )
    )
    assert (established["size"], established["level"], established["warning"]) == (
        120_000,
        120_000,
        "green",
    )
    assert await balanced() == {"prepaid_fund": 120_000, "prepaid_fund_capital": -120_000}
    await ok(await c.post(f"/v1/periods/{PERIOD}/statement", headers=alice))
    for agency in (SUZHOU, NANJING):
        await ok(
            await c.post(f"/v1/periods/{PERIOD}/lines/{PAIR}/confirm", headers=world.agency(agency))
        )
    await ok(await c.post(f"/v1/periods/{PERIOD}/approvals", headers=alice))
    await ok(await c.post(f"/v1/periods/{PERIOD}/approvals", headers=bob))
    world.runtime.clock.set(datetime(2026, 4, 10, 10, tzinfo=SHANGHAI))
    netted = await ok(await c.post(f"/v1/periods/{PERIOD}/net-positions", headers=alice))
    assert {p["agency"]: p["net"] for p in netted["positions"]} == {
        NANJING: 100_000,
        SUZHOU: -100_000,
    }
    assert await balanced() == {
        "payable:320100": -100_000,
        "prepaid_fund": 120_000,
        "prepaid_fund_capital": -120_000,
        "receivable:320500": 100_000,
    }

    # 20 April, the disbursement day: Suzhou sent nothing by the 15th. The fund pays Nanjing in
    # full: 100,000 of 120,000 in use is 83.33%, a yellow warning (70% <= use < 90%).
    world.runtime.clock.set(datetime(2026, 4, 20, 10, tzinfo=SHANGHAI))
    cash = await ok(await c.get(f"/v1/periods/{PERIOD}/cash", headers=alice))
    assert cash["late"] == [SUZHOU]
    nanjing = next(a for a in cash["agencies"] if a["agency"] == NANJING)
    assert nanjing["disbursable_now"] == 100_000
    await ok(
        await c.post(
            f"/v1/periods/{PERIOD}/disbursements",
            headers=alice,
            json={"disbursement_id": "D-NJ", "agency": NANJING, "amount": 100_000},
        )
    )
    paid = await ok(await c.post(f"/v1/periods/{PERIOD}/disbursements/D-NJ/approve", headers=bob))
    assert (paid["amount"], paid["outstanding"]) == (100_000, 0)
    used = await fund()
    assert (used["level"], used["in_use"], used["usage"], used["warning"]) == (
        20_000,
        100_000,
        "0.8333",
        "yellow",
    )
    assert used["advanced_by_period"] == {PERIOD: 100_000}
    assert used["top_ups"] == []  # yellow asks for nothing
    assert await balanced() == {
        "prepaid_fund": 20_000,
        "prepaid_fund_capital": -120_000,
        "receivable:320500": 100_000,
    }

    # 24 April: Suzhou's cash arrives late, in two parts, and repays the fund.
    world.runtime.clock.set(datetime(2026, 4, 24, 10, tzinfo=SHANGHAI))
    first = await ok(
        await c.post(
            f"/v1/periods/{PERIOD}/remittances",
            headers=alice,
            json={
                "agency": SUZHOU,
                "bank_reference": "SZ-1",
                "amount": 30_000,
                "received_on": "2026-04-24",
            },
        )
    )
    assert (first["late"], first["outstanding"]) == (True, 70_000)
    assert (await fund())["level"] == 50_000
    assert await balanced() == {
        "prepaid_fund": 50_000,
        "prepaid_fund_capital": -120_000,
        "receivable:320500": 70_000,
    }
    await ok(
        await c.post(
            f"/v1/periods/{PERIOD}/remittances",
            headers=alice,
            json={
                "agency": SUZHOU,
                "bank_reference": "SZ-2",
                "amount": 70_000,
                "received_on": "2026-04-24",
            },
        )
    )
    repaid = await fund()
    assert (repaid["level"], repaid["in_use"], repaid["warning"]) == (120_000, 0, "green")
    assert await balanced() == {"prepaid_fund": 120_000, "prepaid_fund_capital": -120_000}
    history = await ok(await c.get("/v1/ledger/accounts/prepaid_fund", headers=alice))
    assert [(h["debit"], h["credit"], h["balance"]) for h in history["history"]] == [
        (120_000, 0, 120_000),  # set aside
        (0, 100_000, 20_000),  # paid Nanjing for Suzhou
        (30_000, 0, 50_000),  # SZ-1
        (70_000, 0, 120_000),  # SZ-2
    ]

    # The ledger and every own read model rebuilt from the event store equal the live ones.
    projection = own_projection()
    async with world.runtime.engine.connect() as conn:
        live = await projection.snapshot(conn)
    await rebuild_from_store(world.runtime.engine, world.runtime.store, projection)
    async with world.runtime.engine.connect() as conn:
        assert await projection.snapshot(conn) == live


async def test_a_red_warning_asks_the_centre_for_a_top_up_it_acts_on(world: Any) -> None:
    c = world.client
    alice, bob = world.approver("alice"), world.approver("bob")
    await world.reconciliation.append(
        f"day:{PAIR}:2026-03-09", day_closed(1, date(2026, 3, 9), 60_000)
    )
    await world.catch_up()
    # A 60,000 fund (Q4 of 30,000 a month): paying Nanjing's 60,000 uses all of it, red.
    await ok(
        await c.post(
            "/v1/prepaid-fund", headers=alice, json={"q4_monthly_amounts": [30_000, 30_000, 30_000]}
        )
    )
    await ok(await c.post(f"/v1/periods/{PERIOD}/statement", headers=alice))
    for agency in (SUZHOU, NANJING):
        await ok(
            await c.post(f"/v1/periods/{PERIOD}/lines/{PAIR}/confirm", headers=world.agency(agency))
        )
    await ok(await c.post(f"/v1/periods/{PERIOD}/approvals", headers=alice))
    await ok(await c.post(f"/v1/periods/{PERIOD}/approvals", headers=bob))
    await ok(await c.post(f"/v1/periods/{PERIOD}/net-positions", headers=alice))
    world.runtime.clock.set(datetime(2026, 4, 20, 10, tzinfo=SHANGHAI))
    await ok(
        await c.post(
            f"/v1/periods/{PERIOD}/disbursements",
            headers=alice,
            json={"disbursement_id": "D-NJ", "agency": NANJING, "amount": 60_000},
        )
    )
    await ok(await c.post(f"/v1/periods/{PERIOD}/disbursements/D-NJ/approve", headers=bob))
    red = dict(await ok(await c.get("/v1/prepaid-fund", headers=alice)))
    assert (red["level"], red["warning"]) == (0, "red")
    (request,) = red["top_ups"]
    assert (request["request_id"], request["amount"], request["done"]) == (
        "top-up-1",
        60_000,
        False,
    )

    # An agency cannot act for the centre; the centre records the money in.
    refused = await c.post(
        "/v1/prepaid-fund/top-ups/top-up-1/done",
        headers=world.agency(NANJING),
        json={"amount": 60_000, "bank_reference": "TU-1"},
    )
    assert refused.status_code == 403
    done = await ok(
        await c.post(
            "/v1/prepaid-fund/top-ups/top-up-1/done",
            headers=alice,
            json={"amount": 60_000, "bank_reference": "TU-1"},
        )
    )
    # Size 120,000, 60,000 in use: level 60,000, 50% used, green again.
    assert (done["size"], done["level"], done["warning"], done["top_ups"][0]["done"]) == (
        120_000,
        60_000,
        "green",
        True,
    )
    trial = await ok(await c.get("/v1/ledger/trial-balance", headers=alice))
    assert trial["total"] == 0
