"""Topics are created with their declared settings on a real broker, never the broker's default
retention: events are kept for ever (consumers rebuild from them), dead letters two weeks."""

from __future__ import annotations

from typing import Any

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from yidi_events.runtime.kafka import KafkaSettings, admin, ensure_topics
from yidi_events.topics import all_topics, declared

TWO_WEEKS_MS = 14 * 24 * 60 * 60 * 1000


async def _configs(kafka: KafkaSettings, names: list[str]) -> dict[str, dict[str, str]]:
    client = admin(kafka)
    await client.start()
    try:
        answers: Any = await client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    finally:
        await client.close()
    found: dict[str, dict[str, str]] = {}
    for answer in answers:
        for resource in answer.resources:
            # (error_code, error_message, resource_type, resource_name, config_entries)
            name, entries = resource[3], resource[4]
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def test_every_topic_is_created_with_its_declared_retention(kafka_settings: Any) -> None:
    kafka: KafkaSettings = kafka_settings
    events = f"{kafka.namespace}.settlement.events"
    assert await ensure_topics(kafka) == []  # the fixture created them all: nothing is missing
    configs = await _configs(kafka, [events, f"{events}.dlq"])
    assert configs[events]["retention.ms"] == "-1"
    assert configs[f"{events}.dlq"]["retention.ms"] == str(TWO_WEEKS_MS)
    # One broker: one copy, and acks=all must still be writable.
    assert configs[events]["min.insync.replicas"] == "1"


def test_the_declaration_covers_every_topic_and_asks_for_three_copies_in_production() -> None:
    specs = {s.name: s for s in declared()}
    assert set(specs) == set(all_topics())
    events = specs["yidi.clearing.events"]
    assert (events.partitions, events.replicas, events.retention_ms) == (6, 3, -1)
    assert events.config() == {
        "retention.ms": "-1",
        "min.insync.replicas": "2",
        "cleanup.policy": "delete",
    }
    assert specs["yidi.clearing.events.dlq"].retention_ms == TWO_WEEKS_MS
