"""The handlers on the in-memory write path: given events (recorded through the handlers), when a
command, then exactly these events, and a refused command appends nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from yidi_events.application import InMemoryEventStore, Unit, WritePath
from yidi_events.contracts.reconciliation import (
    DayClosed,
    DaySettlementRecorded,
    DisputedSettlementReleased,
    Figures,
    SchemeTotals,
)
from yidi_events.kernel import SHANGHAI, Conflict, DomainError, Forbidden, NotFound
from yidi_reconciliation.app.days import DAY as DAY_STATEMENT
from yidi_reconciliation.app.days import Days
from yidi_reconciliation.app.hospital import Hospitals
from yidi_reconciliation.domain.day_statement import DayHead, DayId, evolve_head
from yidi_reconciliation.domain.events import (
    DayConfirmed,
    DayReopened,
    DayStatementIssued,
    DisputeResolved,
    HospitalDetailReconciled,
    HospitalTotalsReconciled,
    SettlementDisputed,
)
from yidi_reconciliation.domain.hospital_detail import HospitalRow, ListedSettlement, StoredFile
from yidi_reconciliation.domain.hospital_totals import StatementScope, TotalsClaim
from yidi_reconciliation.domain.records import FundPayment, SettlementRecord, Totals

SUZHOU, NANJING, SUQIAN = "320500", "320100", "321300"
DAY, NEXT = date(2026, 3, 2), date(2026, 3, 3)
PAIR_DAY = DayId(SUZHOU, NANJING, DAY)
HOSPITAL = "H32010000001"


def rec(
    sid: str, total: int = 10000, *, refund_of: str | None = None, **kw: object
) -> SettlementRecord:
    """A settlement of `total` fen: 70% from the funds, 10% from the account, the rest in cash."""
    sign = -1 if refund_of else 1
    fund, account = sign * total * 7 // 10, sign * total // 10
    fields: dict[str, object] = {
        "settlement_id": sid,
        "visit_id": f"V{sid}",
        "person_id": "P1",
        "institution_code": HOSPITAL,
        "clearing_agency": NANJING,
        "insured_region": SUZHOU,
        "visit_region": NANJING,
        "insurance_type": "310",
        "clearing_category": "21",
        "business_date": DAY,
        "total_fee": sign * total,
        "fund_total": fund,
        "account_paid": account,
        "cash_paid": sign * total - fund - account,
        "is_refund": refund_of is not None,
        "original_settlement_id": refund_of,
        "fund_payments": (FundPayment("310100", fund),),
    }
    fields.update(kw)
    return SettlementRecord(**fields)  # type: ignore[arg-type]


@dataclass
class StoppedClock:
    """Time moves only when a test moves it, so a fact's time is the moment the test set."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta


@dataclass
class MemoryDayRows:
    """The day rows as the day projection keeps them: a head at the stream's version once the day
    has an event; one unit at a time, so the lock has nothing to do."""

    store: InMemoryEventStore

    async def lock(self, unit: Unit, day: DayId) -> None:
        return None

    async def head(self, unit: Unit, stream_id: str) -> tuple[DayHead, int] | None:
        events = await unit.load(stream_id)
        if not events:
            return None
        head = DayHead()
        for event in events:
            head = evolve_head(head, event.payload)
        return head, len(events)

    async def holds(self, unit: Unit, day: DayId, settlement_id: str) -> bool:
        return any(
            isinstance(e.payload, DaySettlementRecorded)
            and e.payload.settlement.settlement_id == settlement_id
            for e in await unit.load(day.stream_id)
        )

    async def held(self, unit: Unit, day: DayId, settlement_ids: Sequence[str]) -> set[str]:
        return {s for s in settlement_ids if await self.holds(unit, day, s)}

    async def unissued(self, unit: Unit, business_date: date) -> list[DayId]:
        days = sorted(
            DayId.of_stream(s) for s in self.store.streams if s.startswith("reconciliation-day:")
        )
        return [
            d
            for d in days
            if d.business_date == business_date
            and not DAY_STATEMENT.fold(self.store.payloads(d.stream_id)).issued
        ]


@dataclass
class Context:
    clock: StoppedClock
    store: InMemoryEventStore
    days: Days

    def at(self, on: date, hour: int) -> datetime:
        self.clock.set(datetime.combine(on, time(hour), SHANGHAI))
        return self.clock.now()

    async def record(
        self, record: SettlementRecord, original: SettlementRecord | None = None
    ) -> None:
        await self.days.write.transact(lambda unit: self.days.record(unit, record, original))

    def events(self, day: DayId = PAIR_DAY) -> list[Any]:
        return self.store.payloads(day.stream_id)


@pytest.fixture
def ctx() -> Context:
    clock = StoppedClock(datetime.combine(DAY, time(10), SHANGHAI))
    store = InMemoryEventStore("reconciliation", clock)
    write = WritePath(store, clock)
    return Context(clock, store, Days(write, MemoryDayRows(store)))


def figures(count: int, total: int, fund: int, account: int, cash: int) -> Figures:
    return Figures(
        count=count, total_fee=total, fund_total=fund, account_paid=account, cash_paid=cash
    )


NO_FIGURES = figures(0, 0, 0, 0, 0)


# --- recording (the consumer) ---------------------------------------------------------------------


async def test_a_settlement_opens_its_pairs_day(ctx: Context) -> None:
    at = ctx.clock.now()
    await ctx.record(rec("S1"))
    (recorded,) = ctx.events()
    assert isinstance(recorded, DaySettlementRecorded)
    assert (recorded.pair, recorded.business_date) == ("320500>320100", DAY)
    assert (recorded.after_issue, recorded.recorded_at) == (False, at)
    s = recorded.settlement
    assert (s.settlement_id, s.total_fee, s.fund_total, s.account_paid, s.cash_paid) == (
        "S1",
        10000,
        7000,
        1000,
        2000,
    )


async def test_a_redelivered_settlement_records_nothing(ctx: Context) -> None:
    await ctx.record(rec("S1"))
    await ctx.record(rec("S2", 5000))
    await ctx.record(rec("S1"))
    assert [e.settlement.settlement_id for e in ctx.events()] == ["S1", "S2"]


async def test_local_settlements_and_unknown_schemes_have_no_day(ctx: Context) -> None:
    await ctx.record(rec("L1", insured_region=NANJING))
    await ctx.record(rec("U1", insurance_type="999"))
    assert ctx.store.log == []


async def test_a_late_settlement_reopens_a_confirmed_day(ctx: Context) -> None:
    await ctx.record(rec("S1"))
    ctx.at(NEXT, 9)
    await ctx.days.issue(DAY)
    await ctx.days.confirm(PAIR_DAY, SUZHOU)
    late = ctx.at(NEXT, 11)
    await ctx.record(rec("S2", 5000))
    recorded, reopened = ctx.events()[3:]
    assert isinstance(recorded, DaySettlementRecorded)
    assert (recorded.settlement.settlement_id, recorded.after_issue) == ("S2", True)
    assert reopened == DayReopened(
        pair="320500>320100",
        insured_region=SUZHOU,
        visit_region=NANJING,
        business_date=DAY,
        settlement_id="S2",
        previously_confirmed_by=(SUZHOU,),
        was_closed=False,
        reopened_at=late,
    )


async def test_a_cancellation_on_the_next_day_reverses_a_dispute_on_the_original_day(
    ctx: Context,
) -> None:
    s1 = rec("S1")
    await ctx.record(s1)
    ctx.at(NEXT, 9)
    await ctx.days.issue(DAY)
    await ctx.days.dispute(PAIR_DAY, SUZHOU, "S1", "not our insured")
    await ctx.days.confirm(PAIR_DAY, SUZHOU)
    await ctx.days.confirm(PAIR_DAY, NANJING)
    closed = ctx.events()[-1]
    assert isinstance(closed, DayClosed)
    assert (closed.settlements, closed.held_settlement_ids) == ((), ("S1",))

    at = ctx.at(NEXT, 15)
    await ctx.record(rec("C1", refund_of="S1", business_date=NEXT), s1)
    (cancelled,) = ctx.events(DayId(SUZHOU, NANJING, NEXT))
    assert isinstance(cancelled, DaySettlementRecorded)
    assert (cancelled.settlement.settlement_id, cancelled.settlement.total_fee) == ("C1", -10000)
    resolved, released = ctx.events()[6:]
    assert resolved == DisputeResolved(
        pair="320500>320100",
        insured_region=SUZHOU,
        visit_region=NANJING,
        business_date=DAY,
        settlement_id="S1",
        resolution="reversed",
        resolved_by=None,
        reversal_settlement_id="C1",
        month="2026-03",
        resolved_at=at,
    )
    assert isinstance(released, DisputedSettlementReleased)
    assert (released.month, released.scheme, released.resolution) == (
        "2026-03",
        "employee",
        "reversed",
    )
    assert (released.settlement.settlement_id, released.settlement.fund_total) == ("S1", 7000)


# --- issuing, confirming, disputing (agencies and the schedule) ------------------------------------


async def test_statements_are_refused_while_their_day_is_not_over(ctx: Context) -> None:
    await ctx.record(rec("S1"))
    ctx.at(DAY, 23)
    with pytest.raises(Conflict) as refused:
        await ctx.days.issue(DAY)
    assert refused.value.rule == "reconciliation.day_not_over"
    assert len(ctx.events()) == 1


async def test_every_day_of_the_date_is_issued_once(ctx: Context) -> None:
    await ctx.record(rec("S1"))
    await ctx.record(rec("S2", 5000))
    await ctx.record(rec("Q1", 2000, insured_region=SUQIAN, insurance_type="390"))
    await ctx.record(rec("N1", business_date=NEXT))
    at = ctx.at(NEXT, 0)
    issued = await ctx.days.issue(DAY)
    assert issued == [PAIR_DAY, DayId(SUQIAN, NANJING, DAY)]
    assert ctx.events()[2:] == [
        DayStatementIssued(
            pair="320500>320100",
            insured_region=SUZHOU,
            visit_region=NANJING,
            business_date=DAY,
            # S1 10000 (7000 funds, 1000 account, 2000 cash) and S2 5000 (3500, 500, 1000).
            totals=figures(2, 15000, 10500, 1500, 3000),
            issued_at=at,
        )
    ]
    issued_q1 = ctx.events(DayId(SUQIAN, NANJING, DAY))[1]
    assert isinstance(issued_q1, DayStatementIssued)
    assert issued_q1.totals == figures(1, 2000, 1400, 200, 400)
    assert len(ctx.events(DayId(SUZHOU, NANJING, NEXT))) == 1  # the next day is not over

    assert await ctx.days.issue(DAY) == []
    assert len(ctx.store.log) == 6


async def test_both_agencies_confirming_close_the_day_into_clearing(ctx: Context) -> None:
    await ctx.record(rec("S1"))
    await ctx.record(rec("Q1", 2000, insurance_type="390"))
    ctx.at(NEXT, 9)
    await ctx.days.issue(DAY)
    first = await ctx.days.confirm(PAIR_DAY, SUZHOU)
    assert [type(e.payload) for e in first.events] == [DayConfirmed]
    assert first.statement.confirmed_by == {SUZHOU}
    at = ctx.at(NEXT, 10)
    second = await ctx.days.confirm(PAIR_DAY, NANJING)
    confirmed, closed = (e.payload for e in second.events)
    assert isinstance(confirmed, DayConfirmed)
    assert (confirmed.agency_region, confirmed.totals) == (
        NANJING,
        figures(2, 12000, 8400, 1200, 2400),
    )
    assert isinstance(closed, DayClosed)
    assert (closed.month, closed.close_number, closed.closed_at) == ("2026-03", 1, at)
    assert [s.settlement_id for s in closed.settlements] == ["Q1", "S1"]
    assert closed.totals == SchemeTotals(
        employee=figures(1, 10000, 7000, 1000, 2000), resident=figures(1, 2000, 1400, 200, 400)
    )
    assert second.statement.closed
    assert ctx.events()[4:] == [confirmed, closed]


async def test_refused_confirmations_append_nothing(ctx: Context) -> None:
    await ctx.record(rec("S1"))
    ctx.at(NEXT, 9)
    with pytest.raises(Conflict) as not_issued:
        await ctx.days.confirm(PAIR_DAY, SUZHOU)
    assert not_issued.value.rule == "reconciliation.not_issued"
    await ctx.days.issue(DAY)
    await ctx.days.confirm(PAIR_DAY, SUZHOU)
    with pytest.raises(Conflict) as twice:
        await ctx.days.confirm(PAIR_DAY, SUZHOU)
    assert twice.value.rule == "reconciliation.already_confirmed"
    with pytest.raises(Forbidden):
        await ctx.days.confirm(PAIR_DAY, SUQIAN)
    with pytest.raises(NotFound):
        await ctx.days.confirm(DayId(SUZHOU, NANJING, NEXT), SUZHOU)
    assert [type(e) for e in ctx.events()] == [
        DaySettlementRecorded,
        DayStatementIssued,
        DayConfirmed,
    ]


async def test_only_the_disputing_agency_accepts_its_dispute(ctx: Context) -> None:
    await ctx.record(rec("S1"))
    ctx.at(NEXT, 9)
    await ctx.days.issue(DAY)
    disputed = await ctx.days.dispute(PAIR_DAY, SUZHOU, "S1", "  duplicate  ")
    (event,) = (e.payload for e in disputed.events)
    assert isinstance(event, SettlementDisputed)
    assert (event.settlement_id, event.agency_region, event.reason) == ("S1", SUZHOU, "duplicate")
    assert disputed.statement.open_disputes == {"S1"}
    with pytest.raises(Conflict):
        await ctx.days.dispute(PAIR_DAY, NANJING, "S1", "again")
    with pytest.raises(Forbidden):
        await ctx.days.accept(PAIR_DAY, NANJING, "S1")
    assert len(ctx.events()) == 3

    at = ctx.at(NEXT, 12)
    accepted = await ctx.days.accept(PAIR_DAY, SUZHOU, "S1")
    assert [e.payload for e in accepted.events] == [
        DisputeResolved(
            pair="320500>320100",
            insured_region=SUZHOU,
            visit_region=NANJING,
            business_date=DAY,
            settlement_id="S1",
            resolution="accepted",
            resolved_by=SUZHOU,
            reversal_settlement_id=None,
            month="2026-03",
            resolved_at=at,
        )
    ]
    assert accepted.statement.open_disputes == frozenset()


async def test_a_statement_reads_as_the_fold_of_its_day(ctx: Context) -> None:
    assert (await ctx.days.statement(PAIR_DAY)).day is None
    await ctx.record(rec("S1"))
    await ctx.record(rec("S2", 5000))
    statement = await ctx.days.statement(PAIR_DAY)
    assert statement.day == PAIR_DAY
    assert sorted(statement.settlements) == ["S1", "S2"]


# --- hospitals (the HIS gateway) -------------------------------------------------------------------


@dataclass
class MemoryBooks:
    platform: Totals = field(default_factory=Totals)
    kept: list[SettlementRecord] = field(default_factory=list)
    files: dict[str, tuple[str, str, StoredFile]] = field(default_factory=dict)

    async def totals(self, unit: Unit, scope: StatementScope) -> Totals:
        return self.platform

    async def listed(self, unit: Unit, scope: StatementScope) -> list[ListedSettlement]:
        # As the adapter's query: only the scope's settlements.
        return [ListedSettlement.of(r) for r in scope.select(self.kept)]

    async def keep(
        self, unit: Unit, institution_code: str, kind: str, stored: StoredFile, created_at: datetime
    ) -> None:
        self.files[stored.file_query_no] = (institution_code, kind, stored)

    async def find(
        self, unit: Unit, institution_code: str, file_query_no: str, kind: str | None
    ) -> StoredFile | None:
        owner, its_kind, stored = self.files.get(file_query_no, ("", "", None))
        if stored is None or owner != institution_code or kind not in (None, its_kind):
            return None
        return stored


@dataclass
class HospitalContext:
    clock: StoppedClock
    store: InMemoryEventStore
    books: MemoryBooks
    hospitals: Hospitals


@pytest.fixture
def his() -> HospitalContext:
    clock = StoppedClock(datetime.combine(date(2026, 4, 1), time(10), SHANGHAI))
    store = InMemoryEventStore("reconciliation", clock)
    books = MemoryBooks()
    return HospitalContext(clock, store, books, Hospitals(WritePath(store, clock), books))


MARCH = StatementScope(
    institution_code=HOSPITAL,
    clearing_agency=NANJING,
    start_date=date(2026, 3, 1),
    end_date=date(2026, 3, 31),
    include_refunds=True,
    insurance_type="310",
    clearing_category="21",
)


def claim(count: int, total: int, fund: int, account: int) -> TotalsClaim:
    return TotalsClaim(
        scope=MARCH, count=count, total_fee=total, fund_total=fund, account_paid=account
    )


async def test_3201_publishes_whether_the_hospitals_totals_balance(his: HospitalContext) -> None:
    his.books.platform = Totals(2, 15000, 10500, 1500, 3000)
    balanced = await his.hospitals.reconcile_totals(claim(2, 15000, 10500, 1500))
    off = await his.hospitals.reconcile_totals(claim(3, 15000, 10500, 1500))
    assert balanced.balanced
    assert not off.balanced
    first, second = (e.payload for e in his.store.log)
    assert isinstance(first, HospitalTotalsReconciled)
    assert isinstance(second, HospitalTotalsReconciled)
    assert (first.balanced, second.balanced) == (True, False)
    assert second.platform == figures(2, 15000, 10500, 1500, 3000)
    assert [(d.figure, d.platform, d.hospital) for d in second.differences] == [("count", 2, 3)]
    # Each check is a stream of its own, so two hospitals' checks never contend.
    assert {e.stream_id for e in his.store.log} != {his.store.log[0].stream_id}


async def test_3202_compares_inline_rows_and_keeps_a_result_file(his: HospitalContext) -> None:
    s1, s2 = rec("S1", business_date=date(2026, 3, 10)), rec("S2", business_date=date(2026, 3, 11))
    his.books.kept = [s1, s2]
    row = HospitalRow(
        settlement_id="S1",
        visit_id="VS1",
        person_id="P1",
        total_fee=10000,
        fund_total=7000,
        account_paid=1000,
        is_refund=False,
    )
    detail_scope = StatementScope(
        institution_code=HOSPITAL,
        clearing_agency=NANJING,
        start_date=date(2026, 3, 1),
        end_date=date(2026, 3, 31),
        include_refunds=True,
    )
    outcome = await his.hospitals.reconcile_details(detail_scope, None, (row,))
    (fact,) = (e.payload for e in his.store.log)
    assert isinstance(fact, HospitalDetailReconciled)
    assert (fact.matched, fact.missing_at_hospital, fact.missing_on_platform) == (1, 1, 0)
    assert [d.settlement_id for d in fact.discrepancies] == ["S2"]
    assert outcome.file.filename == "stmt_detail_H32010000001_20260301.zip"
    assert his.books.files[outcome.file.file_query_no][:2] == (HOSPITAL, "result")


async def test_3202_of_an_unknown_upload_is_refused_without_a_fact(his: HospitalContext) -> None:
    with pytest.raises(NotFound):
        await his.hospitals.reconcile_details(MARCH, "nope", None)
    assert his.store.log == []


async def test_uploads_are_kept_for_their_hospital_for_seven_days(his: HospitalContext) -> None:
    uploaded = await his.hospitals.upload(HOSPITAL, "detail.zip", b"PK")
    assert uploaded.download_until == his.clock.now() + timedelta(days=7)
    fetched = await his.hospitals.download(HOSPITAL, uploaded.file_query_no)
    assert (fetched.filename, fetched.content) == ("detail.zip", b"PK")
    with pytest.raises(NotFound):
        await his.hospitals.download("H32010000002", uploaded.file_query_no)
    his.clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(Conflict) as expired:
        await his.hospitals.download(HOSPITAL, uploaded.file_query_no)
    assert expired.value.rule == "reconciliation.file_expired"
    assert his.store.log == []


async def test_an_upload_over_the_limit_is_refused(his: HospitalContext) -> None:
    his.hospitals.limits = type(his.hospitals.limits)(max_uncompressed_bytes=3)
    with pytest.raises(DomainError) as refused:
        await his.hospitals.upload(HOSPITAL, "detail.zip", b"1234")
    assert refused.value.rule == "reconciliation.file_too_large"
    assert his.books.files == {}
