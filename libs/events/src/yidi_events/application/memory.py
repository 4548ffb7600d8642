"""The event-store port in memory, for unit tests of handlers: the same version check and
idempotency rules as PostgreSQL, with a unit's writes visible to others only once it ends."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.application.ports import Idempotent
from yidi_events.envelope import Envelope
from yidi_events.kernel.time import Clock, SystemClock
from yidi_events.store.event_store import ConcurrencyError, NewEvent, StreamAppend, seal
from yidi_events.store.idempotency import IdempotencyConflict, StoredResponse


@dataclass
class InMemoryUnit:
    store: InMemoryEventStore
    appended: dict[str, list[Envelope]] = field(default_factory=lambda: defaultdict(list))
    answers: dict[tuple[str, str], StoredResponse] = field(default_factory=dict)

    @property
    def conn(self) -> AsyncConnection:
        raise RuntimeError(
            "this handler reads or projects through SQL: test it against PostgreSQL, and keep "
            "its decision in domain/ where a unit test reaches it"
        )

    async def load(
        self, stream_id: str, after_version: int = 0, excluding: Collection[str] = ()
    ) -> list[Envelope]:
        events = [*self.store.streams.get(stream_id, []), *self.appended.get(stream_id, [])]
        return [
            e for e in events if e.stream_version > after_version and e.event_type not in excluding
        ]

    async def load_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        return {stream_id: await self.load(stream_id) for stream_id in stream_ids}

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[Envelope]:
        if not new_events:
            return []
        if len(await self.load(stream_id)) != expected_version:
            raise ConcurrencyError(stream_id, expected_version)
        envelopes = seal(
            self.store.producer,
            self.store.clock.now(),
            stream_id,
            expected_version,
            new_events,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        self.appended[stream_id].extend(envelopes)
        return envelopes

    async def append_streams(
        self,
        appends: Sequence[StreamAppend],
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[list[Envelope]]:
        # All or nothing, as PostgreSQL's one INSERT: every stream is checked before any grows.
        for a in appends:
            if a.new_events and len(await self.load(a.stream_id)) != a.expected_version:
                raise ConcurrencyError(a.stream_id, a.expected_version)
        return [
            await self.append(
                a.stream_id,
                a.expected_version,
                a.new_events,
                correlation_id=correlation_id,
                causation_id=causation_id,
            )
            for a in appends
        ]

    async def lookup(self, scope: str, key: str) -> StoredResponse | None:
        return self.answers.get((scope, key)) or self.store.answers.get((scope, key))

    async def record(self, idempotent: Idempotent, response: dict[str, Any]) -> None:
        where = (idempotent.scope, idempotent.key)
        if where in self.answers or where in self.store.answers:
            raise IdempotencyConflict("/".join(where))
        self.answers[where] = StoredResponse(idempotent.request_hash, response)


@dataclass
class InMemoryEventStore:
    producer: str = "test"
    clock: Clock = field(default_factory=SystemClock)
    streams: dict[str, list[Envelope]] = field(default_factory=dict)
    answers: dict[tuple[str, str], StoredResponse] = field(default_factory=dict)
    log: list[Envelope] = field(default_factory=list)
    """Every committed event in commit order: what the relay would publish."""

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[InMemoryUnit]:
        unit = InMemoryUnit(self)
        yield unit
        # Commit: a stream that moved meanwhile refuses the whole unit, as the unique
        # (stream_id, stream_version) does in PostgreSQL.
        for stream_id, envelopes in unit.appended.items():
            if len(self.streams.get(stream_id, [])) != envelopes[0].stream_version - 1:
                raise ConcurrencyError(stream_id, envelopes[0].stream_version - 1)
        for where in unit.answers:
            if where in self.answers:
                raise IdempotencyConflict("/".join(where))
        for stream_id, envelopes in unit.appended.items():
            self.streams.setdefault(stream_id, []).extend(envelopes)
            self.log.extend(envelopes)
        self.answers.update(unit.answers)

    def payloads(self, stream_id: str) -> list[Any]:
        return [e.payload for e in self.streams.get(stream_id, [])]
