"""The event-store port on PostgreSQL: a unit is one `engine.begin()` transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yidi_events.application.ports import Idempotent
from yidi_events.envelope import Envelope
from yidi_events.store.event_store import EventStore, NewEvent, StreamAppend
from yidi_events.store.idempotency import IdempotencyStore, StoredResponse


@dataclass
class PostgresUnit:
    conn: AsyncConnection
    events: EventStore
    answers: IdempotencyStore

    async def load(
        self, stream_id: str, after_version: int = 0, excluding: Collection[str] = ()
    ) -> list[Envelope]:
        return await self.events.load(
            self.conn, stream_id, after_version=after_version, excluding=excluding
        )

    async def load_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        return await self.events.load_streams(self.conn, stream_ids)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[Envelope]:
        return await self.events.append(
            self.conn,
            stream_id,
            expected_version,
            new_events,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )

    async def append_streams(
        self,
        appends: Sequence[StreamAppend],
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[list[Envelope]]:
        return await self.events.append_streams(
            self.conn, appends, correlation_id=correlation_id, causation_id=causation_id
        )

    async def lookup(self, scope: str, key: str) -> StoredResponse | None:
        return await self.answers.lookup(self.conn, scope, key)

    async def record(self, idempotent: Idempotent, response: dict[str, Any]) -> None:
        await self.answers.record(
            self.conn, idempotent.scope, idempotent.key, idempotent.request_hash, response
        )


@dataclass
class PostgresEventStore:
    engine: AsyncEngine
    events: EventStore
    answers: IdempotencyStore

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[PostgresUnit]:
        async with self.engine.begin() as conn:
            yield PostgresUnit(conn, self.events, self.answers)
