"""The relay: publishes committed events from a service's store to its Kafka topic.

- Commit-safe order: reads only rows whose transaction and all earlier ones have ended
  (`EventStore.read_committed`), in (txid, position) order; the checkpoint is that pair.
- At-least-once: the checkpoint moves only after the broker acknowledged (acks=all) the batch; a
  relay killed mid-batch republishes from the last checkpoint and consumers absorb the repeats.
- One active relay per service: a session advisory lock on a dedicated connection; a standby relay
  keeps trying and takes over when the holder's connection goes away.
- `rewind()` resets the checkpoint: the active relay then republishes the whole store (how a lost
  topic is rebuilt after a broker restart).
- Woken by commits: the store notifies on every transaction that adds events, so an idle relay
  polls once a second, not fifty times. After a wake it keeps polling briefly, because a
  commit's rows may still wait behind an older open transaction and no further notification
  will come for them.
- Withheld data (see `registry.withholds`): a stored event whose version carries data some
  consumers must not see goes out at its newest version (without it) on the service's topic, and
  the fact carrying that data on the side topic. The side facts of a stream form a stream of
  their own (`<stream>.<channel>`, numbered 1, 2, ... in the stored stream's order, derived from
  the store, and with an event id derived from the stored one), so a republish sends the same
  records again and consumers see them as the duplicates they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from dataclasses import replace
from uuid import UUID, uuid5

import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yidi_events import registry
from yidi_events.envelope import Envelope
from yidi_events.failpoints import crash_point
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.store.event_store import EventStore, StoredEvent
from yidi_events.store.schema import NOTIFY_CHANNEL, events, relay_checkpoints
from yidi_events.topics import topic

log = structlog.get_logger(__name__)

PUBLISHED = Counter("yidi_relay_published_total", "Events the relay published", ["service"])
BACKLOG = Gauge("yidi_relay_backlog", "Stored events not yet published", ["service"])


class Relay:
    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        kafka: KafkaSettings,
        *,
        service: str,
        batch_size: int = 1000,
        idle_interval: float = 0.02,
        quiet_interval: float = 1.0,
    ) -> None:
        self.engine = engine
        self.store = store
        self.kafka = kafka
        self.service = service
        self.topic = topic(service, kafka.namespace)
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.quiet_interval = quiet_interval
        self.lock_key = zlib.crc32(f"yidi-relay:{service}".encode())
        self.active = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Stand by until this relay holds the lock, then publish until `stop` is set."""
        while not stop.is_set():
            async with self.engine.connect() as lock_conn:
                if await self._try_lock(lock_conn):
                    self.active.set()
                    log.info("relay.active", service=self.service)
                    try:
                        await self._publish_loop(stop, lock_conn)
                    finally:
                        self.active.clear()
                        with contextlib.suppress(Exception):
                            await lock_conn.execute(
                                sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.lock_key}
                            )
                            await lock_conn.commit()
                    continue
            await _sleep_or_stop(stop, 0.5)

    async def _try_lock(self, conn: AsyncConnection) -> bool:
        got = await conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.lock_key})
        await conn.commit()
        return bool(got)

    async def _publish_loop(self, stop: asyncio.Event, lock_conn: AsyncConnection) -> None:
        await self.ensure_checkpoint()
        wake = asyncio.Event()
        listener = (await lock_conn.get_raw_connection()).driver_connection
        assert listener is not None

        def woken(*_: object) -> None:
            wake.set()

        await listener.add_listener(NOTIFY_CHANNEL, woken)
        kafka_producer = producer(self.kafka, client_id=f"{self.service}-relay")
        await kafka_producer.start()
        loop = asyncio.get_running_loop()
        busy_until = 0.0
        try:
            while not stop.is_set():
                wake.clear()  # before reading: a commit during the read wakes the next wait
                published = await self.publish_once(kafka_producer)
                if published >= self.batch_size:
                    continue
                if published:
                    busy_until = loop.time() + self.quiet_interval
                if loop.time() < busy_until:
                    await _sleep_or_stop(stop, self.idle_interval)
                    continue
                if await _wait_for_either(wake, stop, self.quiet_interval):
                    busy_until = loop.time() + self.quiet_interval
                else:
                    # The lock lives as long as its connection: prove the connection still does.
                    await lock_conn.execute(sa.text("SELECT 1"))
                    await lock_conn.commit()
        finally:
            await kafka_producer.stop()
            with contextlib.suppress(Exception):
                await listener.remove_listener(NOTIFY_CHANNEL, woken)

    async def publish_once(self, kafka_producer: AIOKafkaProducer) -> int:
        async with self.engine.connect() as conn:
            after = await self._checkpoint(conn)
            batch = await self.store.read_committed(conn, after, self.batch_size)
            sides = await _side_versions(conn, batch)
            await conn.rollback()
        if not batch:
            BACKLOG.labels(self.service).set(0)
            return 0
        await self._send(kafka_producer, batch, sides)
        crash_point(f"relay.after_send.{self.service}")
        last = batch[-1]
        async with self.engine.begin() as conn:
            # Compare-and-set: if an operator rewound the checkpoint meanwhile, the rewind wins.
            await conn.execute(
                relay_checkpoints.update()
                .where(
                    relay_checkpoints.c.name == self.service,
                    relay_checkpoints.c.txid == after[0],
                    relay_checkpoints.c.position == after[1],
                )
                .values(txid=last.txid, position=last.position, updated_at=sa.func.now())
            )
        PUBLISHED.labels(self.service).inc(len(batch))
        return len(batch)

    async def _send(
        self,
        kafka_producer: AIOKafkaProducer,
        batch: list[StoredEvent],
        sides: dict[UUID, int],
    ) -> None:
        deliveries = []
        for stored in batch:
            for name, env in self._records(stored.envelope, sides):
                headers = [
                    ("event_type", env.event_type.encode()),
                    ("schema_version", str(env.schema_version).encode()),
                    ("event_id", str(env.event_id).encode()),
                ]
                if stored.trace_parent:
                    headers.append(("traceparent", stored.trace_parent.encode()))
                deliveries.append(
                    await kafka_producer.send(
                        name,
                        value=env.to_bytes(),
                        key=env.partition_key.encode(),
                        headers=headers,
                    )
                )
        await asyncio.gather(*deliveries)

    def _records(self, env: Envelope, sides: dict[UUID, int]) -> list[tuple[str, Envelope]]:
        """The (topic, envelope) records one stored event is published as."""
        withheld = registry.withheld(env.event_type, env.schema_version)
        if withheld is None:
            return [(self.topic, env)]
        latest = registry.spec(env.event_type)
        public = replace(
            env,
            schema_version=latest.version,
            payload=registry.decode(
                env.event_type, env.schema_version, registry.encode(env.payload)
            ),
        )
        fact = withheld.side(env.payload)
        side_spec = registry.spec_of(fact)
        assert side_spec.channel is not None, f"{side_spec.event_type} names no side channel"
        side = replace(
            env,
            event_id=uuid5(env.event_id, side_spec.channel),
            event_type=side_spec.event_type,
            schema_version=side_spec.version,
            stream_id=f"{env.stream_id}.{side_spec.channel}",
            stream_version=sides[env.event_id],
            partition_key=side_spec.partition_key(fact),
            causation_id=env.event_id,
            payload=fact,
        )
        side_topic = topic(side_spec.source, self.kafka.namespace)
        return [(self.topic, public), (side_topic, side)]

    async def ensure_checkpoint(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(relay_checkpoints)
                .values(name=self.service, txid=0, position=0)
                .on_conflict_do_nothing(index_elements=["name"])
            )

    async def _checkpoint(self, conn: AsyncConnection) -> tuple[int, int]:
        row = (
            await conn.execute(
                sa.select(relay_checkpoints.c.txid, relay_checkpoints.c.position).where(
                    relay_checkpoints.c.name == self.service
                )
            )
        ).first()
        return (row.txid, row.position) if row else (0, 0)

    async def backlog(self) -> int:
        async with self.engine.connect() as conn:
            txid, position = await self._checkpoint(conn)
            count = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(events)
                .where(sa.tuple_(events.c.txid, events.c.position) > sa.tuple_(txid, position))
            )
        BACKLOG.labels(self.service).set(count or 0)
        return int(count or 0)

    async def rewind(self) -> None:
        """Republish everything: the active relay starts again from the first stored event."""
        async with self.engine.begin() as conn:
            await conn.execute(
                relay_checkpoints.update()
                .where(relay_checkpoints.c.name == self.service)
                .values(txid=0, position=0, updated_at=sa.func.now())
            )


async def _side_versions(conn: AsyncConnection, batch: list[StoredEvent]) -> dict[UUID, int]:
    """Each withheld stored event's place among its stream's withheld events (1, 2, ...): the
    version of its side fact. Counted in the store, so a republish numbers them the same."""
    withheld = registry.withheld_versions()
    wanted = [
        s.envelope for s in batch if (s.envelope.event_type, s.envelope.schema_version) in withheld
    ]
    if not wanted:
        return {}
    ranked = (
        sa.select(
            events.c.event_id,
            sa.func.row_number()
            .over(partition_by=events.c.stream_id, order_by=events.c.stream_version)
            .label("place"),
        )
        .where(
            events.c.stream_id.in_({e.stream_id for e in wanted}),
            sa.tuple_(events.c.event_type, events.c.schema_version).in_(withheld),
        )
        .subquery()
    )
    rows = await conn.execute(
        sa.select(ranked.c.event_id, ranked.c.place).where(
            ranked.c.event_id.in_([e.event_id for e in wanted])
        )
    )
    return {event_id: int(place) for event_id, place in rows.all()}


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _wait_for_either(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> bool:
    """Wait until woken or stopped, at most `seconds`; True if something happened."""
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    done, pending = await asyncio.wait(
        waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
    )
    for waiter in pending:
        waiter.cancel()
    return bool(done)
