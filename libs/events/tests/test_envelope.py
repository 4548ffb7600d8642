"""The envelope on the wire: contracts decode, event types without a contract here stay opaque."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events import registry
from yidi_events.envelope import Envelope, Opaque
from yidi_events.registry import event
from yidi_events.runtime.projection import Projection


@event("example.Stamped", key="stamp")
@dataclass(frozen=True, kw_only=True)
class Stamped:
    stamp: str
    on: date


def wire(event_type: str, schema_version: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": "6f1c1a4e-7d1b-4c55-9a43-1f7b8a2c9e01",
        "event_type": event_type,
        "schema_version": schema_version,
        "stream_id": "stamp-1",
        "stream_version": 4,
        "partition_key": "stamp-1",
        "occurred_at": "2026-03-01T08:30:00+00:00",
        "business_date": "2026-03-01",
        "producer": "filing",
        "correlation_id": None,
        "causation_id": "0b9a8c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b",
        "payload": payload,
    }


# Another service's own fact: this process has no contract for it (its fields mean nothing here).
UNSEEN = wire("example.Unseen", 3, {"batch_id": "2026-03", "items": [{"n": 1}], "total": "1.50"})


def test_a_known_event_type_decodes_to_its_contract() -> None:
    envelope = Envelope.from_wire(wire("example.Stamped", 1, {"stamp": "s", "on": "2026-03-02"}))
    assert envelope.payload == Stamped(stamp="s", on=date(2026, 3, 2))


def test_an_event_type_without_a_contract_here_keeps_its_payload_opaque() -> None:
    assert not registry.known("example.Unseen")
    envelope = Envelope.from_wire(UNSEEN)
    assert envelope.payload == Opaque({"batch_id": "2026-03", "items": [{"n": 1}], "total": "1.50"})
    # Ordering needs the stream and its version, which the envelope carries whatever the payload.
    assert (envelope.stream_id, envelope.stream_version) == ("stamp-1", 4)
    assert envelope.schema_version == 3
    assert envelope.event_id == UUID("6f1c1a4e-7d1b-4c55-9a43-1f7b8a2c9e01")
    assert envelope.occurred_at == datetime.fromisoformat("2026-03-01T08:30:00+00:00")


def test_an_opaque_envelope_is_written_back_exactly_as_it_came() -> None:
    assert Envelope.from_wire(UNSEEN).to_wire() == UNSEEN
    assert Envelope.from_bytes(Envelope.from_wire(UNSEEN).to_bytes()).to_wire() == UNSEEN


async def test_a_projection_with_no_handler_for_an_opaque_event_skips_it() -> None:
    seen: list[Any] = []
    projection = Projection("example.stamps", [])

    @projection.on(Stamped)
    async def record(conn: AsyncConnection, env: Envelope) -> None:
        seen.append(env.payload)

    # No handler runs, so nothing touches the connection.
    nowhere = cast(AsyncConnection, None)
    await projection.apply(nowhere, Envelope.from_wire(UNSEEN))
    assert not projection.handles("example.Unseen")
    assert seen == []
    await projection.apply(
        nowhere,
        Envelope.from_wire(wire("example.Stamped", 1, {"stamp": "t", "on": "2026-03-03"})),
    )
    assert seen == [Stamped(stamp="t", on=date(2026, 3, 3))]
