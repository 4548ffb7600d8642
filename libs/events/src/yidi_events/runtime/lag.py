"""How far each consumer group of a service is behind its source topics, as the broker sees it
(committed offsets against end offsets): what `yidi lag` shows through the admin API."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition

from yidi_events.runtime.consumer import Consumer
from yidi_events.runtime.kafka import KafkaSettings
from yidi_events.runtime.kafka import reader as kafka_reader


@dataclass(frozen=True)
class Lag:
    group: str
    topic: str
    committed: int
    end: int

    @property
    def behind(self) -> int:
        return max(0, self.end - self.committed)


async def consumer_lag(kafka: KafkaSettings, consumer: Consumer) -> list[Lag]:
    """Per topic of a consumer group: the sum of committed offsets and of end offsets. A
    partition the group never committed counts from its beginning (what it would read)."""
    reader = kafka_reader(kafka, client_id="yidi-lag", group_id=consumer.group_id)
    await reader.start()
    try:
        found: list[Lag] = []
        for topic_name in consumer.topics:
            await reader._client.force_metadata_update()
            parts = [
                TopicPartition(topic_name, p)
                for p in sorted(reader.partitions_for_topic(topic_name) or ())
            ]
            if not parts:
                continue
            starts = await reader.beginning_offsets(parts)
            ends = await reader.end_offsets(parts)
            committed = 0
            for tp in parts:
                offset = await reader.committed(tp)
                committed += starts[tp] if offset is None else offset
            found.append(Lag(consumer.group_id, topic_name, committed, sum(ends.values())))
        return found
    finally:
        await reader.stop()
