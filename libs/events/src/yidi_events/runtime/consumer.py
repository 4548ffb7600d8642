"""The idempotent consumer: Kafka -> a projection, exactly once in effect.

For each record, in the same transaction as the projection change, it records the event id with
its topic/partition/offset and advances the stream's last applied version:
- a version at or below the last applied one is a duplicate (redelivery, republish): a no-op,
  unless it is an operator's replay (`yidi dlq replay`) of an event this consumer dead-lettered:
  that one is applied now, once (its `consumed_events` outcome turns from dead_lettered to
  applied in the same transaction);
- a version beyond the next one is parked until the missing ones arrive, then applied in order;
- a record the code cannot apply (it does not decode or upcast, a handler refuses it) is poison:
  after bounded retries it goes to `<topic>.dlq` with its origin in the headers, is marked
  dead-lettered, and the partition keeps flowing. A parked event is tried on its own, so when it
  is the poison, it is the one dead-lettered, not the predecessor that released it;
- a database or broker that cannot be reached (connection refused or lost, shutting down,
  timeouts, a lost race) says nothing about the record: it is retried with bounded exponential
  backoff for as long as it takes, counted in `yidi_consumer_waits_total`, never dead-lettered,
  and the stream's version never moves past it.
Kafka offsets are committed after the database commit; they only save work on restart, the
database decides what was applied. Records are applied in batches, one transaction per batch;
if a batch fails it is replayed one record per transaction to isolate the culprit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import orjson
import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from prometheus_client import Counter, Gauge
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yidi_events import tracing
from yidi_events.db import any_of, is_transient, is_unavailable
from yidi_events.envelope import Envelope
from yidi_events.failpoints import crash_point
from yidi_events.runtime.kafka import KafkaSettings, consumer, producer, read_through
from yidi_events.runtime.kafka import reader as kafka_reader
from yidi_events.runtime.projection import Progress, Projection
from yidi_events.runtime.shadow import Shadow
from yidi_events.store.columns import ColumnsInsert
from yidi_events.store.schema import consumed_events, consumer_streams, parked_events
from yidi_events.topics import dlq, owner, topic

log = structlog.get_logger(__name__)

APPLIED = Counter("yidi_consumer_events_total", "Records by outcome", ["consumer", "outcome"])
DEAD = Counter("yidi_consumer_dead_lettered_total", "Records sent to a DLQ", ["consumer", "topic"])
LAG = Gauge("yidi_consumer_lag", "Records behind the end of the topic", ["consumer", "topic"])
REFUSED = Counter(
    "yidi_consumer_refused_total",
    "Records not applied because their producer or event type is not their topic's owner",
    ["consumer", "topic", "reason"],
)
WAITS = Counter(
    "yidi_consumer_waits_total",
    "Retries of work held up by an unreachable database or broker, or a lost race",
    ["consumer", "reason"],
)

T = TypeVar("T")

# A batch's bookkeeping, one statement per table whatever the batch's size.
_RECORD_CONSUMED = ColumnsInsert(
    consumed_events, ["consumer", "event_id", "topic", "partition", "offset", "outcome"]
)
_MOVE_VERSIONS = ColumnsInsert(
    consumer_streams,
    ["consumer", "stream_id", "last_version"],
    conflict=["consumer", "stream_id"],
    update=["last_version"],
)

# A lost race is retried at once a few dozen times (jittered), then with the outage's backoff.
QUICK_CONFLICT_RETRIES = 50
# The header `yidi dlq replay` puts on a dead letter it publishes again (cli: topics.replay).
REPLAYED_FROM = "replayed_from"


@dataclass(frozen=True)
class Origin:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Poison:
    """Work that failed `max_attempts` times for a reason of its own."""

    error: BaseException


class Stopping(Exception):
    """The consumer was told to stop while it waited for the database or broker to come back."""


def lost_race(exc: BaseException) -> bool:
    """Another instance (a rebalance, a rebuild's swap) recorded the same event first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "constraint_name", None) == "consumed_events_pkey":
            return True
        orig = getattr(current, "orig", None)
        current = current.__cause__ or (orig if isinstance(orig, BaseException) else None)
    return False


BATCH = 250
"""Records a live consumer applies in one transaction at most. It bounds what a batch holds in
memory while a backlog drains: at 1,000, filing's, clearing's and settlement's background working
sets grew by 13-25 % during the overload run, at 250 by at most 2 % (docs/performance.md); past
a few hundred, a batch's fixed cost (its locks, versions and commit) is already a small share."""


class Consumer:
    def __init__(
        self,
        engine: AsyncEngine,
        projection: Projection,
        kafka: KafkaSettings,
        *,
        sources: Sequence[str],
        group_id: str | None = None,
        max_attempts: int = 3,
        retry_backoff: float = 0.1,
        max_backoff: float = 30.0,
        linger: float = 0.05,
    ) -> None:
        self.engine = engine
        self.linger = linger
        self.projection = projection
        self.kafka = kafka
        self.name = projection.name
        self.sources = list(sources)
        self.topics = [topic(s, kafka.namespace) for s in sources]
        self.owners = {topic(s, kafka.namespace): owner(s) for s in sources}
        self.group_id = group_id or projection.name
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.max_backoff = max_backoff
        self._dlq_producer: AIOKafkaProducer | None = None
        self.lag: dict[str, int] = {}
        self.stopping = asyncio.Event()
        # A rebuild's consumer writes into a shadow of the tables (see `rebuild`), and serialises
        # its streams under a lock of its own, so that it never waits on the live instance.
        self.shadow: Shadow | None = None
        self._lock_name = self.name

    async def run(self, stop: asyncio.Event) -> None:
        self.stopping = stop
        kafka_consumer = consumer(
            self.kafka, *self.topics, group_id=self.group_id, client_id=self.name
        )
        await kafka_consumer.start()
        try:
            while not stop.is_set():
                batches = await kafka_consumer.getmany(timeout_ms=100, max_records=BATCH)
                records = [r for part in batches.values() for r in part]
                if records and len(records) < BATCH and self.linger:
                    # A batch costs a transaction, its bookkeeping and an offset commit however
                    # few records it holds; under a steady trickle (settlements at the counter)
                    # nearly every poll held one. Waiting a moment lets the next ones join it.
                    await asyncio.sleep(self.linger)
                    more = await kafka_consumer.getmany(
                        timeout_ms=0, max_records=BATCH - len(records)
                    )
                    records += [r for part in more.values() for r in part]
                if records:
                    await self.process(records)
                    with contextlib.suppress(CommitFailedError, KafkaError):
                        await kafka_consumer.commit()
                await self._measure_lag(kafka_consumer)
        finally:
            await kafka_consumer.stop()
            await self._close_dlq()

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            if self.shadow is not None:
                await self.shadow.enter(conn)
            yield conn

    async def process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply records (from one poll, partition order preserved) to the projection."""
        try:
            async with self._begin() as conn:
                await self._apply_all(conn, records)
                crash_point(f"consumer.before_commit.{self.name}")
        except Exception as exc:
            log.info("consumer.batch_failed", consumer=self.name, error=repr(exc))
            await self._process_alone(records)

    async def _apply_all(
        self, conn: AsyncConnection, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> None:
        for stream_id, last in await self._ready_streams(conn):
            await self._drain_stream(conn, stream_id, last)
        if any(_replayed(r) for r in records):
            # An operator's replay is rare and may re-apply an event behind its stream's version:
            # the one-at-a-time path knows how, and the batch's order is kept by taking it all.
            for record in records:
                applied = await self._handle(conn, record)
                if applied is not None:
                    await self._drain_stream(conn, *applied)
            return
        await self._apply_set_wise(conn, records)

    async def _apply_set_wise(
        self, conn: AsyncConnection, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> None:
        """The whole poll in a few statements whatever its size: lock its streams, read their
        versions and parked successors, decide apply/park/skip for every record in memory, apply
        the applied ones through the projection's batch handlers, then write the bookkeeping
        (recorded ids, versions, parked rows) one multi-row statement per table. The same
        decisions as `_handle` and `_drain_stream`, record by record; a failure anywhere rolls the
        batch back and `process` retries it one record per transaction, which keeps the
        poison and outage rules exactly as they were."""
        decoded: list[tuple[Envelope, Origin]] = []
        for record in records:
            assert record.value is not None
            # Parsed once for the owner check and the envelope: a second parse was a tenth of a
            # rebuild's time.
            doc = orjson.loads(record.value)
            if self._refused(record, doc):
                continue
            envelope = Envelope.from_wire(doc)
            decoded.append((envelope, Origin(record.topic, record.partition, record.offset)))
            if any(key == "traceparent" for key, _ in record.headers or ()):
                # The writer's trace shows the record reached its consumer (the writes are the
                # batch's). Without a trace to continue a span says nothing, and opening one per
                # record was a fifth of a rebuild's time.
                with tracing.consuming(f"apply {envelope.event_type}", record.headers):
                    pass
        streams = sorted({e.stream_id for e, _ in decoded})
        if not streams:
            return
        # Sorted, so two batches sharing streams take their locks in the same order.
        await conn.execute(
            sa.text(
                "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))"
                " FROM (SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS s"
            ),
            {"keys": sorted(f"{self._lock_name}\x1f{s}" for s in streams)},
        )
        versions = {
            stream_id: int(last)
            for stream_id, last in (
                await conn.execute(
                    sa.select(consumer_streams.c.stream_id, consumer_streams.c.last_version).where(
                        consumer_streams.c.consumer == self.name,
                        any_of(consumer_streams.c.stream_id, streams),
                    )
                )
            ).all()
        }
        # Successors parked by earlier batches, and by this one, keyed (stream, version).
        pending: dict[tuple[str, int], tuple[Envelope, Origin, bool]] = {}
        for row in (
            await conn.execute(
                sa.select(
                    parked_events.c.envelope,
                    parked_events.c.topic,
                    parked_events.c.partition,
                    parked_events.c.offset,
                ).where(
                    parked_events.c.consumer == self.name,
                    any_of(parked_events.c.stream_id, streams),
                )
            )
        ).all():
            envelope = Envelope.from_wire(row.envelope)
            key = (envelope.stream_id, envelope.stream_version)
            pending[key] = (envelope, Origin(row.topic, row.partition, row.offset), True)
        applied: list[tuple[Envelope, Origin]] = []
        unparked: list[tuple[str, int]] = []
        moved: dict[str, int] = {}
        duplicates = 0
        for envelope, origin in decoded:
            stream_id, version = envelope.stream_id, envelope.stream_version
            last = versions.get(stream_id, 0)
            if version <= last:
                duplicates += 1
                continue
            if version > last + 1:
                pending.setdefault((stream_id, version), (envelope, origin, False))
                continue
            applied.append((envelope, origin))
            while (nxt := pending.pop((stream_id, version + 1), None)) is not None:
                applied.append((nxt[0], nxt[1]))
                if nxt[2]:
                    unparked.append((stream_id, version + 1))
                version += 1
            versions[stream_id] = moved[stream_id] = version
        await self.projection.apply_many(conn, [e for e, _ in applied])
        await _RECORD_CONSUMED.execute(
            conn,
            (
                {
                    "consumer": self.name,
                    "event_id": e.event_id,
                    "topic": o.topic,
                    "partition": o.partition,
                    "offset": o.offset,
                    "outcome": "applied",
                }
                for e, o in applied
            ),
        )
        await _MOVE_VERSIONS.execute(
            conn,
            ({"consumer": self.name, "stream_id": s, "last_version": v} for s, v in moved.items()),
        )
        if unparked:
            await conn.execute(
                parked_events.delete().where(
                    parked_events.c.consumer == self.name,
                    sa.tuple_(parked_events.c.stream_id, parked_events.c.stream_version).in_(
                        unparked
                    ),
                )
            )
        still_parked = [(e, o) for e, o, stored in pending.values() if not stored]
        if still_parked:
            await conn.execute(
                insert(parked_events).on_conflict_do_nothing(),
                [
                    {
                        "consumer": self.name,
                        "stream_id": e.stream_id,
                        "stream_version": e.stream_version,
                        "topic": o.topic,
                        "partition": o.partition,
                        "offset": o.offset,
                        "envelope": e.to_wire(),
                    }
                    for e, o in still_parked
                ],
            )
        APPLIED.labels(self.name, "applied").inc(len(applied))
        APPLIED.labels(self.name, "duplicate").inc(duplicates)
        APPLIED.labels(self.name, "parked").inc(len(still_parked))

    async def _process_alone(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """One record per transaction, and each parked successor on its own too: whatever fails
        for a reason of its own is that record's, and only it is dead-lettered."""
        ready = await self._settle(self._ready_streams, {"work": "ready"})
        if not isinstance(ready, Poison):
            for stream_id, _ in ready:
                await self._drain_alone(stream_id)
        for record in records:
            about = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
            outcome = await self._settle(functools.partial(self._handle, record=record), about)
            if isinstance(outcome, Poison):
                await self._dead_letter(record, outcome.error)
                identity = _identity(record.value)
                if identity is not None:
                    await self._drain_alone(identity.stream_id)
            elif outcome is not None:
                await self._drain_alone(outcome[0])

    async def _settle(
        self, work: Callable[[AsyncConnection], Awaitable[T]], about: dict[str, Any]
    ) -> T | Poison:
        """Run `work` in a transaction until it commits, or until it failed `max_attempts` times
        for a reason of its own. An unreachable database or broker, or a lost race, is not the
        work's fault: waited out with bounded exponential backoff, however long it takes."""
        attempt = waits = 0
        while True:
            try:
                async with self._begin() as conn:
                    return await work(conn)
            except Exception as exc:
                unavailable = is_unavailable(exc)
                if unavailable or is_transient(exc) or lost_race(exc):
                    waits += 1
                    reason = "unavailable" if unavailable else "conflict"
                    WAITS.labels(self.name, reason).inc()
                    if self.stopping.is_set():
                        raise Stopping(self.name) from exc
                    if not unavailable and waits <= QUICK_CONFLICT_RETRIES:
                        await asyncio.sleep(random.uniform(0, 0.005 * waits))
                        continue
                    delay = self._backoff(waits)
                    log.warning(
                        "consumer.waiting",
                        consumer=self.name,
                        reason=reason,
                        waits=waits,
                        delay=round(delay, 3),
                        error=repr(exc),
                        **about,
                    )
                    await self._sleep(delay)
                    continue
                attempt += 1
                log.warning(
                    "consumer.retry", consumer=self.name, attempt=attempt, error=repr(exc), **about
                )
                if attempt >= self.max_attempts:
                    return Poison(exc)
                await self._sleep(self.retry_backoff * attempt)

    def _backoff(self, waits: int) -> float:
        ceiling = min(self.max_backoff, self.retry_backoff * 2 ** min(waits, 20))
        return random.uniform(ceiling / 2, ceiling)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    def _refused(self, record: ConsumerRecord[bytes, bytes], doc: Any = None) -> bool:
        """Whether the record is refused as not its topic owner's fact.

        Only the owner may state its facts: a record on its topic that claims another producer,
        or another service's event type, was written by someone else (a compromised or
        misconfigured client). Applying nothing of it keeps the stream's versions for the
        owner's real events; the metric and the log tell the operator. `doc` is the record's
        value already parsed, if it was."""
        owner = self.owners.get(record.topic)
        refused = _foreign(record, owner) if doc is None else _foreign_doc(doc, owner)
        if refused is None:
            return False
        REFUSED.labels(self.name, record.topic, refused).inc()
        log.warning(
            "consumer.refused",
            consumer=self.name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=refused,
        )
        return True

    async def _handle(
        self, conn: AsyncConnection, record: ConsumerRecord[bytes, bytes]
    ) -> tuple[str, int] | None:
        """Apply, park or skip one record; (stream, version) when it was applied in order, so the
        caller drains the parked successors."""
        assert record.value is not None
        if self._refused(record):
            return None
        envelope = Envelope.from_bytes(record.value)
        origin = Origin(record.topic, record.partition, record.offset)
        last = await self._last_version(conn, envelope.stream_id)
        if envelope.stream_version <= last:
            if _replayed(record) and await self._dead_lettered(conn, envelope):
                with tracing.consuming(f"replay {envelope.event_type}", record.headers):
                    await self._reapply(conn, envelope, origin)
                return None
            APPLIED.labels(self.name, "duplicate").inc()
            return None
        if envelope.stream_version > last + 1:
            await conn.execute(
                insert(parked_events)
                .values(
                    consumer=self.name,
                    stream_id=envelope.stream_id,
                    stream_version=envelope.stream_version,
                    topic=origin.topic,
                    partition=origin.partition,
                    offset=origin.offset,
                    envelope=envelope.to_wire(),
                )
                .on_conflict_do_nothing()
            )
            APPLIED.labels(self.name, "parked").inc()
            return None
        with tracing.consuming(f"apply {envelope.event_type}", record.headers):
            await self._apply(conn, envelope, origin)
        return envelope.stream_id, envelope.stream_version

    async def _apply(self, conn: AsyncConnection, envelope: Envelope, origin: Origin) -> None:
        await self.projection.apply(conn, envelope)
        await conn.execute(
            consumed_events.insert().values(
                consumer=self.name,
                event_id=envelope.event_id,
                topic=origin.topic,
                partition=origin.partition,
                offset=origin.offset,
                outcome="applied",
            )
        )
        await self._set_version(conn, envelope.stream_id, envelope.stream_version)
        APPLIED.labels(self.name, "applied").inc()

    async def _dead_lettered(self, conn: AsyncConnection, envelope: Envelope) -> bool:
        outcome = await conn.scalar(
            sa.select(consumed_events.c.outcome).where(
                consumed_events.c.consumer == self.name,
                consumed_events.c.event_id == envelope.event_id,
            )
        )
        return outcome == "dead_lettered"

    async def _reapply(self, conn: AsyncConnection, envelope: Envelope, origin: Origin) -> None:
        """A replayed dead letter: applied now, late (its successors went on without it), and
        marked applied in the same transaction, so a second replay is a duplicate."""
        await self.projection.apply(conn, envelope)
        await conn.execute(
            consumed_events.update()
            .where(
                consumed_events.c.consumer == self.name,
                consumed_events.c.event_id == envelope.event_id,
            )
            .values(
                outcome="applied",
                topic=origin.topic,
                partition=origin.partition,
                offset=origin.offset,
                consumed_at=sa.func.now(),
            )
        )
        APPLIED.labels(self.name, "replayed").inc()
        log.info(
            "consumer.replayed",
            consumer=self.name,
            event_id=str(envelope.event_id),
            stream_id=envelope.stream_id,
            stream_version=envelope.stream_version,
        )

    async def _next_parked(
        self, conn: AsyncConnection, stream_id: str, version: int
    ) -> tuple[Envelope, Origin] | None:
        row = (
            await conn.execute(
                parked_events.delete()
                .where(
                    parked_events.c.consumer == self.name,
                    parked_events.c.stream_id == stream_id,
                    parked_events.c.stream_version == version + 1,
                )
                .returning(
                    parked_events.c.envelope,
                    parked_events.c.topic,
                    parked_events.c.partition,
                    parked_events.c.offset,
                )
            )
        ).first()
        if row is None:
            return None
        return Envelope.from_wire(row.envelope), Origin(row.topic, row.partition, row.offset)

    async def _drain_stream(self, conn: AsyncConnection, stream_id: str, version: int) -> None:
        """Apply parked successors of `version` in order, as far as they are contiguous."""
        while (parked := await self._next_parked(conn, stream_id, version)) is not None:
            await self._apply(conn, *parked)
            version += 1

    async def _drain_alone(self, stream_id: str) -> None:
        """Apply the stream's parked successors one transaction each; a poison one is
        dead-lettered itself and the ones behind it go on."""
        while True:

            async def next_one(conn: AsyncConnection) -> bool:
                last = await self._last_version(conn, stream_id)
                parked = await self._next_parked(conn, stream_id, last)
                if parked is None:
                    return False
                await self._apply(conn, *parked)
                return True

            about = {"stream_id": stream_id, "work": "parked"}
            outcome = await self._settle(next_one, about)
            if outcome is False:
                return
            if isinstance(outcome, Poison) and not await self._dead_letter_parked(
                stream_id, outcome.error
            ):
                return  # it could not even be set aside: left parked, tried again next batch

    async def _ready_streams(self, conn: AsyncConnection) -> list[tuple[str, int]]:
        """Streams whose parked successor's predecessor was settled (e.g. dead-lettered)."""
        ready = await conn.execute(
            sa.select(consumer_streams.c.stream_id, consumer_streams.c.last_version)
            .join(
                parked_events,
                sa.and_(
                    parked_events.c.consumer == consumer_streams.c.consumer,
                    parked_events.c.stream_id == consumer_streams.c.stream_id,
                    parked_events.c.stream_version == consumer_streams.c.last_version + 1,
                ),
            )
            .where(consumer_streams.c.consumer == self.name)
        )
        return [(stream_id, int(last)) for stream_id, last in ready.all()]

    async def _last_version(self, conn: AsyncConnection, stream_id: str) -> int:
        # Serialise instances applying the same stream (e.g. during a rebalance) with a
        # transaction-scoped advisory lock: unlike a row lock it assigns no transaction id, so a
        # policy's append stays the first write of the transaction, as the relay's order needs.
        await conn.execute(
            sa.select(
                sa.func.pg_advisory_xact_lock(
                    sa.func.hashtextextended(f"{self._lock_name}\x1f{stream_id}", 0)
                )
            )
        )
        last = await conn.scalar(
            sa.select(consumer_streams.c.last_version).where(
                consumer_streams.c.consumer == self.name,
                consumer_streams.c.stream_id == stream_id,
            )
        )
        return int(last or 0)

    async def _set_version(self, conn: AsyncConnection, stream_id: str, version: int) -> None:
        await conn.execute(
            insert(consumer_streams)
            .values(consumer=self.name, stream_id=stream_id, last_version=version)
            .on_conflict_do_update(
                index_elements=["consumer", "stream_id"], set_={"last_version": version}
            )
        )

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: BaseException | None
    ) -> None:
        await self._send_dead_letter(
            record.topic,
            record.partition,
            record.offset,
            record.key,
            record.value,
            list(record.headers or ()),
            error,
        )
        # Recorded by the envelope's identity, which reads even when its payload does not decode
        # or upcast: the stream moves on, and a replay after the fix finds it dead-lettered.
        identity = _identity(record.value)
        if identity is None:
            return  # not an envelope at all: there is no stream to move on

        async def settle(conn: AsyncConnection) -> None:
            last = await self._last_version(conn, identity.stream_id)
            await self._mark_dead(
                conn, identity.event_id, Origin(record.topic, record.partition, record.offset)
            )
            if identity.stream_version == last + 1:
                await self._set_version(conn, identity.stream_id, identity.stream_version)

        await self._settle(settle, {"work": "dead_letter", "offset": record.offset})

    async def _dead_letter_parked(self, stream_id: str, error: BaseException) -> bool:
        """The parked next version of the stream is the poison: it goes to the DLQ (as it came,
        with its origin), and the stream moves on past it."""

        async def take(conn: AsyncConnection) -> tuple[Envelope, Origin] | None:
            last = await self._last_version(conn, stream_id)
            parked = await self._next_parked(conn, stream_id, last)
            if parked is None:
                return None
            envelope, origin = parked
            await self._send_dead_letter(
                origin.topic,
                origin.partition,
                origin.offset,
                envelope.partition_key.encode(),
                envelope.to_bytes(),
                [
                    ("event_type", envelope.event_type.encode()),
                    ("schema_version", str(envelope.schema_version).encode()),
                    ("event_id", str(envelope.event_id).encode()),
                ],
                error,
            )
            await self._mark_dead(conn, envelope.event_id, origin)
            await self._set_version(conn, stream_id, envelope.stream_version)
            return parked

        taken = await self._settle(take, {"work": "dead_letter_parked", "stream_id": stream_id})
        return not isinstance(taken, Poison)

    async def _mark_dead(self, conn: AsyncConnection, event_id: UUID, origin: Origin) -> None:
        await conn.execute(
            insert(consumed_events)
            .values(
                consumer=self.name,
                event_id=event_id,
                topic=origin.topic,
                partition=origin.partition,
                offset=origin.offset,
                outcome="dead_lettered",
            )
            .on_conflict_do_nothing()
        )

    async def _send_dead_letter(
        self,
        origin_topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        error: BaseException | None,
    ) -> None:
        headers = [
            *headers,
            ("origin_topic", origin_topic.encode()),
            ("origin_partition", str(partition).encode()),
            ("origin_offset", str(offset).encode()),
            ("consumer", self.name.encode()),
            ("error", repr(error)[:1000].encode()),
        ]
        waits = 0
        while True:
            try:
                producer_ = await self._dlq()
                await (
                    await producer_.send(dlq(origin_topic), value=value, key=key, headers=headers)
                )
                break
            except Exception as exc:
                # The record is no less poison for the broker being away: wait for it.
                if not is_unavailable(exc) or self.stopping.is_set():
                    raise
                waits += 1
                WAITS.labels(self.name, "unavailable").inc()
                log.warning(
                    "consumer.dlq_waiting", consumer=self.name, waits=waits, error=repr(exc)
                )
                await self._close_dlq()
                await self._sleep(self._backoff(waits))
        DEAD.labels(self.name, origin_topic).inc()
        log.error(
            "consumer.dead_lettered",
            consumer=self.name,
            topic=origin_topic,
            partition=partition,
            offset=offset,
            error=repr(error),
        )

    async def _dlq(self) -> AIOKafkaProducer:
        if self._dlq_producer is None:
            self._dlq_producer = producer(self.kafka, client_id=f"{self.name}-dlq")
            await self._dlq_producer.start()
        return self._dlq_producer

    async def _close_dlq(self) -> None:
        if self._dlq_producer is not None:
            with contextlib.suppress(Exception):
                await self._dlq_producer.stop()
            self._dlq_producer = None

    async def _measure_lag(self, kafka_consumer: AIOKafkaConsumer) -> None:
        totals: dict[str, int] = {}
        for tp in kafka_consumer.assignment():
            high = kafka_consumer.highwater(tp)
            if high is None:
                continue
            behind = max(0, high - await kafka_consumer.position(tp))
            totals[tp.topic] = totals.get(tp.topic, 0) + behind
        for name, behind in totals.items():
            LAG.labels(self.name, name).set(behind)
        self.lag = totals

    async def rebuild(self, progress: Progress | None = None, swap_attempts: int = 5) -> int:
        """Rebuild the projection beside the live one, then swap: the live tables (and this
        consumer's bookkeeping) keep serving, and the live instance keeps applying, until one
        short transaction replaces them. Returns the number of records read.

        A builder consumer reads every source topic from its beginning into the shadow tables.
        The swap then locks the live tables (the live instance's next write waits), reads on to
        the topics' ends as they are now (everything the live instance can have applied), and
        copies the shadow over the live rows. Should the live instance have read its last
        version before the swap, its write fails on the event's recorded id and it finds a
        duplicate when it tries again."""
        shadow = Shadow(
            self.name,
            self.projection.tables,
            scoped=[consumer_streams, consumed_events, parked_events],
            consumer=self.name,
        )
        async with self.engine.begin() as conn:
            await shadow.create(conn)
        builder = Consumer(
            self.engine,
            self.projection,
            self.kafka,
            sources=self.sources,
            group_id=self.group_id,
            max_attempts=self.max_attempts,
            retry_backoff=self.retry_backoff,
            max_backoff=self.max_backoff,
        )
        builder.shadow = shadow
        builder._lock_name = f"{self.name}\x1frebuild"
        builder.stopping = self.stopping
        try:
            async with _topic_reader(self.kafka, self.name, self.topics) as reader:
                read = await builder._read_to_end(reader, builder.process, progress)
                for attempt in range(1, swap_attempts + 1):
                    marks = {tp: await reader.position(tp) for tp in reader.assignment()}
                    try:
                        async with builder._begin() as conn:
                            await shadow.lock_live(conn)

                            async def apply(
                                records: Sequence[ConsumerRecord[bytes, bytes]],
                                conn: AsyncConnection = conn,
                            ) -> None:
                                await builder._apply_all(conn, records)

                            read += await builder._read_to_end(reader, apply)
                            await shadow.swap(conn)
                        break
                    except Exception as exc:
                        if attempt == swap_attempts:
                            raise
                        # What the swap read is rolled back with it: read it again the ordinary
                        # way (a poison record is dead-lettered there), then swap again.
                        log.warning(
                            "consumer.rebuild_swap_retry", consumer=self.name, error=repr(exc)
                        )
                        for tp, at in marks.items():
                            reader.seek(tp, at)
                        read += await builder._read_to_end(reader, builder.process)
        finally:
            await builder._close_dlq()
            async with self.engine.begin() as conn:
                await shadow.drop(conn)
        return read

    async def catch_up(self, progress: Progress | None = None) -> int:
        """Read every source topic from its beginning to its current end, outside the consumer
        group, applying what was not applied yet. Returns the number of records read."""
        try:
            async with _topic_reader(self.kafka, self.name, self.topics) as reader:
                return await self._read_to_end(reader, self.process, progress)
        finally:
            await self._close_dlq()

    async def _read_to_end(
        self,
        reader: AIOKafkaConsumer,
        apply: Callable[[Sequence[ConsumerRecord[bytes, bytes]]], Awaitable[None]],
        progress: Progress | None = None,
    ) -> int:
        partitions = sorted(reader.assignment(), key=lambda tp: (tp.topic, tp.partition))
        # The listed ends are what progress is reported against, not where to stop (read_through).
        ends = await reader.end_offsets(partitions)
        positions = {tp: await reader.position(tp) for tp in partitions}
        pending = set(partitions)
        total = sum(max(0, ends[tp] - positions[tp]) for tp in partitions)
        read = 0
        if progress is not None:
            progress(0, total)
        while pending:
            batches = await reader.getmany(*pending, timeout_ms=200, max_records=5000)
            records = [r for part in batches.values() for r in part]
            if records:
                await apply(records)
                read += len(records)
                if progress is not None:
                    progress(read, max(total, read))
            pending = {tp for tp in pending if not await read_through(reader, tp, ends[tp])}
        return read


@asynccontextmanager
async def _topic_reader(
    kafka: KafkaSettings, name: str, topics: Sequence[str]
) -> AsyncIterator[AIOKafkaConsumer]:
    """A reader of every partition of `topics` from the beginning, outside any consumer group."""
    reader = kafka_reader(kafka, client_id=f"{name}-catch-up")
    await reader.start()
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in sorted(await _partitions(reader, t))
        ]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        yield reader
    finally:
        await reader.stop()


def _replayed(record: ConsumerRecord[bytes, bytes]) -> bool:
    return any(key == REPLAYED_FROM for key, _ in (record.headers or ()))


async def _partitions(reader: AIOKafkaConsumer, topic_name: str) -> set[int]:
    await reader._client.force_metadata_update()
    return reader.partitions_for_topic(topic_name) or set()


@dataclass(frozen=True)
class Identity:
    event_id: UUID
    stream_id: str
    stream_version: int


def _identity(raw: bytes | None) -> Identity | None:
    """Which event of which stream a record is, read without its payload."""
    try:
        doc = orjson.loads(raw or b"")
        return Identity(UUID(doc["event_id"]), str(doc["stream_id"]), int(doc["stream_version"]))
    except Exception:
        return None


def _foreign(record: ConsumerRecord[bytes, bytes], owner: str | None) -> str | None:
    """Why a record is not its topic owner's fact (None when it is, or when it cannot be read:
    an unreadable record is poison, dead-lettered the usual way)."""
    try:
        doc = orjson.loads(record.value or b"")
    except Exception:
        return None
    return _foreign_doc(doc, owner)


def _foreign_doc(doc: Any, owner: str | None) -> str | None:
    """`_foreign` of a record's value already parsed."""
    try:
        producer, event_type = str(doc["producer"]), str(doc["event_type"])
    except Exception:
        return None
    if owner is None:
        return "topic"
    if producer != owner:
        return "producer"
    if event_type.partition(".")[0] != owner:
        return "event_type"
    return None


def describe(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    """A readable view of a record (for the CLI's tail and DLQ inspection)."""
    headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
    try:
        body: Any = orjson.loads(record.value or b"null")
    except orjson.JSONDecodeError:
        body = (record.value or b"").decode(errors="replace")
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": (record.key or b"").decode(errors="replace"),
        "headers": headers,
        "value": body,
    }
