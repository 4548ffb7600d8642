"""What the write path needs of an event store: a transaction (`Unit`) that loads and appends
streams and keeps idempotent answers, committed when the unit ends without an exception."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.envelope import Envelope
from yidi_events.store.event_store import NewEvent, StreamAppend
from yidi_events.store.idempotency import StoredResponse


@dataclass(frozen=True)
class Idempotent:
    """Where a command's answer is kept so that a retry with the same key gets it again."""

    scope: str
    key: str
    request_hash: str


class Unit(Protocol):
    """One transaction. `conn` is the SQL connection the projections and read models write and
    read through; the in-memory store has none, so handlers that need SQL reads are integration
    tested, while their decisions stay unit tested."""

    @property
    def conn(self) -> AsyncConnection: ...

    async def load(
        self, stream_id: str, after_version: int = 0, excluding: Collection[str] = ()
    ) -> list[Envelope]:
        """The stream past `after_version`, without the event types in `excluding`."""
        ...

    async def load_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        """Several whole streams at once (one read)."""
        ...

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[Envelope]:
        """Append after `expected_version`; raises ConcurrencyError if the stream moved."""
        ...

    async def append_streams(
        self,
        appends: Sequence[StreamAppend],
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[list[Envelope]]:
        """Append to several streams at once (one write), each after its expected version;
        raises ConcurrencyError if any of them moved."""
        ...

    async def lookup(self, scope: str, key: str) -> StoredResponse | None: ...

    async def record(self, idempotent: Idempotent, response: dict[str, Any]) -> None:
        """Keep the answer; raises IdempotencyConflict if another transaction kept one first."""
        ...


class EventStorePort(Protocol):
    def begin(self) -> AbstractAsyncContextManager[Unit]: ...
