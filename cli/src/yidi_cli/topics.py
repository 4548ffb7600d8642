"""Reading topics the way an operator needs to: a window of records, the DLQ, consumer lag, and
putting a dead-lettered record back on its origin topic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from yidi_events.runtime.consumer import REPLAYED_FROM, describe
from yidi_events.runtime.kafka import KafkaSettings, producer, read_through
from yidi_events.runtime.kafka import reader as kafka_reader

Record: TypeAlias = ConsumerRecord[bytes, bytes]

# Headers the consumer adds when it dead-letters a record; a replay drops them so the origin
# topic carries the record as the relay first published it.
DLQ_HEADERS = frozenset({"origin_topic", "origin_partition", "origin_offset", "consumer", "error"})


def _reader(kafka: KafkaSettings, client_id: str, group_id: str | None = None) -> AIOKafkaConsumer:
    return kafka_reader(kafka, client_id=client_id, group_id=group_id)


async def _partitions(reader: AIOKafkaConsumer, topic_name: str) -> list[TopicPartition]:
    await reader._client.force_metadata_update()
    return [
        TopicPartition(topic_name, p) for p in sorted(reader.partitions_for_topic(topic_name) or ())
    ]


async def read(
    kafka: KafkaSettings, topic_name: str, *, from_beginning: bool, limit: int | None
) -> list[Record]:
    """Records of a topic up to its current end, oldest first: the first `limit` from the
    beginning, or (by default) the last `limit` of each partition merged by time and cut to the
    last `limit` overall."""
    reader = _reader(kafka, "yidi-cli-tail")
    await reader.start()
    try:
        parts = await _partitions(reader, topic_name)
        if not parts:
            return []
        reader.assign(parts)
        starts = await reader.beginning_offsets(parts)
        ends = await reader.end_offsets(parts)
        for tp in parts:
            begin = starts[tp]
            if not from_beginning and limit is not None:
                begin = max(begin, ends[tp] - limit)
            reader.seek(tp, begin)
        records: list[Record] = []
        pending = set(parts)
        while pending:
            batches = await reader.getmany(*pending, timeout_ms=200, max_records=5000)
            # Whole fetched batches are kept: a broker may list the end as the last batch's
            # first offset + 1 (the local Tansu broker does), and cutting there hides records.
            for batch in batches.values():
                records.extend(batch)
            pending = {tp for tp in pending if not await read_through(reader, tp, ends[tp])}
            if from_beginning and limit is not None and len(records) >= limit * len(parts):
                break
    finally:
        await reader.stop()
    records.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
    if limit is None:
        return records
    return records[:limit] if from_beginning else records[-limit:]


def readable(record: Record) -> dict[str, Any]:
    """One record as an operator reads it: where it is, what happened, to which stream."""
    seen = describe(record)
    value = seen["value"]
    event: dict[str, Any] = value if isinstance(value, dict) else {}
    payload = event.get("payload")
    return {
        "partition": record.partition,
        "offset": record.offset,
        "key": seen["key"],
        "event_type": event.get("event_type", seen["headers"].get("event_type", "?")),
        "stream_id": event.get("stream_id"),
        "stream_version": event.get("stream_version"),
        "business_date": event.get("business_date"),
        "fields": key_fields(payload) if isinstance(payload, dict) else {},
        "headers": seen["headers"],
        "raw": None if event.get("event_type") else value,
    }


def key_fields(payload: dict[str, Any], most: int = 6) -> dict[str, Any]:
    """The payload's identifying and money fields first (ids, regions, periods, fen amounts),
    then other short scalars, up to `most`: enough to recognise the fact without the whole body."""

    def rank(name: str) -> int:
        if name.endswith("_id") or name.endswith("_code"):
            return 0
        if "region" in name or name in ("period", "pair", "status"):
            return 1
        if name.endswith("_fen") or "amount" in name or "total" in name:
            return 2
        return 3

    scalars = {
        k: v
        for k, v in payload.items()
        if isinstance(v, str | int | bool) and not (isinstance(v, str) and len(v) > 40)
    }
    ordered = sorted(scalars, key=lambda k: (rank(k), list(payload).index(k)))
    return {k: scalars[k] for k in ordered[:most]}


@dataclass(frozen=True)
class DeadLetter:
    record: Record

    @property
    def headers(self) -> dict[str, str]:
        return {k: v.decode(errors="replace") for k, v in (self.record.headers or ())}

    def view(self) -> dict[str, Any]:
        seen = readable(self.record)
        h = self.headers
        return {
            "partition": self.record.partition,
            "offset": self.record.offset,
            "key": seen["key"],
            "event_type": seen["event_type"],
            "stream_id": seen["stream_id"],
            "stream_version": seen["stream_version"],
            "origin": f"{h.get('origin_topic')}[{h.get('origin_partition')}]@{h.get('origin_offset')}",
            "origin_topic": h.get("origin_topic"),
            "consumer": h.get("consumer"),
            "error": h.get("error"),
        }


async def dead_letters(kafka: KafkaSettings, dlq_topic: str) -> list[DeadLetter]:
    return [DeadLetter(r) for r in await read(kafka, dlq_topic, from_beginning=True, limit=None)]


async def replay(kafka: KafkaSettings, letters: Sequence[DeadLetter]) -> list[tuple[str, int, int]]:
    """Publish each dead letter again to its origin topic with its key and original headers (plus
    where it was replayed from). The consumer that dead-lettered it applies it now, once (its
    bookkeeping turns the event from dead-lettered to applied, so a second replay is absorbed);
    consumers that applied it already see a duplicate; one that never saw it applies it."""
    sent: list[tuple[str, int, int]] = []
    kafka_producer = producer(kafka, client_id="yidi-cli-dlq-replay")
    await kafka_producer.start()
    try:
        for letter in letters:
            origin = letter.headers.get("origin_topic")
            if not origin:
                raise ValueError(
                    f"DLQ record {letter.record.partition}@{letter.record.offset} names no origin topic"
                )
            headers = [(k, v) for k, v in (letter.record.headers or ()) if k not in DLQ_HEADERS]
            headers.append(
                (
                    REPLAYED_FROM,
                    f"{letter.record.topic}[{letter.record.partition}]@{letter.record.offset}".encode(),
                )
            )
            meta = await (
                await kafka_producer.send(
                    origin, value=letter.record.value, key=letter.record.key, headers=headers
                )
            )
            sent.append((origin, meta.partition, meta.offset))
    finally:
        await kafka_producer.stop()
    return sent
