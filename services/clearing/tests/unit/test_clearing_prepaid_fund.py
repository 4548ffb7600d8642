"""The prepaid fund (预付金) as money, on the in-memory write path: a late payer's receivers are paid
from the fund on the disbursement day, the payer's cash repays it, the ledger balances at every
step, and the fund's level, warnings and top-up request are right.

March 2026 (the lines of test_clearing_handlers): Nanjing pays 10,000 + 5,000 and receives 3,000
(net -12,000); Wuxi receives 10,000 + 2,000 and pays 3,000 (+9,000); Suzhou receives 5,000 and
pays 2,000 (+3,000). The fund: Q4 of 6,000 fen a month x 2 months = 12,000 fen.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from typing import Any

import pytest
from clearing_testkit import NANJING, SUZHOU, WUXI, approver, clerk, settlement

from yidi_clearing.app.periods import PeriodHandlers, fund_stream_of, stream_of
from yidi_clearing.domain.clearing_period import ClearingPeriod
from yidi_clearing.domain.events import (
    JournalEntryPosted,
    PrepaidFundAdvanced,
    PrepaidFundRepaid,
    PrepaidFundToppedUp,
    PrepaidFundTopUpRequested,
    PrepaidFundWarningRaised,
)
from yidi_clearing.domain.inputs import ConfirmedSettlement, Deduction
from yidi_clearing.domain.prepaid import WarningLevel
from yidi_clearing.domain.prepaid_fund import fund_warning
from yidi_clearing.domain.settings import ClearingSettings
from yidi_events.application import InMemoryEventStore, Unit, WritePath
from yidi_events.kernel import SHANGHAI, DomainError

PERIOD = "2026-03"
FUND = ClearingSettings().prepaid_fund.fund_id
ALICE, BOB = approver("alice"), approver("bob")
INPUTS = [
    settlement("s1", NANJING, WUXI, fund=10_000),
    settlement("s2", WUXI, NANJING, fund=3_000),
    settlement("s3", NANJING, SUZHOU, fund=5_000),
    settlement("s4", SUZHOU, WUXI, fund=2_000),
]


class Clock:
    def __init__(self) -> None:
        self.moment = datetime.combine(date(2026, 4, 4), time(10), SHANGHAI)

    def now(self) -> datetime:
        return self.moment

    def set_day(self, day: date) -> None:
        self.moment = datetime.combine(day, time(10), SHANGHAI)


class Rows:
    async def inputs(
        self, unit: Unit, period: str
    ) -> tuple[list[ConfirmedSettlement], list[Deduction]]:
        return list(INPUTS), []

    async def line_view(
        self, unit: Unit, period: str, line_id: str
    ) -> tuple[ClearingPeriod, int] | None:
        return None  # the handlers fold the whole period

    def keep(self, state: ClearingPeriod) -> None:
        pass

    async def statement(self, unit: Unit, period: str) -> tuple[ClearingPeriod, int] | None:
        return None


class Month:
    def __init__(self) -> None:
        self.clock = Clock()
        self.store = InMemoryEventStore("clearing", self.clock)
        self.periods = PeriodHandlers(WritePath(self.store, self.clock), ClearingSettings(), Rows())

    def fund_events(self) -> list[Any]:
        return self.store.payloads(fund_stream_of(FUND))

    def balances(self) -> dict[str, int]:
        """The trial balance over both streams' journal entries, zero accounts left out."""
        totals: dict[str, int] = defaultdict(int)
        for stream in (stream_of(PERIOD), fund_stream_of(FUND)):
            for e in self.store.payloads(stream):
                if isinstance(e, JournalEntryPosted):
                    for line in e.lines:
                        totals[line.account] += line.debit - line.credit
        assert sum(totals.values()) == 0  # the trial balance, at every step it is read
        return {a: b for a, b in sorted(totals.items()) if b}

    async def netted(self) -> None:
        await self.periods.generate(PERIOD, ALICE)
        for line_id in ("320100>320200", "320200>320100", "320100>320500", "320500>320200"):
            for agency in line_id.split(">"):
                await self.periods.confirm_line(PERIOD, line_id, clerk(agency))
        await self.periods.approve(PERIOD, ALICE)
        await self.periods.approve(PERIOD, BOB)
        self.clock.set_day(date(2026, 4, 10))
        await self.periods.net(PERIOD, ALICE)

    async def pay(self, disbursement_id: str, agency: str, amount: int) -> None:
        await self.periods.request_disbursement(
            PERIOD, disbursement_id=disbursement_id, agency=agency, amount=amount, actor=ALICE
        )
        await self.periods.approve_disbursement(PERIOD, disbursement_id, BOB)


@pytest.fixture
async def month() -> Month:
    m = Month()
    await m.periods.establish_fund((6_000, 6_000, 6_000), ALICE)
    await m.netted()
    return m


async def test_the_fund_pays_a_late_payers_receivers_and_is_repaid_by_its_cash(
    month: Month,
) -> None:
    fund = await month.periods.fund()
    assert (fund.size, fund.level) == (12_000, 12_000)
    # Set aside: Dr prepaid_fund 12,000, Cr prepaid_fund_capital 12,000. After netting Nanjing
    # owes the centre 12,000 and the centre owes Wuxi 9,000 and Suzhou 3,000.
    assert month.balances() == {
        "payable:320200": -9_000,
        "payable:320500": -3_000,
        "prepaid_fund": 12_000,
        "prepaid_fund_capital": -12_000,
        "receivable:320100": 12_000,
    }

    # 16 April: Nanjing is late, but the disbursement day (the 20th) has not come: nothing to pay.
    month.clock.set_day(date(2026, 4, 16))
    with pytest.raises(DomainError) as early:
        await month.periods.request_disbursement(
            PERIOD, disbursement_id="D-WX", agency=WUXI, amount=9_000, actor=ALICE
        )
    assert early.value.rule == "clearing.over_disbursement"

    # 20 April: the fund pays Wuxi 9,000 (75% of it in use: yellow) ...
    month.clock.set_day(date(2026, 4, 20))
    await month.pay("D-WX", WUXI, 9_000)
    advanced, yellow = month.fund_events()[-2:]
    assert isinstance(advanced, PrepaidFundAdvanced)
    assert (advanced.amount, advanced.level, advanced.late_agencies) == (9_000, 3_000, (NANJING,))
    assert isinstance(yellow, PrepaidFundWarningRaised)
    assert (yellow.level, yellow.clearing_amount, str(yellow.usage)) == ("yellow", 9_000, "0.7500")
    assert month.balances()["prepaid_fund"] == 3_000

    # ... and Suzhou 3,000: all 12,000 in use, red, and a top-up of 12,000 is requested.
    await month.pay("D-SZ", SUZHOU, 3_000)
    red, top_up = month.fund_events()[-2:]
    assert isinstance(red, PrepaidFundWarningRaised)
    assert (red.level, str(red.usage)) == ("red", "1.0000")
    assert isinstance(top_up, PrepaidFundTopUpRequested)
    assert (top_up.request_id, top_up.amount, top_up.level) == ("top-up-1", 12_000, 0)
    assert month.balances() == {
        "prepaid_fund_capital": -12_000,
        "receivable:320100": 12_000,
    }  # the receivers are paid; the fund is empty (prepaid_fund at 0)
    fund = await month.periods.fund()
    assert fund_warning(fund, month.periods.settings) == WarningLevel.RED

    # 22 April: 5,000 of Nanjing's cash arrives and goes back to the fund.
    month.clock.set_day(date(2026, 4, 22))
    await month.periods.record_remittance(
        PERIOD,
        agency=NANJING,
        bank_reference="NJ-1",
        amount=5_000,
        received_on=date(2026, 4, 22),
        actor=ALICE,
    )
    (repaid,) = month.fund_events()[-1:]
    assert isinstance(repaid, PrepaidFundRepaid)
    assert (repaid.amount, repaid.level) == (5_000, 5_000)
    assert month.balances() == {
        "prepaid_fund": 5_000,
        "prepaid_fund_capital": -12_000,
        "receivable:320100": 7_000,
    }

    # The centre acts on the top-up request: 12,000 more in the fund (size 24,000, level 17,000).
    fund = await month.periods.top_up_fund(
        "top-up-1", amount=12_000, bank_reference="TOPUP-1", actor=ALICE
    )
    assert isinstance(month.fund_events()[-2], PrepaidFundToppedUp)
    assert (fund.size, fund.level, fund.open_top_up()) == (24_000, 17_000, None)

    # 23 April: the rest of Nanjing's cash repays the fund in full; every period account is zero.
    await month.periods.record_remittance(
        PERIOD,
        agency=NANJING,
        bank_reference="NJ-2",
        amount=7_000,
        received_on=date(2026, 4, 23),
        actor=ALICE,
    )
    assert month.balances() == {"prepaid_fund": 24_000, "prepaid_fund_capital": -24_000}
    fund = await month.periods.fund()
    assert (fund.level, fund.in_use) == (24_000, 0)
    assert fund_warning(fund, month.periods.settings) == WarningLevel.GREEN


async def test_a_small_fund_pays_receivers_pro_rata_and_never_more_than_it_holds() -> None:
    # Q4 of 3,000 a month: a 6,000 fund stands in for 6,000 of Nanjing's 12,000. Wuxi may be
    # paid 6,000 x 9,000 / 12,000 = 4,500 and Suzhou 6,000 x 3,000 / 12,000 = 1,500.
    small = Month()
    await small.periods.establish_fund((3_000, 3_000, 3_000), ALICE)
    await small.netted()
    small.clock.set_day(date(2026, 4, 20))
    with pytest.raises(DomainError) as over:
        await small.periods.request_disbursement(
            PERIOD, disbursement_id="D-WX", agency=WUXI, amount=9_000, actor=ALICE
        )
    assert (over.value.rule, over.value.message) == (
        "clearing.over_disbursement",
        "agency 320200 may be paid at most 4500 fen now from the cash that has arrived",
    )
    await small.pay("D-WX", WUXI, 4_500)
    await small.pay("D-SZ", SUZHOU, 1_500)
    fund = await small.periods.fund()
    assert (fund.level, fund.in_use) == (0, 6_000)
    with pytest.raises(DomainError):
        await small.periods.request_disbursement(
            PERIOD, disbursement_id="D-WX2", agency=WUXI, amount=1, actor=ALICE
        )


async def test_cash_that_arrived_is_paid_before_the_fund(month: Month) -> None:
    # Nanjing remits 4,000 of 12,000 late; on the 20th Wuxi's 9,000 is 4,000 cash + 5,000 fund.
    month.clock.set_day(date(2026, 4, 20))
    await month.periods.record_remittance(
        PERIOD,
        agency=NANJING,
        bank_reference="NJ-1",
        amount=4_000,
        received_on=date(2026, 4, 20),
        actor=ALICE,
    )
    await month.pay("D-WX", WUXI, 9_000)
    (advanced,) = [e for e in month.fund_events() if isinstance(e, PrepaidFundAdvanced)]
    assert advanced.amount == 5_000
    assert month.balances()["prepaid_fund"] == 12_000 - 5_000
    assert "centre_bank" not in month.balances()  # the 4,000 of cash went out
