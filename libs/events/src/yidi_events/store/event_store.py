"""Append to and load from a service's event store, inside the caller's transaction.

The append must be the first write of its transaction: the transaction id is assigned at the first
write, and the relay orders by it, so appending first keeps one stream's versions in commit order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from uuid6 import uuid7

from yidi_events import registry
from yidi_events.envelope import Envelope
from yidi_events.kernel.time import Clock
from yidi_events.store.columns import ColumnsInsert
from yidi_events.store.schema import events
from yidi_events.tracing import current_traceparent

# One statement whatever the number of events (a column an array), so it is compiled and
# prepared once per connection; a unit appending very many (a clearing period's lines) still
# sends them in parts, to keep each message to the server a sensible size.
_ROWS_PER_INSERT = 1000
_INSERT_EVENTS = ColumnsInsert(
    events,
    [
        "event_id",
        "stream_id",
        "stream_version",
        "event_type",
        "schema_version",
        "partition_key",
        "occurred_at",
        "business_date",
        "producer",
        "correlation_id",
        "causation_id",
        "payload",
        "trace_parent",
    ],
)


class ConcurrencyError(Exception):
    """Another writer appended to the stream since it was loaded; reload and decide again."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(f"stream {stream_id} moved past version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


@dataclass(frozen=True)
class NewEvent:
    """A fact a decision produced, with the business date the producer assigns to it."""

    payload: Any
    business_date: date


@dataclass(frozen=True)
class StreamAppend:
    """What one stream gets in an append of several streams at once."""

    stream_id: str
    expected_version: int
    new_events: Sequence[NewEvent]


@dataclass(frozen=True)
class StoredEvent:
    position: int
    txid: int
    envelope: Envelope
    trace_parent: str | None = None


def seal(
    producer: str,
    now: datetime,
    stream_id: str,
    expected_version: int,
    new_events: Sequence[NewEvent],
    *,
    correlation_id: UUID | None = None,
    causation_id: UUID | None = None,
) -> list[Envelope]:
    """Envelopes for what a decision produced, numbered after `expected_version`."""
    envelopes = []
    for offset, new in enumerate(new_events, start=1):
        spec = registry.spec_of(new.payload)
        envelopes.append(
            Envelope(
                event_id=uuid7(),
                event_type=spec.event_type,
                schema_version=spec.version,
                stream_id=stream_id,
                stream_version=expected_version + offset,
                partition_key=spec.partition_key(new.payload),
                occurred_at=now,
                business_date=new.business_date,
                producer=producer,
                correlation_id=correlation_id,
                causation_id=causation_id,
                payload=new.payload,
            )
        )
    return envelopes


_LOAD_STREAMS = (
    sa.select(events)
    .where(events.c.stream_id == sa.any_(sa.bindparam("stream_ids", type_=ARRAY(sa.Text))))
    .order_by(events.c.stream_id, events.c.stream_version)
)


class EventStore:
    def __init__(self, producer: str, clock: Clock) -> None:
        self.producer = producer
        self.clock = clock

    async def append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[Envelope]:
        """Append after `expected_version` (0 for a new stream). Raises ConcurrencyError."""
        (envelopes,) = await self.append_streams(
            conn,
            [StreamAppend(stream_id, expected_version, new_events)],
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        return envelopes

    async def append_streams(
        self,
        conn: AsyncConnection,
        appends: Sequence[StreamAppend],
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[list[Envelope]]:
        """Append to each stream after its expected version, every event of every stream in one
        INSERT of arrays (one round trip, one prepared statement: executemany would run the INSERT
        once per row on the server). Raises ConcurrencyError naming the
        streams when any of them moved; the caller's unit then rolls back whole."""
        now = self.clock.now()
        sealed = [
            seal(
                self.producer,
                now,
                a.stream_id,
                a.expected_version,
                a.new_events,
                correlation_id=correlation_id,
                causation_id=causation_id,
            )
            for a in appends
        ]
        trace_parent = current_traceparent()
        rows = [{**_row(e), "trace_parent": trace_parent} for stream in sealed for e in stream]
        if not rows:
            return sealed
        try:
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                await _INSERT_EVENTS.execute(conn, rows[start : start + _ROWS_PER_INSERT])
        except IntegrityError as exc:
            if "events_stream_version_key" in str(exc.orig):
                moved = [a for a in appends if a.new_events]
                raise ConcurrencyError(
                    ",".join(a.stream_id for a in moved), moved[0].expected_version
                ) from exc
            raise
        return sealed

    async def load(
        self,
        conn: AsyncConnection,
        stream_id: str,
        *,
        after_version: int = 0,
        excluding: Collection[str] = (),
    ) -> list[Envelope]:
        """The stream's events past `after_version` (a snapshot's), in order; without the event
        types in `excluding`, for a state that keeps what those say elsewhere."""
        query = sa.select(events).where(
            events.c.stream_id == stream_id, events.c.stream_version > after_version
        )
        if excluding:
            query = query.where(events.c.event_type.not_in(list(excluding)))
        result = await conn.execute(query.order_by(events.c.stream_version))
        return [_envelope(row) for row in result.mappings()]

    async def load_streams(
        self, conn: AsyncConnection, stream_ids: Sequence[str]
    ) -> dict[str, list[Envelope]]:
        """Several whole streams in one round trip, each in order (empty if it has no events)."""
        result = await conn.execute(_LOAD_STREAMS, {"stream_ids": sorted(set(stream_ids))})
        loaded: dict[str, list[Envelope]] = {stream_id: [] for stream_id in stream_ids}
        for row in result.mappings():
            loaded[row["stream_id"]].append(_envelope(row))
        return loaded

    async def read_committed(
        self, conn: AsyncConnection, after: tuple[int, int], limit: int
    ) -> list[StoredEvent]:
        """Events past `after` = (txid, position) whose transactions, and every earlier one, ended.

        Rows of transactions still open (or not yet visible) are left for a later read: nothing
        is ever published past a gap that may still fill.
        """
        horizon = sa.text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return await self._read(conn, after, limit, events.c.txid < horizon)

    async def read_visible(
        self, conn: AsyncConnection, after: tuple[int, int], limit: int | None = None
    ) -> list[StoredEvent]:
        """Every event past `after` this statement's snapshot sees, in (txid, position) order,
        gaps or not. For a reader that holds off every writer that matters (a rebuild's swap,
        under its lock on the projection's tables): what it sees is all that will be there."""
        return await self._read(conn, after, limit, sa.true())

    async def _read(
        self,
        conn: AsyncConnection,
        after: tuple[int, int],
        limit: int | None,
        condition: sa.ColumnElement[bool],
    ) -> list[StoredEvent]:
        result = await conn.execute(
            sa.select(events)
            .where(sa.tuple_(events.c.txid, events.c.position) > sa.tuple_(*after), condition)
            .order_by(events.c.txid, events.c.position)
            .limit(limit)
        )
        return [
            StoredEvent(r["position"], r["txid"], _envelope(r), r["trace_parent"])
            for r in result.mappings()
        ]


def _row(envelope: Envelope) -> dict[str, Any]:
    return {
        "event_id": envelope.event_id,
        "stream_id": envelope.stream_id,
        "stream_version": envelope.stream_version,
        "event_type": envelope.event_type,
        "schema_version": envelope.schema_version,
        "partition_key": envelope.partition_key,
        "occurred_at": envelope.occurred_at,
        "business_date": envelope.business_date,
        "producer": envelope.producer,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "payload": registry.encode(envelope.payload),
    }


def _envelope(row: Any) -> Envelope:
    version, payload = registry.decode_stored(
        row["event_type"], row["schema_version"], row["payload"]
    )
    return Envelope(
        event_id=row["event_id"],
        event_type=row["event_type"],
        schema_version=version,
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        partition_key=row["partition_key"],
        occurred_at=row["occurred_at"],
        business_date=row["business_date"],
        producer=row["producer"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        payload=payload,
    )
