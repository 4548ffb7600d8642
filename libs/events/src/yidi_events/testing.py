"""What a projection's test builds its facts with: envelopes as a producer's store seals them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from uuid6 import uuid7

from yidi_events import registry
from yidi_events.envelope import Envelope


class Streams:
    """Seals payloads into envelopes at one time, numbering each stream's versions from 1, as
    the event store does; `clear` starts every stream again (a test's second world)."""

    def __init__(self, at: datetime, on: date) -> None:
        self.at = at
        self.on = on
        self._versions: dict[str, int] = {}

    def clear(self) -> None:
        self._versions.clear()

    def envelope(self, stream: str, payload: Any) -> Envelope:
        version = self._versions[stream] = self._versions.get(stream, 0) + 1
        spec = registry.spec_of(payload)
        return Envelope(
            event_id=uuid7(),
            event_type=spec.event_type,
            schema_version=spec.version,
            stream_id=stream,
            stream_version=version,
            partition_key=spec.partition_key(payload),
            occurred_at=self.at,
            business_date=self.on,
            producer=spec.service,
            correlation_id=None,
            causation_id=None,
            payload=payload,
        )
