"""A day confirmed on the last allowed day enters that month's statement (issue 22): the agencies
may close April's days until 3 May, so April's statement waits for the 4th. (April: the test's
clock starts on 4 April and never moves backwards.)"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from yidi_events.contracts.reconciliation import (
    ClearingSettlement,
    DayClosed,
    Figures,
    SchemeTotals,
)
from yidi_events.kernel import SHANGHAI

NANJING, SUZHOU = "320100", "320500"
EMPTY = Figures(count=0, total_fee=0, fund_total=0, account_paid=0, cash_paid=0)
PAIR = f"{SUZHOU}>{NANJING}"


def closed(day: date, settlement_id: str, fund: int, closed_at: datetime) -> DayClosed:
    return DayClosed(
        pair=PAIR,
        insured_region=SUZHOU,
        visit_region=NANJING,
        business_date=day,
        month="2026-04",
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
        closed_at=closed_at,
    )


async def test_a_day_closed_on_the_last_allowed_day_enters_that_months_statement(
    world: Any,
) -> None:
    c = world.client
    centre = world.centre("scheduler", "clearing_approver")
    # 3 May, 23:00: both agencies close 30 April, on the last day they may.
    world.runtime.clock.set(datetime(2026, 5, 3, 23, tzinfo=SHANGHAI))
    await world.reconciliation.append(
        f"day:{PAIR}:2026-04-29",
        closed(date(2026, 4, 29), "S-29", 40_000, datetime(2026, 4, 30, 1, tzinfo=SHANGHAI)),
    )
    await world.reconciliation.append(
        f"day:{PAIR}:2026-04-30",
        closed(date(2026, 4, 30), "S-30", 25_000, datetime(2026, 5, 3, 23, tzinfo=SHANGHAI)),
    )
    await world.catch_up()

    # The statement cannot be made yet, by hand or by the calendar.
    early = await c.post("/v1/periods/2026-04/statement", headers=centre)
    assert early.status_code == 422
    assert early.json()["error"]["rule"] == "clearing.days_still_closing"
    waiting = (await c.post("/v1/periods/2026-04/run-due", headers=centre)).json()
    assert (waiting["ran"], waiting["schedule"]["statement"]) == ([], "2026-05-04")

    # 4 May: the calendar makes April's statement with both days: 40,000 + 25,000 fen.
    world.runtime.clock.set(datetime(2026, 5, 4, 8, tzinfo=SHANGHAI))
    ran = (await c.post("/v1/periods/2026-04/run-due", headers=centre)).json()
    assert ran["ran"] == ["statement"]
    statement = (await c.get("/v1/periods/2026-04/statement", headers=centre)).json()
    (line,) = statement["lines"]
    assert (line["line_id"], line["amount"]) == (PAIR, 65_000)
    assert statement["held"] == []
