"""The envelope every fact travels in, in the event store and on Kafka.

The payload inside is a decoded contract object (see `registry`); on the wire the whole envelope
is one JSON document whose `payload` is the contract's JSON form.

A topic carries every fact of its producer, also those only the producer reads, whose contracts
live in the producer's own code. A consumer still decodes each envelope, to order its stream, but
keeps the payload of a type it has no contract for `Opaque`: no projection handles it, and
re-encoding it (a parked event) writes back exactly what arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson

from yidi_events import registry


@dataclass(frozen=True)
class Opaque:
    """The payload of an event type this process has no contract for, as received."""

    data: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Envelope:
    event_id: UUID
    event_type: str
    schema_version: int
    stream_id: str
    stream_version: int
    partition_key: str
    occurred_at: datetime
    business_date: date
    producer: str
    correlation_id: UUID | None
    causation_id: UUID | None
    payload: Any

    def to_wire(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "partition_key": self.partition_key,
            "occurred_at": self.occurred_at.isoformat(),
            "business_date": self.business_date.isoformat(),
            "producer": self.producer,
            "correlation_id": str(self.correlation_id) if self.correlation_id else None,
            "causation_id": str(self.causation_id) if self.causation_id else None,
            "payload": (
                self.payload.data
                if isinstance(self.payload, Opaque)
                else registry.encode(self.payload)
            ),
        }

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_wire())

    @classmethod
    def from_wire(cls, doc: dict[str, Any]) -> Envelope:
        """Decode a wire document, upcasting the payload to its newest schema version (or keeping
        it `Opaque`, at the version it came in, when this process has no contract for its type)."""
        event_type = doc["event_type"]
        version = int(doc["schema_version"])
        payload: Any
        if registry.known(event_type):
            payload = registry.decode(event_type, version, doc["payload"])
            version = registry.spec(event_type).version
        else:
            payload = Opaque(doc["payload"])
        correlation, causation = doc.get("correlation_id"), doc.get("causation_id")
        return cls(
            event_id=UUID(doc["event_id"]),
            event_type=event_type,
            schema_version=version,
            stream_id=doc["stream_id"],
            stream_version=int(doc["stream_version"]),
            partition_key=doc["partition_key"],
            occurred_at=datetime.fromisoformat(doc["occurred_at"]),
            business_date=date.fromisoformat(doc["business_date"]),
            producer=doc["producer"],
            correlation_id=UUID(correlation) if correlation else None,
            causation_id=UUID(causation) if causation else None,
            payload=payload,
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.from_wire(orjson.loads(raw))

    def caused(self, **changes: Any) -> Envelope:
        return replace(self, **changes)
