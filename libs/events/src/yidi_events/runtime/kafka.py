"""Kafka clients configured the one way Yidi uses them.

Producer idempotence is a setting: real Apache Kafka supports it and we turn it on there; the local
Tansu broker rejects aiokafka's InitProducerId, so it stays off locally. Correctness never depends
on it: consumers dedupe by event id and order by stream version.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from yidi_events.topics import PARTITIONS, all_topics


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str
    namespace: str = "yidi"
    idempotence: bool = False
    session_timeout_ms: int = 6000
    partitions: int = PARTITIONS


def producer(settings: KafkaSettings, *, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.idempotence,
        linger_ms=2,
        max_batch_size=1 << 20,
        request_timeout_ms=15000,
    )


def consumer(
    settings: KafkaSettings, *topics: str, group_id: str, client_id: str
) -> AIOKafkaConsumer:
    # JoinGroup waits session_timeout/2 on the local broker: keep the timeout short.
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.bootstrap,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=max(500, settings.session_timeout_ms // 3),
        max_poll_records=500,
        isolation_level="read_committed",
    )


async def ensure_topics(settings: KafkaSettings) -> list[str]:
    """Create every Yidi topic (and DLQ) of the namespace that does not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in all_topics(settings.namespace) if t not in existing]
        for name in missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(name, num_partitions=settings.partitions, replication_factor=1)]
                )
        return missing
    finally:
        await admin.close()
