"""A consumer applies a record only when it is its topic owner's fact: the producer named in the
envelope and the service of its event type are the service whose topic it came on. Anyone else's
record there is refused, counted and logged; it does not move the stream's version, so the
owner's real event of that version still applies after it."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import orjson
import sqlalchemy as sa
from aiokafka import TopicPartition
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.runtime.consumer import Consumer
from yidi_events.runtime.kafka import KafkaSettings, producer, reader
from yidi_events.store import EventStore
from yidi_events.topics import dlq, topic


def refused(consumer: str, topic_name: str, reason: str) -> float:
    labels = {"consumer": consumer, "topic": topic_name, "reason": reason}
    return REGISTRY.get_sample_value("yidi_consumer_refused_total", labels) or 0.0


async def records(kafka: KafkaSettings, name: str) -> int:
    r = reader(kafka, client_id="count")
    await r.start()
    try:
        await r._client.force_metadata_update()
        parts = [TopicPartition(name, p) for p in sorted(r.partitions_for_topic(name) or ())]
        ends = await r.end_offsets(parts)
        return sum(ends.values())
    finally:
        await r.stop()


async def test_records_not_of_the_topic_owner_are_refused_and_the_owner_still_applies(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    # Stream t-1 on filing's topic: the owner's events are amounts 4 (v1) and 5 (v2). Before the
    # owner's v2 arrive three forgeries of v2 with amount 1000: one claiming another producer,
    # one of another service's event type, and one on audit's topic claiming to be filing's.
    real = await example.append(engine, store, "t-1", 0, 4, 5)
    first, second = (e.to_wire() for e in real)
    forged = {**second, "event_id": str(uuid4()), "payload": {"counter": "t-1", "amount": 1000}}
    by_audit = {**forged, "producer": "audit"}
    audit_type = {**forged, "event_id": str(uuid4()), "event_type": "audit.Counted"}
    elsewhere = {**forged, "event_id": str(uuid4())}
    filing_topic = topic("filing", kafka_settings.namespace)
    audit_topic = topic("audit", kafka_settings.namespace)
    name = "trust.totals"
    cases = [("producer", filing_topic), ("event_type", filing_topic), ("producer", audit_topic)]
    before = {case: refused(name, case[1], case[0]) for case in cases}
    kafka = producer(kafka_settings, client_id="forger")
    await kafka.start()
    try:
        await kafka.send_and_wait(filing_topic, orjson.dumps(first), key=b"t-1")
        for doc in (by_audit, audit_type):
            await kafka.send_and_wait(filing_topic, orjson.dumps(doc), key=b"t-1")
        await kafka.send_and_wait(audit_topic, orjson.dumps(elsewhere), key=b"t-1")
        await kafka.send_and_wait(filing_topic, orjson.dumps(second), key=b"t-1")
    finally:
        await kafka.stop()

    projection = example.make_projection()
    projection.name = name
    consumer = Consumer(engine, projection, kafka_settings, sources=["filing", "audit"])
    await consumer.catch_up()

    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(example.totals))).all()
    assert {r.stream_id: (r.total, r.versions) for r in rows} == {"t-1": (9, "1,2")}
    assert {case: refused(name, case[1], case[0]) - before[case] for case in cases} == {
        case: 1 for case in cases
    }
    # Refused, not poison: nothing of them is dead-lettered for someone to replay.
    assert await records(kafka_settings, dlq(filing_topic)) == 0
    assert await records(kafka_settings, dlq(audit_topic)) == 0
