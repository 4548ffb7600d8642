"""The idempotent consumer: Kafka -> a projection, exactly once in effect.

For each record, in the same transaction as the projection change, it records the event id with
its topic/partition/offset and advances the stream's last applied version:
- a version at or below the last applied one is a duplicate (redelivery, republish): a no-op;
- a version beyond the next one is parked until the missing ones arrive, then applied in order;
- a record that keeps failing after bounded retries goes to `<topic>.dlq` with its origin in the
  headers, is marked dead-lettered, and the partition keeps flowing.
Kafka offsets are committed after the database commit; they only save work on restart, the
database decides what was applied. Records are applied in batches, one transaction per batch;
if a batch fails it is replayed one record per transaction to isolate the culprit.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from prometheus_client import Counter, Gauge
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yidi_events import tracing
from yidi_events.db import is_transient
from yidi_events.envelope import Envelope
from yidi_events.failpoints import crash_point
from yidi_events.runtime.kafka import KafkaSettings, consumer, producer
from yidi_events.runtime.projection import Progress, Projection
from yidi_events.store.schema import consumed_events, consumer_streams, parked_events
from yidi_events.topics import dlq, topic

log = structlog.get_logger(__name__)

APPLIED = Counter("yidi_consumer_events_total", "Records by outcome", ["consumer", "outcome"])
DEAD = Counter("yidi_consumer_dead_lettered_total", "Records sent to a DLQ", ["consumer", "topic"])
LAG = Gauge("yidi_consumer_lag", "Records behind the end of the topic", ["consumer", "topic"])


TRANSIENT_RETRIES = 50


@dataclass(frozen=True)
class Origin:
    topic: str
    partition: int
    offset: int


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
    ) -> None:
        self.engine = engine
        self.projection = projection
        self.kafka = kafka
        self.name = projection.name
        self.topics = [topic(s, kafka.namespace) for s in sources]
        self.group_id = group_id or projection.name
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self._dlq_producer: AIOKafkaProducer | None = None
        self.lag: dict[str, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        kafka_consumer = consumer(
            self.kafka, *self.topics, group_id=self.group_id, client_id=self.name
        )
        await kafka_consumer.start()
        try:
            while not stop.is_set():
                batches = await kafka_consumer.getmany(timeout_ms=100, max_records=1000)
                records = [r for part in batches.values() for r in part]
                if records:
                    await self.process(records)
                    with contextlib.suppress(CommitFailedError, KafkaError):
                        await kafka_consumer.commit()
                await self._measure_lag(kafka_consumer)
        finally:
            await kafka_consumer.stop()
            await self._close_dlq()

    async def process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply records (from one poll, partition order preserved) to the projection."""
        try:
            async with self.engine.begin() as conn:
                await self._drain_ready(conn)
                for record in records:
                    await self._handle(conn, record)
                crash_point(f"consumer.before_commit.{self.name}")
        except Exception:
            for record in records:
                await self._handle_alone(record)

    async def _handle_alone(self, record: ConsumerRecord[bytes, bytes]) -> None:
        error: BaseException | None = None
        attempt = conflicts = 0
        while attempt < self.max_attempts:
            try:
                async with self.engine.begin() as conn:
                    await self._handle(conn, record)
                return
            except Exception as exc:
                error = exc
                # Losing a race to a concurrent writer says nothing about the record: try again
                # (boundedly) without counting it towards the poison limit.
                if is_transient(exc) and conflicts < TRANSIENT_RETRIES:
                    conflicts += 1
                    await asyncio.sleep(random.uniform(0, 0.005 * conflicts))
                    continue
                attempt += 1
                log.warning(
                    "consumer.retry",
                    consumer=self.name,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    attempt=attempt,
                    error=repr(exc),
                )
                await asyncio.sleep(self.retry_backoff * attempt)
        await self._dead_letter(record, error)

    async def _handle(self, conn: AsyncConnection, record: ConsumerRecord[bytes, bytes]) -> None:
        assert record.value is not None
        envelope = Envelope.from_bytes(record.value)
        origin = Origin(record.topic, record.partition, record.offset)
        last = await self._last_version(conn, envelope.stream_id)
        if envelope.stream_version <= last:
            APPLIED.labels(self.name, "duplicate").inc()
            return
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
            return
        with tracing.consuming(f"apply {envelope.event_type}", record.headers):
            await self._apply(conn, envelope, origin)
        await self._drain_stream(conn, envelope.stream_id, envelope.stream_version)

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

    async def _drain_stream(self, conn: AsyncConnection, stream_id: str, version: int) -> None:
        """Apply parked successors of `version` in order, as far as they are contiguous."""
        while True:
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
                return
            envelope = Envelope.from_wire(row.envelope)
            await self._apply(conn, envelope, Origin(row.topic, row.partition, row.offset))
            version += 1

    async def _drain_ready(self, conn: AsyncConnection) -> None:
        """Parked events whose predecessor was settled (e.g. dead-lettered) since they parked."""
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
        for stream_id, last in ready.all():
            await self._drain_stream(conn, stream_id, last)

    async def _last_version(self, conn: AsyncConnection, stream_id: str) -> int:
        # Serialise instances applying the same stream (e.g. during a rebalance) with a
        # transaction-scoped advisory lock: unlike a row lock it assigns no transaction id, so a
        # policy's append stays the first write of the transaction, as the relay's order needs.
        await conn.execute(
            sa.select(
                sa.func.pg_advisory_xact_lock(
                    sa.func.hashtextextended(f"{self.name}\x1f{stream_id}", 0)
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
        headers = [
            *(record.headers or ()),
            ("origin_topic", record.topic.encode()),
            ("origin_partition", str(record.partition).encode()),
            ("origin_offset", str(record.offset).encode()),
            ("consumer", self.name.encode()),
            ("error", repr(error)[:1000].encode()),
        ]
        producer_ = await self._dlq()
        await (
            await producer_.send(
                dlq(record.topic), value=record.value, key=record.key, headers=headers
            )
        )
        DEAD.labels(self.name, record.topic).inc()
        log.error(
            "consumer.dead_lettered",
            consumer=self.name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=repr(error),
        )
        envelope = _try_decode(record.value)
        if envelope is None:
            return
        async with self.engine.begin() as conn:
            last = await self._last_version(conn, envelope.stream_id)
            await conn.execute(
                insert(consumed_events)
                .values(
                    consumer=self.name,
                    event_id=envelope.event_id,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    outcome="dead_lettered",
                )
                .on_conflict_do_nothing()
            )
            if envelope.stream_version == last + 1:
                await self._set_version(conn, envelope.stream_id, envelope.stream_version)

    async def _dlq(self) -> AIOKafkaProducer:
        if self._dlq_producer is None:
            self._dlq_producer = producer(self.kafka, client_id=f"{self.name}-dlq")
            await self._dlq_producer.start()
        return self._dlq_producer

    async def _close_dlq(self) -> None:
        if self._dlq_producer is not None:
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

    async def rebuild(self, progress: Progress | None = None) -> int:
        """Reset the projection and this consumer's bookkeeping, then re-read every topic to its
        current end. Safe beside a live instance: whatever one applies first, the other sees as a
        duplicate, or parks until the gap fills."""
        async with self.engine.begin() as conn:
            await self.projection.reset(conn)
            for table in (consumer_streams, consumed_events, parked_events):
                await conn.execute(table.delete().where(table.c.consumer == self.name))
        return await self.catch_up(progress)

    async def catch_up(self, progress: Progress | None = None) -> int:
        """Read every source topic from its beginning to its current end, outside the consumer
        group, applying what was not applied yet. Returns the number of records read."""
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"{self.name}-catch-up",
        )
        await reader.start()
        read = 0
        try:
            partitions = [
                TopicPartition(t, p)
                for t in self.topics
                for p in sorted(await _partitions(reader, t))
            ]
            reader.assign(partitions)
            await reader.seek_to_beginning(*partitions)
            ends = await reader.end_offsets(partitions)
            pending = {tp for tp in partitions if ends[tp] > 0}
            total = 0
            if progress is not None:
                starts = await reader.beginning_offsets(partitions)
                total = sum(ends[tp] - starts[tp] for tp in partitions)
                progress(0, total)
            while pending:
                batches = await reader.getmany(*pending, timeout_ms=200, max_records=5000)
                records = [r for part in batches.values() for r in part]
                if records:
                    await self.process(records)
                    read += len(records)
                    if progress is not None:
                        progress(read, max(total, read))
                for tp in list(pending):
                    if await reader.position(tp) >= ends[tp]:
                        pending.discard(tp)
        finally:
            await reader.stop()
            await self._close_dlq()
        return read


async def _partitions(reader: AIOKafkaConsumer, topic_name: str) -> set[int]:
    await reader._client.force_metadata_update()
    return reader.partitions_for_topic(topic_name) or set()


def _try_decode(raw: bytes | None) -> Envelope | None:
    if raw is None:
        return None
    try:
        return Envelope.from_bytes(raw)
    except Exception:
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
