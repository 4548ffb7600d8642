"""Handlers of the day-statement aggregate: record settlements (from the consumed settlement facts),
issue statements, confirm, dispute, accept. Each acts on one day stream in the caller's
transaction: lock, load, decide, append, project. Recording, once per settlement, loads the day's
head row (`day_state`) and decides on it; the others, a few times a day, fold the whole stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.decider import fold
from yidi_events.envelope import Envelope
from yidi_events.kernel import Clock, Conflict, RegionRelation, business_date, relation
from yidi_events.runtime.projection import Projection
from yidi_events.store import EventStore, NewEvent
from yidi_reconciliation.adapters.day_views import day_head, days_of, holds_settlement
from yidi_reconciliation.domain.day_statement import (
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
    record_resolves_dispute,
)
from yidi_reconciliation.domain.records import (
    DEFAULT_SETTINGS,
    ReconciliationSettings,
    SettlementRecord,
)

Decision = Callable[[DayStatement], list[Any]]


@dataclass
class Days:
    store: EventStore
    clock: Clock
    views: Projection
    settings: ReconciliationSettings = DEFAULT_SETTINGS

    async def load(self, conn: AsyncConnection, day: DayId) -> tuple[DayStatement, int]:
        stream = await self.store.load(conn, day.stream_id)
        return fold(evolve, DayStatement(), [e.payload for e in stream]), len(stream)

    async def act(self, conn: AsyncConnection, day: DayId, decide: Decision) -> list[Envelope]:
        await self._lock(conn, day)
        state, version = await self.load(conn, day)
        return await self._append(conn, day, version, decide(state))

    async def _lock(self, conn: AsyncConnection, day: DayId) -> None:
        # Writers of one day (the consumer and agency commands) queue here instead of failing on
        # the stream version; the version check still guards against anything that slips by.
        # Taken again by the same transaction, it is already held: a re-lock does not wait.
        await conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:stream, 0))"),
            {"stream": day.stream_id},
        )

    async def _append(
        self, conn: AsyncConnection, day: DayId, version: int, new: list[Any]
    ) -> list[Envelope]:
        today = business_date(self.clock.now())
        envelopes = await self.store.append(
            conn, day.stream_id, version, [NewEvent(p, today) for p in new]
        )
        for envelope in envelopes:
            await self.views.apply(conn, envelope)
        return envelopes

    def reconciled_between_agencies(self, record: SettlementRecord) -> bool:
        """Only cross-region settlements of a known scheme have a day statement between agencies."""
        known = (
            record.insurance_type
            in self.settings.employee_insurance_types | self.settings.resident_insurance_types
        )
        cross = relation(record.insured_region, record.visit_region) is not RegionRelation.LOCAL
        return known and cross

    async def record(
        self, conn: AsyncConnection, record: SettlementRecord, original: SettlementRecord | None
    ) -> None:
        """Put a settlement fact on its day; a cancellation of a settlement of another day also
        goes to that day, where it may resolve a dispute as a reversal.

        Decided on the day's head row, so its cost does not grow with the day; only a record that
        resolves a dispute folds the whole day (that needs the disputed settlement itself)."""
        if not self.reconciled_between_agencies(record):
            return
        now = self.clock.now()
        day = DayId.of(record)
        await self._lock(conn, day)
        head, version = await day_head(conn, day)
        if record_resolves_dispute(head, record):
            await self.act(
                conn, day, lambda s: decide_record_settlement(s, record, now, self.settings)
            )
        else:
            recorded = await holds_settlement(conn, day, record.settlement_id)
            new = decide_record_on_head(head, recorded, record, now, self.settings)
            await self._append(conn, day, version, new)
        if original is not None and DayId.of(original) != day:
            await self._lock(conn, DayId.of(original))
            original_head, _ = await day_head(conn, DayId.of(original))
            # Nothing to do on the original's day unless the original is under open dispute
            # there, which its head tells without a fold (`decide_reversal` would decide []).
            if record_resolves_dispute(original_head, record):
                await self.act(
                    conn,
                    DayId.of(original),
                    lambda s: decide_reversal(s, record, now, self.settings),
                )

    async def issue(self, conn: AsyncConnection, day: date) -> list[DayId]:
        """Issue every not yet issued statement of `day` (refused while the day is not over)."""
        now = self.clock.now()
        if business_date(now) <= day:
            raise Conflict(
                "reconciliation.day_not_over",
                f"{day} is not over yet (it closes at 24:00 Asia/Shanghai); statements are"
                " issued the day after.",
                field="date",
            )
        issued: list[DayId] = []
        for row in await days_of(conn, region=None, business_date=day):
            if row.issued:
                continue
            day_id = DayId(row.insured_region, row.visit_region, row.business_date)
            await self.act(conn, day_id, lambda s: decide_issue_statement(s, now))
            issued.append(day_id)
        return issued

    async def confirm(self, conn: AsyncConnection, day: DayId, agency: str) -> list[Envelope]:
        now = self.clock.now()
        return await self.act(
            conn, day, lambda s: decide_confirm_day(s, agency, now, self.settings)
        )

    async def dispute(
        self, conn: AsyncConnection, day: DayId, agency: str, settlement_id: str, reason: str
    ) -> list[Envelope]:
        now = self.clock.now()
        return await self.act(
            conn, day, lambda s: decide_dispute(s, agency, settlement_id, reason, now)
        )

    async def accept(
        self, conn: AsyncConnection, day: DayId, agency: str, settlement_id: str
    ) -> list[Envelope]:
        now = self.clock.now()
        return await self.act(
            conn,
            day,
            lambda s: decide_accept_disputed(s, agency, settlement_id, now, self.settings),
        )
