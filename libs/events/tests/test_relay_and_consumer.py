"""The relay and the idempotent consumer against the real PostgreSQL and broker."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date
from typing import Any
from uuid import uuid4

import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.envelope import Envelope
from yidi_events.runtime.consumer import Consumer
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.runtime.relay import Relay
from yidi_events.store import EventStore, NewEvent
from yidi_events.store.schema import consumed_events
from yidi_events.topics import dlq, topic


async def read_topic(kafka: KafkaSettings, name: str) -> list[Any]:
    """Every record on a topic right now, in partition order."""
    reader = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        await reader._client.force_metadata_update()
        parts = [TopicPartition(name, p) for p in sorted(reader.partitions_for_topic(name) or ())]
        reader.assign(parts)
        await reader.seek_to_beginning(*parts)
        ends = await reader.end_offsets(parts)
        records: list[Any] = []
        while [tp for tp in parts if await reader.position(tp) < ends[tp]]:
            batch = await reader.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
        return records
    finally:
        await reader.stop()


async def published_amounts(kafka: KafkaSettings) -> list[tuple[str, int, int]]:
    records = await read_topic(kafka, topic("filing", kafka.namespace))
    envelopes = [Envelope.from_bytes(r.value) for r in records]
    return sorted((e.stream_id, e.stream_version, e.payload.amount) for e in envelopes)


async def start_producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    p = producer(kafka, client_id="test")
    await p.start()
    return p


async def totals_of(engine: AsyncEngine, example: Any) -> dict[str, tuple[int, int, str]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(example.totals))).all()
    return {r.stream_id: (r.total, r.applied, r.versions) for r in rows}


async def test_relay_never_publishes_past_a_position_held_by_an_open_transaction(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    relay = Relay(engine, store, kafka_settings, service="filing")
    await relay.ensure_checkpoint()
    kafka = await start_producer(kafka_settings)
    try:
        await example.append(engine, store, "before", 0, 1)
        async with engine.connect() as held:
            # The lower position: appended first, its transaction still open.
            txn = await held.begin()
            gap = NewEvent(example.Counted(counter="gap", amount=2), date(2026, 3, 1))
            await store.append(held, "gap", 0, [gap])
            await example.append(engine, store, "after", 0, 3)  # committed, but past the gap

            assert await relay.publish_once(kafka) == 1
            assert await relay.publish_once(kafka) == 0
            assert await published_amounts(kafka_settings) == [("before", 1, 1)]

            await txn.commit()
        assert await relay.publish_once(kafka) == 2
        assert await published_amounts(kafka_settings) == [
            ("after", 1, 3),
            ("before", 1, 1),
            ("gap", 1, 2),
        ]
        assert await relay.backlog() == 0
    finally:
        await kafka.stop()


async def test_relay_killed_mid_batch_republishes_and_the_consumer_counts_each_event_once(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    for n in range(5):
        await example.append(engine, store, f"c-{n}", 0, 10, 20)

    class DiesBeforeCheckpoint(Relay):
        async def _send(self, kafka_producer: Any, batch: Any, sides: Any) -> None:
            # Part of the batch reached the broker.
            await super()._send(kafka_producer, batch[:6], sides)
            raise RuntimeError("killed mid-batch")

    kafka = await start_producer(kafka_settings)
    try:
        dying = DiesBeforeCheckpoint(engine, store, kafka_settings, service="filing")
        await dying.ensure_checkpoint()
        with contextlib.suppress(RuntimeError):
            await dying.publish_once(kafka)
        relay = Relay(engine, store, kafka_settings, service="filing")
        assert await relay.publish_once(kafka) == 10  # everything again, from the checkpoint
    finally:
        await kafka.stop()

    assert len(await read_topic(kafka_settings, topic("filing", kafka_settings.namespace))) == 16
    consumer = Consumer(engine, example.make_projection(), kafka_settings, sources=["filing"])
    assert await consumer.catch_up() == 16
    assert await totals_of(engine, example) == {f"c-{n}": (30, 2, "1,2") for n in range(5)}


async def test_the_same_event_republished_at_a_new_offset_is_applied_once(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    await example.append(engine, store, "r-1", 0, 4, 5)
    relay = Relay(engine, store, kafka_settings, service="filing")
    await relay.ensure_checkpoint()
    kafka = await start_producer(kafka_settings)
    consumer = Consumer(engine, example.make_projection(), kafka_settings, sources=["filing"])
    try:
        await relay.publish_once(kafka)
        await consumer.catch_up()
        await relay.rewind()
        assert await relay.publish_once(kafka) == 2  # republished: same events, new offsets
    finally:
        await kafka.stop()
    assert await consumer.catch_up() == 4
    assert await totals_of(engine, example) == {"r-1": (9, 2, "1,2")}
    async with engine.connect() as conn:
        consumed = (await conn.execute(sa.select(consumed_events.c.offset))).scalars().all()
    assert sorted(consumed) == [0, 1]  # recorded once each, at the offsets first applied


async def test_out_of_order_events_of_a_stream_are_applied_in_version_order(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    envelopes = await example.append(engine, store, "o-1", 0, 1, 2, 3)
    kafka = await start_producer(kafka_settings)
    name = topic("filing", kafka_settings.namespace)
    try:
        for env in (envelopes[2], envelopes[0], envelopes[1], envelopes[2]):
            await kafka.send_and_wait(name, env.to_bytes(), key=b"o-1")
    finally:
        await kafka.stop()
    consumer = Consumer(engine, example.make_projection(), kafka_settings, sources=["filing"])
    await consumer.catch_up()
    assert await totals_of(engine, example) == {"o-1": (6, 3, "1,2,3")}


async def test_an_event_without_a_contract_here_is_ordered_and_skipped_not_dead_lettered(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    # Version 2 of the stream is a fact of the producer's own that this consumer has no contract
    # for; versions 1 and 3 are amounts 4 and 5. Sent 3, 2, 1: 3 parks until 1 and 2 are in.
    counted = await example.append(engine, store, "u-1", 0, 4, 5)
    first = counted[0].to_wire()
    unseen = {**first, "event_id": str(uuid4()), "event_type": "filing.Unseen"}
    unseen |= {"stream_version": 2, "payload": {"batch_id": "2026-03"}}
    third = {**counted[1].to_wire(), "stream_version": 3}
    kafka = await start_producer(kafka_settings)
    name = topic("filing", kafka_settings.namespace)
    try:
        for doc in (third, unseen, first):
            await kafka.send_and_wait(name, orjson.dumps(doc), key=b"u-1")
    finally:
        await kafka.stop()
    consumer = Consumer(engine, example.make_projection(), kafka_settings, sources=["filing"])
    await consumer.catch_up()
    assert await totals_of(engine, example) == {"u-1": (9, 2, "1,3")}
    assert await read_topic(kafka_settings, dlq(name)) == []


async def test_a_poison_event_goes_to_the_dlq_with_its_origin_and_later_events_still_flow(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    await example.append(engine, store, "p-1", 0, 1, example.poison, 5)
    await example.append(engine, store, "p-2", 0, 7)
    kafka = await start_producer(kafka_settings)
    name = topic("filing", kafka_settings.namespace)
    try:
        await Relay(engine, store, kafka_settings, service="filing").publish_once(kafka)
        await kafka.send_and_wait(name, b"{not json", key=b"p-3")
    finally:
        await kafka.stop()

    consumer = Consumer(
        engine, example.make_projection(), kafka_settings, sources=["filing"], retry_backoff=0.01
    )
    await consumer.catch_up()

    assert await totals_of(engine, example) == {"p-1": (6, 2, "1,3"), "p-2": (7, 1, "1")}
    dead = await read_topic(kafka_settings, dlq(name))
    assert len(dead) == 2
    headers = {r.key: {k: v.decode() for k, v in r.headers} for r in dead}
    assert headers[b"p-1"]["origin_topic"] == name
    assert headers[b"p-1"]["event_type"] == "filing.Counted"
    assert "refuses 666" in headers[b"p-1"]["error"]
    assert headers[b"p-3"]["origin_topic"] == name
    assert all(headers[k]["origin_offset"].isdigit() for k in headers)
    assert all(headers[k]["origin_partition"].isdigit() for k in headers)


async def test_a_projection_rebuilt_from_scratch_equals_the_live_one(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    for n in range(12):
        await example.append(engine, store, f"b-{n % 4}", n // 4, n)
    relay = Relay(engine, store, kafka_settings, service="filing")
    stop = asyncio.Event()
    projection = example.make_projection()
    live = Consumer(engine, projection, kafka_settings, sources=["filing"], group_id="live")
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(live.run(stop))]
    try:
        for _ in range(200):
            if sum(a for _, a, _ in (await totals_of(engine, example)).values()) == 12:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    async with engine.connect() as conn:
        live_rows = await projection.snapshot(conn)
    assert sum(total for total, _, _ in (await totals_of(engine, example)).values()) == sum(
        range(12)
    )

    assert await Consumer(engine, projection, kafka_settings, sources=["filing"]).rebuild() == 12
    async with engine.connect() as conn:
        assert await projection.snapshot(conn) == live_rows


async def test_only_one_relay_per_service_is_active_and_a_standby_takes_over(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    first = Relay(engine, store, kafka_settings, service="filing")
    second = Relay(engine, store, kafka_settings, service="filing")
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    first_task = asyncio.create_task(first.run(stop_first))
    await asyncio.wait_for(first.active.wait(), timeout=10)
    second_task = asyncio.create_task(second.run(stop_second))
    await asyncio.sleep(1.0)
    assert not second.active.is_set(), "the lock must keep the second relay on standby"

    stop_first.set()
    await first_task
    await asyncio.wait_for(second.active.wait(), timeout=10)
    await example.append(engine, store, "t-1", 0, 42)
    for _ in range(100):
        if await published_amounts(kafka_settings) == [("t-1", 1, 42)]:
            break
        await asyncio.sleep(0.1)
    assert await published_amounts(kafka_settings) == [("t-1", 1, 42)]
    stop_second.set()
    await second_task


async def test_the_republish_command_rewinds_the_relay_to_the_start_of_the_store(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    import subprocess
    import sys

    await example.append(engine, store, "x-1", 0, 1, 2, 3)
    relay = Relay(engine, store, kafka_settings, service="filing")
    await relay.ensure_checkpoint()
    kafka = await start_producer(kafka_settings)
    try:
        assert await relay.publish_once(kafka) == 3
        assert await relay.backlog() == 0
        dsn = engine.url.render_as_string(hide_password=False)
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "yidi_events.ops", "republish", "filing", "--database-url", dsn],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "3 events will be published again" in done.stdout
        assert await relay.publish_once(kafka) == 3
    finally:
        await kafka.stop()


async def test_a_lost_concurrency_race_is_retried_not_dead_lettered(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    from yidi_events.runtime.projection import Projection
    from yidi_events.store import ConcurrencyError

    await example.append(engine, store, "race-1", 0, 5)
    kafka = await start_producer(kafka_settings)
    try:
        await Relay(engine, store, kafka_settings, service="filing").publish_once(kafka)
    finally:
        await kafka.stop()
    inner = example.make_projection()
    races = {"left": 4}
    projection = Projection("example.racing", inner.tables)

    @projection.on(example.Counted)
    async def racing(conn: Any, env: Envelope) -> None:
        if races["left"]:
            races["left"] -= 1
            raise ConcurrencyError(env.stream_id, 0)  # a concurrent writer won this time
        await inner.apply(conn, env)

    consumer = Consumer(engine, projection, kafka_settings, sources=["filing"], max_attempts=1)
    await consumer.catch_up()
    assert await totals_of(engine, example) == {"race-1": (5, 1, "1")}
    assert await read_topic(kafka_settings, dlq(topic("filing", kafka_settings.namespace))) == []
