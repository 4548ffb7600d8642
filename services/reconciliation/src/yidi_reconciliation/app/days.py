"""Handlers of the day-statement aggregate: record settlements (from the consumed settlement facts),
issue statements, confirm, dispute, accept. Each acts on one day stream under the day's lock:
load, decide, append and project through the write path. Recording, once per settlement, decides
on the day's head (`DAY_HEAD`, from its row); the others, a few times a day, fold the whole stream
(`DAY`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from yidi_events.application import Aggregate, Snapshot, Unit, WritePath
from yidi_events.envelope import Envelope
from yidi_events.kernel import Conflict, RegionRelation, business_date, relation
from yidi_reconciliation.domain.day_statement import (
    DayHead,
    DayId,
    DayStatement,
    decide_accept_disputed,
    decide_confirm_day,
    decide_dispute,
    decide_issue_statement,
    decide_record_on_head,
    decide_record_settlement,
    decide_reversal,
    evolve,
    evolve_head,
    record_resolves_dispute,
)
from yidi_reconciliation.domain.records import (
    DEFAULT_SETTINGS,
    ReconciliationSettings,
    SettlementRecord,
)

Decision = Callable[[DayStatement], list[Any]]

DAY = Aggregate(DayStatement, evolve)


class DayRows(Protocol):
    """What the handlers read of the days besides their streams: the rows the day projection
    keeps in the writing transaction (adapters/day_views.py), and the day's lock."""

    async def lock(self, unit: Unit, day: DayId) -> None:
        """Writers of one day queue here until the unit ends."""
        ...

    async def head(self, unit: Unit, stream_id: str) -> tuple[DayHead, int] | None:
        """The day's head and the stream version it is at; None for a day without a row."""
        ...

    async def holds(self, unit: Unit, day: DayId, settlement_id: str) -> bool: ...

    async def held(self, unit: Unit, day: DayId, settlement_ids: Sequence[str]) -> set[str]:
        """Which of `settlement_ids` the day already holds (one read for a consumer's batch)."""
        ...

    async def unissued(self, unit: Unit, business_date: date) -> list[DayId]:
        """The days of `business_date` whose statement is not issued yet."""
        ...


@dataclass(frozen=True)
class Acted:
    events: list[Envelope]
    statement: DayStatement
    """The day after the command's events."""


@dataclass
class Days:
    write: WritePath
    rows: DayRows
    settings: ReconciliationSettings = DEFAULT_SETTINGS
    heads: Aggregate[DayHead] = field(init=False)

    def __post_init__(self) -> None:
        # The head row moves in every unit that appends to its day, under the day's lock:
        # reading the stream's tail would cost a query per settlement for nothing. Only a day
        # without a row yet is folded.
        self.heads = Aggregate(DayHead, evolve_head, Snapshot(self.rows.head, current=True))

    async def statement(self, day: DayId) -> DayStatement:
        async def read(unit: Unit) -> DayStatement:
            return (await self.write.load(unit, day.stream_id, DAY)).state

        return await self.write.transact(read)

    async def _act(self, unit: Unit, day: DayId, decide: Decision) -> Acted:
        await self.rows.lock(unit, day)
        loaded = await self.write.load(unit, day.stream_id, DAY)
        new = decide(loaded.state)
        events = await self.write.append(unit, day.stream_id, loaded.version, new)
        return Acted(events, DAY.fold(new, loaded.state))

    def reconciled_between_agencies(self, record: SettlementRecord) -> bool:
        """Only cross-region settlements of a known scheme have a day statement between agencies."""
        known = (
            record.insurance_type
            in self.settings.employee_insurance_types | self.settings.resident_insurance_types
        )
        cross = relation(record.insured_region, record.visit_region) is not RegionRelation.LOCAL
        return known and cross

    async def record(
        self, unit: Unit, record: SettlementRecord, original: SettlementRecord | None
    ) -> None:
        """Put a settlement fact on its day, in the consumer's unit; a cancellation of a
        settlement of another day also goes to that day, where it may resolve a dispute as a
        reversal.

        Decided on the day's head, so its cost does not grow with the day; only a record that
        resolves a dispute folds the whole day (that needs the disputed settlement itself)."""
        if not self.reconciled_between_agencies(record):
            return
        now = self.write.clock.now()
        day = DayId.of(record)
        await self.rows.lock(unit, day)
        head = await self.write.load(unit, day.stream_id, self.heads)
        if record_resolves_dispute(head.state, record):
            await self._act(
                unit, day, lambda s: decide_record_settlement(s, record, now, self.settings)
            )
        else:
            recorded = await self.rows.holds(unit, day, record.settlement_id)
            new = decide_record_on_head(head.state, recorded, record, now, self.settings)
            await self.write.append(unit, day.stream_id, head.version, new)
        if original is not None and DayId.of(original) != day:
            await self.rows.lock(unit, DayId.of(original))
            original_head = await self.write.load(unit, DayId.of(original).stream_id, self.heads)
            # Nothing to do on the original's day unless the original is under open dispute
            # there, which its head tells without a fold (`decide_reversal` would decide []).
            if record_resolves_dispute(original_head.state, record):
                await self._act(
                    unit,
                    DayId.of(original),
                    lambda s: decide_reversal(s, record, now, self.settings),
                )

    async def record_settled(self, unit: Unit, records: Sequence[SettlementRecord]) -> None:
        """`record(unit, r, None)` for each of `records` in order, a day at a time: the day's lock,
        head and the settlements it already holds are read once, each record is decided on the
        head the ones before it left, and the day's events are appended together. A record that
        resolves a dispute needs the whole day: what was decided so far is appended first, and
        it goes the one-by-one way."""
        by_day: dict[DayId, list[SettlementRecord]] = {}
        for record in records:
            if self.reconciled_between_agencies(record):
                by_day.setdefault(DayId.of(record), []).append(record)
        # In stream order, so two batches touching the same days cannot deadlock on their locks.
        for day in sorted(by_day, key=lambda d: d.stream_id):
            await self.rows.lock(unit, day)
        now = self.write.clock.now()
        for day in sorted(by_day, key=lambda d: d.stream_id):
            group = by_day[day]
            held = await self.rows.held(unit, day, [r.settlement_id for r in group])
            head = await self.write.load(unit, day.stream_id, self.heads)
            state, version = head.state, head.version
            new: list[Any] = []
            for record in group:
                if record_resolves_dispute(state, record):
                    if new:
                        await self.write.append(unit, day.stream_id, version, new)
                    await self.record(unit, record, None)
                    reloaded = await self.write.load(unit, day.stream_id, self.heads)
                    state, version = reloaded.state, reloaded.version
                    new = []
                    held.add(record.settlement_id)
                    continue
                decided = decide_record_on_head(
                    state, record.settlement_id in held, record, now, self.settings
                )
                new.extend(decided)
                state = self.heads.fold(decided, state)
                held.add(record.settlement_id)
            if new:
                await self.write.append(unit, day.stream_id, version, new)

    async def issue(self, day: date) -> list[DayId]:
        """Issue every not yet issued statement of `day` (refused while the day is not over)."""
        now = self.write.clock.now()
        if business_date(now) <= day:
            raise Conflict(
                "reconciliation.day_not_over",
                f"{day} is not over yet (it closes at 24:00 Asia/Shanghai); statements are"
                " issued the day after.",
                field="date",
            )

        async def issue_each(unit: Unit) -> list[DayId]:
            issued = await self.rows.unissued(unit, day)
            for day_id in issued:
                await self._act(unit, day_id, lambda s: decide_issue_statement(s, now))
            return issued

        return await self.write.transact(issue_each)

    async def _command(
        self, day: DayId, decide: Callable[[DayStatement, datetime], list[Any]]
    ) -> Acted:
        async def work(unit: Unit) -> Acted:
            now = self.write.clock.now()
            return await self._act(unit, day, lambda s: decide(s, now))

        return await self.write.transact(work)

    async def confirm(self, day: DayId, agency: str) -> Acted:
        return await self._command(
            day, lambda s, now: decide_confirm_day(s, agency, now, self.settings)
        )

    async def dispute(self, day: DayId, agency: str, settlement_id: str, reason: str) -> Acted:
        return await self._command(
            day, lambda s, now: decide_dispute(s, agency, settlement_id, reason, now)
        )

    async def accept(self, day: DayId, agency: str, settlement_id: str) -> Acted:
        return await self._command(
            day,
            lambda s, now: decide_accept_disputed(s, agency, settlement_id, now, self.settings),
        )
