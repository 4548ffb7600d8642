"""Issue 19, faults: a consumer loses nothing to an unreachable database, dead-letters the record
that is the poison, re-applies a replayed dead letter once, and a rebuild (own or consumed) under
live writers loses nothing and never holds readers up. Real PostgreSQL and broker throughout."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import uuid4

import orjson
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yidi_cli import topics as tops
from yidi_events import registry
from yidi_events.db import is_unavailable
from yidi_events.envelope import Envelope
from yidi_events.kernel import DomainError
from yidi_events.runtime.consumer import WAITS, Consumer, lost_race
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.runtime.projection import Projection, rebuild_from_store
from yidi_events.runtime.relay import Relay
from yidi_events.store import EventStore, NewEvent
from yidi_events.store.schema import consumed_events, consumer_streams, parked_events
from yidi_events.topics import dlq, topic
from yidi_stack.infra import Infra


async def read_topic(kafka: KafkaSettings, name: str) -> list[Any]:
    return list(await tops.read(kafka, name, from_beginning=True, limit=None))


async def totals_of(engine: AsyncEngine, example: Any) -> dict[str, tuple[int, int, str]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(example.totals))).all()
    return {r.stream_id: (r.total, r.applied, r.versions) for r in rows}


async def start_producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    p = producer(kafka, client_id="test")
    await p.start()
    return p


async def outcomes(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(consumed_events.c.outcome, sa.func.count()).group_by(
                    consumed_events.c.outcome
                )
            )
        ).all()
    return {outcome: int(n) for outcome, n in rows}


async def snapshot(engine: AsyncEngine, projection: Projection) -> dict[str, Any]:
    async with engine.connect() as conn:
        return await projection.snapshot(conn)


def waits(consumer: str, reason: str) -> float:
    return WAITS.labels(consumer, reason)._value.get()


# --- what counts as an outage ----------------------------------------------------------------


def test_connection_errors_are_unavailability_and_a_refusal_is_not() -> None:
    lost = OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused"))
    assert is_unavailable(lost)
    assert is_unavailable(ConnectionResetError())
    assert is_unavailable(TimeoutError())
    assert is_unavailable(KafkaConnectionError("broker away"))
    assert is_unavailable(KafkaTimeoutError())
    wrapped = RuntimeError("while applying")
    wrapped.__cause__ = lost
    assert is_unavailable(wrapped)
    assert not is_unavailable(ValueError("the example refuses 666"))
    assert not is_unavailable(KeyError("payload.amount"))
    assert not is_unavailable(PermissionError(13, "denied"))
    refusal = DomainError("example.refused", "the example refuses it", field="amount")
    refusal.__cause__ = TimeoutError()
    assert not is_unavailable(refusal)


async def test_a_connection_lost_mid_apply_is_waited_out_not_dead_lettered(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    # The handler kills its own database connection the first four times it sees amount 13:
    # more failures than the poison limit (3), each one a real lost connection.
    await example.append(engine, store, "w-1", 0, 1, 13, 5)
    await example.append(engine, store, "w-2", 0, 7)
    projection = example.make_projection()
    inner = projection.handlers["filing.Counted"]
    kills = 0

    async def dropping(conn: AsyncConnection, env: Envelope) -> None:
        nonlocal kills
        if env.payload.amount == 13 and kills < 4:
            kills += 1
            await conn.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        await inner(conn, env)

    projection.handlers["filing.Counted"] = dropping
    kafka = await start_producer(kafka_settings)
    try:
        await Relay(engine, store, kafka_settings, service="filing").publish_once(kafka)
    finally:
        await kafka.stop()
    consumer = Consumer(engine, projection, kafka_settings, sources=["filing"], retry_backoff=0.01)
    before = waits(consumer.name, "unavailable")
    await consumer.catch_up()

    assert kills == 4
    # The first loss ends the batch; the record alone then waits out the other three.
    assert waits(consumer.name, "unavailable") - before == 3
    assert await totals_of(engine, example) == {"w-1": (19, 3, "1,2,3"), "w-2": (7, 1, "1")}
    assert await outcomes(engine) == {"applied": 4}
    assert await read_topic(kafka_settings, dlq(topic("filing", kafka_settings.namespace))) == []


async def test_an_event_recorded_by_another_instance_first_is_a_lost_race(
    engine: AsyncEngine,
) -> None:
    row = {"consumer": "c", "event_id": uuid4(), "topic": "t", "partition": 0, "offset": 0}
    async with engine.begin() as conn:
        await conn.execute(consumed_events.insert().values(**row, outcome="applied"))
    with pytest.raises(IntegrityError) as caught:
        async with engine.begin() as conn:
            await conn.execute(consumed_events.insert().values(**row, outcome="applied"))
    assert lost_race(caught.value)
    assert not is_unavailable(caught.value)
    assert not lost_race(ValueError("the example refuses 666"))


# --- the right record is dead-lettered --------------------------------------------------------


async def test_when_the_parked_successor_is_the_poison_it_is_the_one_dead_lettered(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    # Versions 2 (the poison) and 3 arrive first and park; version 1 releases them.
    envelopes = await example.append(engine, store, "q-1", 0, 1, example.poison, 5)
    kafka = await start_producer(kafka_settings)
    name = topic("filing", kafka_settings.namespace)
    try:
        for env in (envelopes[1], envelopes[2], envelopes[0]):
            await kafka.send_and_wait(name, env.to_bytes(), key=b"q-1")
    finally:
        await kafka.stop()
    consumer = Consumer(
        engine, example.make_projection(), kafka_settings, sources=["filing"], retry_backoff=0.01
    )
    await consumer.catch_up()

    assert await totals_of(engine, example) == {"q-1": (6, 2, "1,3")}
    [dead] = await read_topic(kafka_settings, dlq(name))
    letter = Envelope.from_bytes(dead.value)
    assert (letter.stream_id, letter.stream_version) == ("q-1", 2)
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["origin_topic"] == name
    assert headers["origin_offset"] == "0"  # where version 2 was read, not version 1
    assert "refuses 666" in headers["error"]
    async with engine.connect() as conn:
        dead_ids = (
            (
                await conn.execute(
                    sa.select(consumed_events.c.event_id).where(
                        consumed_events.c.outcome == "dead_lettered"
                    )
                )
            )
            .scalars()
            .all()
        )
        parked = await conn.scalar(sa.select(sa.func.count()).select_from(parked_events))
    assert dead_ids == [envelopes[1].event_id]
    assert parked == 0


# --- a replayed dead letter is applied once ---------------------------------------------------


async def test_a_dead_letter_replayed_after_the_fix_is_applied_exactly_once(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    await example.append(engine, store, "d-1", 0, 1, example.poison, 5)
    kafka = await start_producer(kafka_settings)
    try:
        await Relay(engine, store, kafka_settings, service="filing").publish_once(kafka)
    finally:
        await kafka.stop()
    name = topic("filing", kafka_settings.namespace)
    broken = Consumer(
        engine, example.make_projection(), kafka_settings, sources=["filing"], retry_backoff=0.01
    )
    await broken.catch_up()
    assert await totals_of(engine, example) == {"d-1": (6, 2, "1,3")}

    # The code change: the same consumer now accepts 666. The operator replays the dead letter
    # twice (`yidi dlq replay filing`, run two times).
    fixed = Consumer(
        engine,
        example.make_projection(refuse_poison=False),
        kafka_settings,
        sources=["filing"],
        retry_backoff=0.01,
    )
    letters = await tops.dead_letters(kafka_settings, dlq(name))
    assert len(letters) == 1
    await tops.replay(kafka_settings, letters)
    await tops.replay(kafka_settings, letters)
    await fixed.catch_up()

    # 1 + 5 + 666, each once; 666 last, since its successor went on without it.
    assert await totals_of(engine, example) == {"d-1": (672, 3, "1,3,2")}
    assert await outcomes(engine) == {"applied": 3}
    assert len(await read_topic(kafka_settings, dlq(name))) == 1  # not dead-lettered again

    # A plain republish of the topic does not revive anything: applied once is applied once.
    await fixed.catch_up()
    assert await totals_of(engine, example) == {"d-1": (672, 3, "1,3,2")}


async def test_a_dead_letter_replayed_after_an_upcaster_is_added_is_applied_exactly_once(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    # Version 2 of the stream comes in an older schema (0, "amt" for "amount") that no upcaster
    # reads yet: it cannot be decoded. Versions 1 and 3 are current.
    counted = await example.append(engine, store, "v-1", 0, 1, 5)
    old = {**counted[0].to_wire(), "event_id": str(uuid4()), "stream_version": 2}
    old |= {"schema_version": 0, "payload": {"counter": "v-1", "amt": 7}}
    third = {**counted[1].to_wire(), "stream_version": 3}
    kafka = await start_producer(kafka_settings)
    name = topic("filing", kafka_settings.namespace)
    try:
        for doc in (counted[0].to_wire(), old, third):
            await kafka.send_and_wait(name, orjson.dumps(doc), key=b"v-1")
    finally:
        await kafka.stop()
    consumer = Consumer(
        engine, example.make_projection(), kafka_settings, sources=["filing"], retry_backoff=0.01
    )
    await consumer.catch_up()
    # Dead-lettered by its identity (the payload never decoded), so version 3 was not held up.
    assert await totals_of(engine, example) == {"v-1": (6, 2, "1,3")}
    assert await outcomes(engine) == {"applied": 2, "dead_lettered": 1}

    registry.upcaster("filing.Counted", 0)(
        lambda data: {"counter": data["counter"], "amount": data["amt"]}
    )
    try:
        letters = await tops.dead_letters(kafka_settings, dlq(name))
        assert len(letters) == 1
        await tops.replay(kafka_settings, letters)
        await tops.replay(kafka_settings, letters)
        await consumer.catch_up()
    finally:
        registry._upcasters.pop(("filing.Counted", 0))

    assert await totals_of(engine, example) == {"v-1": (13, 3, "1,3,2")}
    assert await outcomes(engine) == {"applied": 3}


# --- rebuilds under live writers -------------------------------------------------------------


async def write_and_project(
    engine: AsyncEngine, store: EventStore, projection: Projection, new: NewEvent, version: int
) -> None:
    """What the write path does: append, then project the service's own events, one transaction
    (with a pause between, so the transaction is often open across the rebuild's reads)."""
    async with engine.begin() as conn:
        envelopes = await store.append(conn, new.payload.counter, version, [new])
        await asyncio.sleep(random.uniform(0, 0.01))
        for env in envelopes:
            await projection.apply(conn, env)


async def test_an_own_projection_rebuilt_under_concurrent_writers_loses_nothing_and_reads_go_on(
    engine: AsyncEngine, store: EventStore, example: Any
) -> None:
    projection = example.make_projection()
    # History: 30 streams of amounts 1..50 (1275 each), the live projection built from it.
    for k in range(30):
        await example.append(engine, store, f"h-{k}", 0, *range(1, 51))
    assert await rebuild_from_store(engine, store, projection) == 1500

    # A writer whose transaction stays open across the whole rebuild: appended, not projected yet
    # (it holds back the snapshot horizon); another commits after it, above that horizon.
    held = await engine.connect()
    held_txn = await held.begin()
    x = NewEvent(example.Counted(counter="x", amount=1000), date(2026, 3, 1))
    held_envelopes = await store.append(held, "x", 0, [x])
    y = NewEvent(example.Counted(counter="y", amount=2000), date(2026, 3, 1))
    await write_and_project(engine, store, projection, y, 0)

    streams = ["s-0", "s-1", "s-2"]
    versions = dict.fromkeys(streams, 0)
    expected = dict.fromkeys(streams, 0)
    seen: list[int] = []
    slowest = {"read": 0.0, "write": 0.0}
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def read() -> None:
        while not done.is_set():
            started = loop.time()
            async with engine.connect() as conn:
                applied = await conn.scalar(sa.select(sa.func.sum(example.totals.c.applied)))
            slowest["read"] = max(slowest["read"], loop.time() - started)
            seen.append(int(applied or 0))
            await asyncio.sleep(0.005)

    async def write() -> None:
        n = 0
        while not done.is_set():
            n += 1
            stream = streams[n % 3]
            new = NewEvent(example.Counted(counter=stream, amount=n), date(2026, 3, 1))
            started = loop.time()
            await write_and_project(engine, store, projection, new, versions[stream])
            slowest["write"] = max(slowest["write"], loop.time() - started)
            versions[stream] += 1
            expected[stream] += n

    tasks = [asyncio.create_task(read()), asyncio.create_task(write())]
    await asyncio.sleep(0.1)
    started = loop.time()
    rebuilt = await rebuild_from_store(engine, store, projection, batch=25)
    took = loop.time() - started
    await asyncio.sleep(0.1)
    done.set()
    await asyncio.gather(*tasks)
    for env in held_envelopes:  # the held writer projects its own event and commits, last
        await projection.apply(held, env)
    await held_txn.commit()
    await held.close()

    assert rebuilt >= 1501
    assert sum(versions.values()) > 0, "no writer committed during the rebuild"
    totals = await totals_of(engine, example)
    assert {s: t[0] for s, t in totals.items()} == {
        **{f"h-{k}": 1275 for k in range(30)},
        "x": 1000,
        "y": 2000,
        **{s: expected[s] for s in streams if versions[s]},
    }
    assert {s: t[1] for s, t in totals.items() if s in streams} == {
        s: v for s, v in versions.items() if v
    }
    # Readers never saw an event go missing, and neither they nor the writers waited on the
    # rebuild (the swap holds writers off for a moment; readers not at all).
    assert seen == sorted(seen), "a reader saw fewer applied events than before"
    assert slowest["read"] < took / 3, (slowest, took)
    assert slowest["write"] < took / 3, (slowest, took)
    live = await snapshot(engine, projection)
    assert await rebuild_from_store(engine, store, projection) == 1502 + sum(versions.values())
    assert await snapshot(engine, projection) == live


async def test_a_consumed_projection_rebuilt_beside_its_live_consumer_loses_nothing(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    projection = example.make_projection()
    relay = Relay(engine, store, kafka_settings, service="filing")
    live = Consumer(engine, projection, kafka_settings, sources=["filing"], group_id="live")
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(live.run(stop))]
    expected = 0
    try:
        for n in range(40):
            await example.append(engine, store, f"c-{n % 5}", n // 5, n)
            expected += n
        rebuilding = asyncio.create_task(
            Consumer(engine, projection, kafka_settings, sources=["filing"]).rebuild()
        )
        for n in range(40, 80):  # more traffic while it rebuilds
            await example.append(engine, store, f"c-{n % 5}", n // 5, n)
            expected += n
            await asyncio.sleep(0.01)
        await rebuilding
        for _ in range(300):
            totals = await totals_of(engine, example)
            if sum(t[1] for t in totals.values()) >= 80:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything applied twice would show by now
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    totals = await totals_of(engine, example)
    assert sum(t[0] for t in totals.values()) == expected == sum(range(80))
    assert {s: t[1] for s, t in totals.items()} == {f"c-{n}": 16 for n in range(5)}
    for stream, (_, _, order) in totals.items():
        assert order == ",".join(str(v) for v in range(1, 17)), stream
    assert await outcomes(engine) == {"applied": 80}
    async with engine.connect() as conn:
        lasts = (await conn.execute(sa.select(consumer_streams.c.last_version))).scalars().all()
        schemas = (
            await conn.execute(
                sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'")
            )
        ).all()
    assert sorted(lasts) == [16] * 5
    assert schemas == []  # the shadow is gone
    live_rows = await snapshot(engine, projection)
    await Consumer(engine, projection, kafka_settings, sources=["filing"]).rebuild()
    assert await snapshot(engine, projection) == live_rows


# --- PostgreSQL stopped while a consumer applies a stream ------------------------------------


async def test_postgres_stopped_while_a_consumer_applies_loses_nothing_and_dead_letters_nothing(
    engine: AsyncEngine,
    store: EventStore,
    kafka_settings: KafkaSettings,
    example: Any,
    infra: Infra,
) -> None:
    if infra.stop_postgres is None or infra.start_postgres is None:
        pytest.fail(f"the {infra.kind} test infrastructure cannot stop PostgreSQL")
    for n in range(60):
        await example.append(engine, store, f"f-{n % 3}", n // 3, n + 1)
    kafka = await start_producer(kafka_settings)
    try:
        await Relay(engine, store, kafka_settings, service="filing").publish_once(kafka)
    finally:
        await kafka.stop()

    projection = example.make_projection()
    inner = projection.handlers["filing.Counted"]
    applying = asyncio.Event()

    async def slow(conn: AsyncConnection, env: Envelope) -> None:
        applying.set()
        await asyncio.sleep(0.02)  # a batch takes long enough to be cut in the middle
        await inner(conn, env)

    projection.handlers["filing.Counted"] = slow
    consumer = Consumer(
        engine,
        projection,
        kafka_settings,
        sources=["filing"],
        group_id="faults",
        retry_backoff=0.05,
        max_backoff=1.0,
    )
    before = waits(consumer.name, "unavailable")
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(applying.wait(), timeout=30)
        await asyncio.to_thread(infra.stop_postgres)
        await asyncio.sleep(3.0)  # the consumer keeps trying against a database that is gone
        await asyncio.to_thread(infra.start_postgres)
        for _ in range(300):
            with_db = await totals_of(engine, example)
            if sum(t[1] for t in with_db.values()) >= 60:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await running

    assert waits(consumer.name, "unavailable") > before  # it did meet the outage
    totals = await totals_of(engine, example)
    assert {s: t[0] for s, t in totals.items()} == {
        f"f-{k}": sum(n + 1 for n in range(60) if n % 3 == k) for k in range(3)
    }
    assert {s: t[2] for s, t in totals.items()} == {
        f"f-{k}": ",".join(str(v) for v in range(1, 21)) for k in range(3)
    }
    assert await outcomes(engine) == {"applied": 60}
    assert await read_topic(kafka_settings, dlq(topic("filing", kafka_settings.namespace))) == []
    live = await snapshot(engine, projection)
    projection.handlers["filing.Counted"] = inner
    await Consumer(engine, projection, kafka_settings, sources=["filing"]).rebuild()
    assert await snapshot(engine, projection) == live


async def test_a_read_to_the_end_takes_all_of_a_last_batch_longer_than_one_answer(
    engine: AsyncEngine, kafka_settings: KafkaSettings, example: Any
) -> None:
    """Tansu lists a partition's end as its last batch's base offset + 1. A read whose answer
    (at most 5,000 records) stopped inside that batch took the partition as read and left the
    rest of the batch unapplied; rebuilds of 20,000 events came out short, without an error."""
    name = topic("filing", kafka_settings.namespace)
    tp = TopicPartition(name, 0)
    writer = AIOKafkaProducer(
        bootstrap_servers=kafka_settings.bootstrap, linger_ms=500, max_batch_size=1 << 20
    )
    await writer.start()
    try:
        sent = [await writer.send(name, b"%d" % n, partition=0) for n in range(6000)]
        await asyncio.gather(*sent)  # one batch of 6,000
    finally:
        await writer.stop()
    reader = AIOKafkaConsumer(bootstrap_servers=kafka_settings.bootstrap, enable_auto_commit=False)
    await reader.start()
    got: list[int] = []

    async def keep(records: Sequence[Any]) -> None:
        got.extend(int(r.value) for r in records)

    try:
        reader.assign([tp])
        await reader.seek_to_beginning(tp)
        consumer = Consumer(engine, example.make_projection(), kafka_settings, sources=["filing"])
        assert await consumer._read_to_end(reader, keep) == 6000
    finally:
        await reader.stop()
    assert got == list(range(6000))
