"""`Projection.apply_many` hands a batch handler each maximal run of its facts, in order: a fact
the projection does not take changes nothing and does not end a run; a fact another handler
takes does, so the order between handlers holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from uuid6 import uuid7

from yidi_events import registry
from yidi_events.contracts.filing import FilingCancelled, PersonDied
from yidi_events.envelope import Envelope
from yidi_events.runtime.projection import Projection

from .conftest import Counted

ON = date(2026, 3, 2)


def envelope(payload: Any) -> Envelope:
    spec = registry.spec_of(payload)
    return Envelope(
        event_id=uuid7(),
        event_type=spec.event_type,
        schema_version=spec.version,
        stream_id="s",
        stream_version=1,
        partition_key=spec.partition_key(payload),
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
        business_date=ON,
        producer=spec.service,
        correlation_id=None,
        causation_id=None,
        payload=payload,
    )


def died(person_id: str) -> Envelope:
    return envelope(PersonDied(person_id=person_id, death_date=ON, recorded_on=ON))


async def test_an_unhandled_fact_leaves_the_run_whole_and_another_handlers_fact_ends_it() -> None:
    calls: list[list[str]] = []
    projection = Projection("runs", [])

    @projection.on_batch(PersonDied)
    async def deaths(conn: Any, envs: Sequence[Envelope]) -> None:
        calls.append([e.payload.person_id for e in envs])

    @projection.on(FilingCancelled)
    async def cancelled(conn: Any, env: Envelope) -> None:
        calls.append([f"cancelled {env.payload.filing_id}"])

    facts = [
        died("P1"),
        envelope(Counted(counter="c-1", amount=1)),  # no handler here: changes nothing
        died("P2"),
        envelope(FilingCancelled(filing_id="F1", person_id="P2", cancelled_on=ON, reason="x")),
        died("P3"),
        envelope(Counted(counter="c-1", amount=2)),
    ]
    await projection.apply_many(cast(Any, None), facts)
    assert calls == [["P1", "P2"], ["cancelled F1"], ["P3"]]
