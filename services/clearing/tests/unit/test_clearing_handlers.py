"""The handlers on the in-memory write path: given events (appended through the handlers), when a
command, then exactly these events, and a refused command appends nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from clearing_testkit import CENTRE, NANJING, SUZHOU, WUXI, approver, clerk, settlement

from yidi_clearing.app.hospitals import HospitalHandlers
from yidi_clearing.app.hospitals import stream_of as application_stream
from yidi_clearing.app.periods import PeriodHandlers, stream_of
from yidi_clearing.domain.actors import Actor
from yidi_clearing.domain.clearing_period import (
    ClearingPeriod,
    LineStatus,
    fold_period,
)
from yidi_clearing.domain.events import (
    AdjustmentApproved,
    AdjustmentProposed,
    ClearingApplicationWithdrawn,
    ClearingApplied,
    ClearingStatusChanged,
    DisbursementRecorded,
    DisbursementRequested,
    JournalEntryPosted,
    LineConfirmed,
    LineDisputed,
    NetPositionsComputed,
    PrepaidFundWarningRaised,
    RemittanceRecorded,
    StatementApprovalGiven,
    StatementApproved,
    StatementGenerated,
)
from yidi_clearing.domain.hospital_clearing import (
    ApplicationKey,
    ClearingTotals,
    HospitalDeduction,
)
from yidi_clearing.domain.inputs import ConfirmedSettlement, Deduction
from yidi_clearing.domain.settings import ClearingSettings
from yidi_events.application import InMemoryEventStore, Unit, WritePath
from yidi_events.envelope import Envelope
from yidi_events.kernel import SHANGHAI, Conflict, DomainError, Forbidden, NotFound

PERIOD = "2026-03"
APRIL_2 = date(2026, 4, 2)
# March is cleared from the 4th: its days may be closed until the 3rd.
APRIL_4 = date(2026, 4, 4)
# Payer (insured) > receiver (visit): what each line of March moves, in fen.
INPUTS = [
    settlement("s1", NANJING, WUXI, fund=10_000),
    settlement("s2", WUXI, NANJING, fund=3_000),
    settlement("s3", NANJING, SUZHOU, fund=5_000),
    settlement("s4", SUZHOU, WUXI, fund=2_000),
]
LINES = {
    "320100>320200": 10_000,
    "320200>320100": 3_000,
    "320100>320500": 5_000,
    "320500>320200": 2_000,
}
ALICE, BOB = approver("alice"), approver("bob")


@dataclass
class StoppedClock:
    """Time moves only when a test moves it."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def set_day(self, day: date, hour: int = 10) -> None:
        self.moment = datetime.combine(day, time(hour), SHANGHAI)


@dataclass
class MemoryPeriodRows:
    """The period's inputs as given, and its line view as `clearing.own` keeps it: the period's
    identity and one line, at the stream's version."""

    settlements: list[ConfirmedSettlement] = field(default_factory=lambda: list(INPUTS))
    deductions: list[Deduction] = field(default_factory=list)

    async def inputs(
        self, unit: Unit, period: str
    ) -> tuple[list[ConfirmedSettlement], list[Deduction]]:
        return list(self.settlements), list(self.deductions)

    def keep(self, state: ClearingPeriod) -> None:
        pass

    async def statement(self, unit: Unit, period: str) -> tuple[ClearingPeriod, int] | None:
        events = await unit.load(stream_of(period))
        kept = {StatementGenerated, LineConfirmed, LineDisputed}
        statement = fold_period(
            ClearingPeriod(), [e.payload for e in events if type(e.payload) in kept]
        )
        return (statement, len(events)) if statement.generated else None

    async def line_view(
        self, unit: Unit, period: str, line_id: str
    ) -> tuple[ClearingPeriod, int] | None:
        events = await unit.load(stream_of(period))
        whole = fold_period(ClearingPeriod(), [e.payload for e in events])
        if not whole.generated:
            return None
        one = ClearingPeriod(
            period=whole.period,
            input_hash=whole.input_hash,
            generated_on=whole.generated_on,
            first_approver=whole.first_approver,
            lines={line_id: whole.lines[line_id]} if line_id in whole.lines else {},
        )
        return one, len(events)


@dataclass
class Month:
    clock: StoppedClock
    store: InMemoryEventStore
    rows: MemoryPeriodRows
    periods: PeriodHandlers

    def events(self) -> list[Any]:
        return self.store.payloads(stream_of(PERIOD))

    async def confirm_all(self) -> None:
        for line_id in LINES:
            for agency in line_id.split(">"):
                await self.periods.confirm_line(PERIOD, line_id, clerk(agency))

    async def approved(self) -> None:
        await self.periods.generate(PERIOD, ALICE)
        await self.confirm_all()
        await self.periods.approve(PERIOD, ALICE)
        await self.periods.approve(PERIOD, BOB)


@pytest.fixture
def month() -> Month:
    clock = StoppedClock(datetime.combine(APRIL_4, time(10), SHANGHAI))
    store = InMemoryEventStore("clearing", clock)
    rows = MemoryPeriodRows()
    return Month(
        clock, store, rows, PeriodHandlers(WritePath(store, clock), ClearingSettings(), rows)
    )


def lines_of(event: StatementGenerated) -> dict[str, int]:
    return {line.line_id: line.amount for line in event.lines}


# --- statement and lines ------------------------------------------------------------------------


async def test_the_statement_is_generated_once_from_the_periods_inputs(month: Month) -> None:
    state = await month.periods.generate(PERIOD, ALICE)
    (generated,) = month.events()
    assert isinstance(generated, StatementGenerated)
    assert (generated.period, generated.generated_on) == (PERIOD, APRIL_4)
    assert lines_of(generated) == LINES
    assert state.input_hash == generated.input_hash
    assert generated.input_hash == await month.periods.preview_hash(PERIOD)

    again = await month.periods.generate(PERIOD, ALICE)
    assert again.input_hash == generated.input_hash
    assert len(month.events()) == 1


async def test_a_month_is_not_generated_while_its_days_may_still_be_closed(month: Month) -> None:
    for day in (date(2026, 3, 31), date(2026, 4, 3)):  # the month open; its last day to close
        month.clock.set_day(day, hour=23)
        with pytest.raises(DomainError) as refused:
            await month.periods.generate(PERIOD, ALICE)
        assert refused.value.rule == "clearing.days_still_closing"
    with pytest.raises(Forbidden):
        await month.periods.generate(PERIOD, clerk(NANJING))
    assert month.store.log == []


async def test_both_parties_confirm_a_line_decided_on_that_line_alone(month: Month) -> None:
    await month.periods.generate(PERIOD, ALICE)
    first = await month.periods.confirm_line(PERIOD, "320100>320200", clerk(NANJING))
    assert first.lines == {
        "320100>320200": first.lines["320100>320200"]
    }  # the line view, not the whole period
    assert first.lines["320100>320200"].status == LineStatus.PENDING
    second = await month.periods.confirm_line(PERIOD, "320100>320200", clerk(WUXI))
    assert second.lines["320100>320200"].status == LineStatus.CONFIRMED
    await month.periods.confirm_line(PERIOD, "320100>320200", clerk(WUXI))  # a retry
    assert month.events()[1:] == [
        LineConfirmed(
            period=PERIOD,
            line_id="320100>320200",
            agency=agency,
            confirmed_by=f"clerk-{agency}",
            confirmed_on=APRIL_4,
        )
        for agency in (NANJING, WUXI)
    ]
    assert (await month.periods.load_line(PERIOD, "320100>320200")).lines == second.lines


async def test_only_the_lines_parties_act_on_it(month: Month) -> None:
    with pytest.raises(NotFound):
        await month.periods.confirm_line(PERIOD, "320100>320200", clerk(NANJING))
    await month.periods.generate(PERIOD, ALICE)
    with pytest.raises(Forbidden):
        await month.periods.confirm_line(PERIOD, "320100>320200", clerk(SUZHOU))
    with pytest.raises(DomainError):
        await month.periods.dispute_line(PERIOD, "320500>320200", " ", clerk(WUXI))
    disputed = await month.periods.dispute_line(
        PERIOD, "320500>320200", "s4 was cancelled", clerk(WUXI)
    )
    assert disputed.lines["320500>320200"].status == LineStatus.DISPUTED
    new = month.events()[1:]
    assert len(new) == 1
    assert isinstance(new[0], LineDisputed)
    assert (new[0].line_id, new[0].agency, new[0].reason) == (
        "320500>320200",
        WUXI,
        "s4 was cancelled",
    )


async def test_two_approvers_approve_and_the_period_nets_to_zero(month: Month) -> None:
    await month.periods.generate(PERIOD, ALICE)
    await month.confirm_all()
    first = await month.periods.approve(PERIOD, ALICE)
    assert (first.first_approver, first.approved) == ("alice", False)
    with pytest.raises(Forbidden) as twice:
        await month.periods.approve(PERIOD, ALICE)
    assert twice.value.rule == "clearing.four_eyes"
    second = await month.periods.approve(PERIOD, BOB)
    assert second.approvers == ("alice", "bob")
    assert [type(e) for e in month.events()[9:]] == [StatementApprovalGiven, StatementApproved]

    month.clock.set_day(date(2026, 4, 10))
    netted = await month.periods.net(PERIOD, ALICE)
    positions, obligations, netting = month.events()[11:]
    assert isinstance(positions, NetPositionsComputed)
    # Nanjing pays 10,000 + 5,000 and receives 3,000; Wuxi receives 10,000 + 2,000 and pays
    # 3,000; Suzhou receives 5,000 and pays 2,000.
    assert {p.agency: p.net for p in positions.positions} == {
        NANJING: -12_000,
        WUXI: 9_000,
        SUZHOU: 3_000,
    }
    assert isinstance(obligations, JournalEntryPosted)
    assert isinstance(netting, JournalEntryPosted)
    assert netted.netted
    await month.periods.net(PERIOD, ALICE)
    assert len(month.events()) == 14


async def test_an_adjustment_moves_money_between_two_agencies(month: Month) -> None:
    await month.approved()
    proposed = await month.periods.propose_adjustment(
        PERIOD,
        adjustment_id="adj-1",
        payer_agency=SUZHOU,
        receiver_agency=NANJING,
        amount=1_500,
        reason="disputed settlement corrected",
        actor=ALICE,
    )
    assert proposed.adjustments["adj-1"].approved_by is None
    with pytest.raises(Forbidden):
        await month.periods.approve_adjustment(PERIOD, "adj-1", ALICE)
    await month.periods.approve_adjustment(PERIOD, "adj-1", BOB)
    assert [type(e) for e in month.events()[11:]] == [
        AdjustmentProposed,
        AdjustmentApproved,
        JournalEntryPosted,
    ]
    month.clock.set_day(date(2026, 4, 10))
    netted = await month.periods.net(PERIOD, ALICE)
    assert {p.agency: p.net for p in netted.positions or ()} == {
        NANJING: -12_000 + 1_500,
        WUXI: 9_000,
        SUZHOU: 3_000 - 1_500,
    }


async def test_cash_in_from_the_payer_then_out_to_a_receiver(month: Month) -> None:
    await month.approved()
    month.clock.set_day(date(2026, 4, 10))
    await month.periods.net(PERIOD, ALICE)
    netted = len(month.events())
    with pytest.raises(DomainError) as over:
        await month.periods.record_remittance(
            PERIOD,
            agency=NANJING,
            bank_reference="B1",
            amount=12_001,
            received_on=date(2026, 4, 14),
            actor=ALICE,
        )
    assert over.value.rule == "clearing.over_remittance"
    await month.periods.record_remittance(
        PERIOD,
        agency=NANJING,
        bank_reference="B1",
        amount=12_000,
        received_on=date(2026, 4, 14),
        actor=ALICE,
    )
    remitted, _entry = month.events()[netted:]
    assert isinstance(remitted, RemittanceRecorded)
    assert (remitted.owed, remitted.received_total, remitted.outstanding, remitted.late) == (
        12_000,
        12_000,
        0,
        False,
    )

    month.clock.set_day(date(2026, 4, 16))
    await month.periods.request_disbursement(
        PERIOD, disbursement_id="D1", agency=WUXI, amount=9_000, actor=ALICE
    )
    with pytest.raises(Forbidden):
        await month.periods.approve_disbursement(PERIOD, "D1", ALICE)
    paid = await month.periods.approve_disbursement(PERIOD, "D1", BOB)
    assert paid.disbursed(WUXI) == 9_000
    requested, recorded, entry = month.events()[netted + 2 :]
    assert isinstance(requested, DisbursementRequested)
    assert requested.requested_by == "alice"
    assert isinstance(recorded, DisbursementRecorded)
    assert (recorded.approved_by, recorded.disbursed_total, recorded.outstanding) == (
        "bob",
        9_000,
        0,
    )
    assert isinstance(entry, JournalEntryPosted)


async def test_the_prepaid_fund_warns_only_when_the_month_uses_it_up(month: Month) -> None:
    await month.periods.generate(PERIOD, ALICE)
    # The fund is twice last Q4's monthly average: 2 x 30,000 = 60,000; March moves 20,000.
    _, green = await month.periods.check_prepaid_fund(
        PERIOD, fund_id="F1", q4_monthly_amounts=(30_000, 30_000, 30_000), actor=ALICE
    )
    assert (green["fund_amount"], green["clearing_amount"], green["level"]) == (
        60_000,
        20_000,
        "green",
    )
    assert len(month.events()) == 1
    # 2 x 10,000 = 20,000: March uses all of it.
    _, red = await month.periods.check_prepaid_fund(
        PERIOD, fund_id="F1", q4_monthly_amounts=(10_000, 10_000, 10_000), actor=ALICE
    )
    assert red["level"] == "red"
    warning = month.events()[-1]
    assert isinstance(warning, PrepaidFundWarningRaised)
    assert (warning.fund_amount, warning.clearing_amount, warning.usage) == (
        20_000,
        20_000,
        Decimal("1.0000"),
    )


async def test_the_calendar_runs_the_statement_when_it_is_due(month: Month) -> None:
    scheduler = Actor("scheduler", CENTRE)
    ran = await month.periods.run_due(PERIOD, scheduler)
    assert ran["ran"] == ["statement"]
    assert [type(e) for e in month.events()] == [StatementGenerated]
    again = await month.periods.run_due(PERIOD, scheduler)
    assert again["ran"] == []
    assert len(month.events()) == 1


# --- hospital clearing applications --------------------------------------------------------------


@dataclass
class MemoryApplicationRows:
    """Reconciled totals as given, and the applications' rows kept as `clearing.own` keeps them
    (it projects in the writing unit here too)."""

    totals: dict[ApplicationKey, ClearingTotals] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def reconciled(self, unit: Unit, key: ApplicationKey) -> ClearingTotals | None:
        return self.totals.get(key)

    async def application(self, unit: Unit, application_id: str) -> dict[str, Any] | None:
        row = self.rows.get(application_id)
        return dict(row) if row else None

    async def deductions(self, unit: Unit, key: ApplicationKey) -> list[HospitalDeduction]:
        return []

    async def project(self, unit: Unit, envs: Sequence[Envelope]) -> None:
        for env in envs:
            self._project(env)

    def _project(self, env: Envelope) -> None:
        e = env.payload
        if isinstance(e, ClearingApplied):
            self.rows[e.clearing_application_id] = {
                "clearing_application_id": e.clearing_application_id,
                "stream_id": env.stream_id,
                "institution_code": e.institution_code,
                "clearing_agency": e.clearing_agency,
                "month": e.month,
                "clearing_category": e.clearing_category,
                "status": "10",
                "withdrawn": False,
            }
        elif isinstance(e, ClearingApplicationWithdrawn):
            self.rows[e.clearing_application_id]["withdrawn"] = True
        elif isinstance(e, ClearingStatusChanged):
            self.rows[e.clearing_application_id]["status"] = e.to_status


HOSPITAL = "H32010000001"
KEY = ApplicationKey(
    institution_code=HOSPITAL, clearing_agency=NANJING, month=PERIOD, clearing_category="21"
)
# Three settlements of 10,000 fen: 70% funds, 10% account, 20% cash.
MARCH = ClearingTotals(
    count=3, total_fee=30_000, fund_total=21_000, account_paid=3_000, cash_paid=6_000
)


@dataclass
class Hospitals:
    store: InMemoryEventStore
    rows: MemoryApplicationRows
    handlers: HospitalHandlers

    def events(self) -> list[Any]:
        return self.store.payloads(application_stream(KEY))


@pytest.fixture
def hospitals() -> Hospitals:
    clock = StoppedClock(datetime.combine(APRIL_2, time(10), SHANGHAI))
    store = InMemoryEventStore("clearing", clock)
    rows = MemoryApplicationRows(totals={KEY: MARCH})
    write = WritePath(store, clock, [rows.project])
    return Hospitals(store, rows, HospitalHandlers(write, rows))


async def test_a_hospital_applies_with_its_reconciled_totals_once(hospitals: Hospitals) -> None:
    application_id = await hospitals.handlers.apply(KEY, MARCH)
    assert application_id == "H32010000001-320100-202603-21-1"
    assert hospitals.events() == [
        ClearingApplied(
            institution_code=HOSPITAL,
            clearing_application_id=application_id,
            clearing_agency=NANJING,
            month=PERIOD,
            clearing_category="21",
            count=3,
            total_fee=30_000,
            fund_total=21_000,
            account_paid=3_000,
            cash_paid=6_000,
            applied_on=APRIL_2,
        )
    ]
    with pytest.raises(Conflict) as twice:
        await hospitals.handlers.apply(KEY, MARCH)
    assert twice.value.rule == "clearing.already_applied"
    assert len(hospitals.events()) == 1


async def test_claims_off_the_reconciled_totals_are_refused(hospitals: Hospitals) -> None:
    off_by_a_fen = ClearingTotals(
        count=3, total_fee=30_000, fund_total=21_001, account_paid=3_000, cash_paid=6_000
    )
    with pytest.raises(DomainError) as mismatch:
        await hospitals.handlers.apply(KEY, off_by_a_fen)
    assert (mismatch.value.rule, mismatch.value.field) == ("clearing.totals_mismatch", "fund_total")
    april = ApplicationKey(
        institution_code=HOSPITAL, clearing_agency=NANJING, month="2026-04", clearing_category="21"
    )
    with pytest.raises(DomainError) as unreconciled:
        await hospitals.handlers.apply(april, MARCH)
    assert unreconciled.value.rule == "clearing.not_reconciled"
    assert hospitals.store.log == []


async def test_a_withdrawn_application_makes_way_for_a_new_one(hospitals: Hospitals) -> None:
    first = await hospitals.handlers.apply(KEY, MARCH)
    with pytest.raises(NotFound):
        await hospitals.handlers.withdraw("H32010000002", first)
    await hospitals.handlers.withdraw(HOSPITAL, first)
    await hospitals.handlers.withdraw(HOSPITAL, first)  # a retry withdraws nothing more
    # The stream is at version 2 (applied, withdrawn): the next id ends in 3.
    assert await hospitals.handlers.apply(KEY, MARCH) == "H32010000001-320100-202603-21-3"
    assert [type(e) for e in hospitals.events()] == [
        ClearingApplied,
        ClearingApplicationWithdrawn,
        ClearingApplied,
    ]


async def test_the_agency_moves_an_application_one_status_at_a_time(hospitals: Hospitals) -> None:
    application_id = await hospitals.handlers.apply(KEY, MARCH)
    allowed: list[str] = []

    def nanjing_only(agency: str) -> None:
        allowed.append(agency)
        if agency != NANJING:
            raise Forbidden("auth.region", "not yours", field="clearing_agency")

    row = await hospitals.handlers.change_status(
        application_id, to_status="20", reason="", changed_by="clerk", allowed_agency=nanjing_only
    )
    assert (row["status"], allowed) == ("20", [NANJING])
    with pytest.raises(Conflict) as skipped:
        await hospitals.handlers.change_status(
            application_id,
            to_status="40",
            reason="",
            changed_by="clerk",
            allowed_agency=nanjing_only,
        )
    assert skipped.value.rule == "clearing.illegal_transition"
    changed = hospitals.events()[1]
    assert changed == ClearingStatusChanged(
        institution_code=HOSPITAL,
        clearing_application_id=application_id,
        from_status="10",
        to_status="20",
        changed_by="clerk",
        reason="",
        changed_on=APRIL_2,
    )
    assert len(hospitals.events()) == 2
    with pytest.raises(NotFound):
        await hospitals.handlers.change_status(
            "nope", to_status="20", reason="", changed_by="clerk", allowed_agency=nanjing_only
        )
