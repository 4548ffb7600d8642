"""The write path on the in-memory store: load by fold (after a snapshot), decide, append with the
expected version, project inline, retry a lost race, keep an idempotent answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest

from yidi_events import correlation
from yidi_events.application import (
    Aggregate,
    Idempotent,
    InMemoryEventStore,
    Snapshot,
    Unit,
    WritePath,
)
from yidi_events.correlation import Cause
from yidi_events.envelope import Envelope
from yidi_events.kernel.time import ControlledClock
from yidi_events.runtime.projection import Projection
from yidi_events.store import ConcurrencyError, NewEvent

from .conftest import Counted


@dataclass(frozen=True)
class Total:
    amount: int = 0
    seen: int = 0


def evolve(total: Total, event: Counted) -> Total:
    return Total(total.amount + event.amount, total.seen + 1)


COUNTER = Aggregate(Total, evolve)


def add(amount: int, *, at_most: int = 100) -> Any:
    def decide(total: Total) -> list[Counted]:
        if total.amount + amount > at_most:
            raise ValueError(f"{total.amount} + {amount} passes {at_most}")
        return [Counted(counter="c-1", amount=amount)]

    return decide


@dataclass
class Recorder:
    seen: list[Envelope] = field(default_factory=list)

    async def __call__(self, unit: Unit, envelopes: Sequence[Envelope]) -> None:
        self.seen.extend(envelopes)


def write_path(*projectors: Any) -> tuple[WritePath, InMemoryEventStore]:
    clock = ControlledClock(datetime(2026, 3, 1, 16, 30, tzinfo=UTC))  # 00:30 on 2 March there
    store = InMemoryEventStore("example", clock)
    return WritePath(store, clock, projectors), store


async def test_execute_folds_decides_appends_and_projects_in_order() -> None:
    recorder = Recorder()
    write, store = write_path(recorder)
    await write.execute("c-1", COUNTER, add(30))
    appended = await write.execute("c-1", COUNTER, add(12))
    assert [e.stream_version for e in appended] == [2]
    assert appended[0].business_date == date(2026, 3, 2)  # Asia/Shanghai's day, not UTC's
    assert [p.amount for p in store.payloads("c-1")] == [30, 12]
    assert [e.stream_version for e in recorder.seen] == [1, 2]


async def test_several_streams_append_together_project_in_order_or_not_at_all() -> None:
    recorder = Recorder()
    write, store = write_path(recorder)
    await write.execute("c-2", COUNTER, add(1))

    async def both(unit: Unit, at: int) -> None:
        await write.append_streams(
            unit,
            [
                ("c-1", 0, [Counted(counter="c-1", amount=5), Counted(counter="c-1", amount=6)]),
                ("c-2", at, [Counted(counter="c-2", amount=7)]),
            ],
        )

    with pytest.raises(ConcurrencyError):
        await write.transact(lambda unit: both(unit, 0))  # c-2 is at 1: neither stream grows
    assert store.payloads("c-1") == []
    await write.transact(lambda unit: both(unit, 1))
    assert [p.amount for p in store.payloads("c-1")] == [5, 6]
    assert [p.amount for p in store.payloads("c-2")] == [1, 7]
    assert [(e.stream_id, e.stream_version) for e in recorder.seen[1:]] == [
        ("c-1", 1),
        ("c-1", 2),
        ("c-2", 2),
    ]


async def test_a_refused_decision_appends_and_projects_nothing() -> None:
    recorder = Recorder()
    write, store = write_path(recorder)
    await write.execute("c-1", COUNTER, add(90))
    with pytest.raises(ValueError, match="90 \\+ 20 passes 100"):
        await write.execute("c-1", COUNTER, add(20))
    assert [p.amount for p in store.payloads("c-1")] == [90]
    assert len(recorder.seen) == 1


async def test_a_unit_that_fails_after_appending_commits_nothing() -> None:
    write, store = write_path()

    async def work(unit: Unit) -> None:
        await write.decide(unit, "c-1", COUNTER, add(5))
        raise RuntimeError("the projection failed")

    with pytest.raises(RuntimeError):
        await write.transact(work)
    assert store.payloads("c-1") == []
    assert store.log == []


async def test_two_writers_at_once_both_land_and_the_second_decides_on_the_first() -> None:
    write, store = write_path()
    first_loaded = asyncio.Event()
    release = asyncio.Event()
    decided_on: list[int] = []

    async def slow(unit: Unit) -> None:
        loaded = await write.load(unit, "c-1", COUNTER)
        decided_on.append(loaded.state.amount)
        first_loaded.set()
        await release.wait()
        await write.append(unit, "c-1", loaded.version, add(60)(loaded.state))

    async def quick() -> None:
        await first_loaded.wait()
        await write.execute("c-1", COUNTER, add(50))
        release.set()

    # The slow writer loaded at version 0; the quick one commits first; the slow one's commit is
    # refused, it runs again on the newer state and this time the rule refuses 50 + 60 > 100.
    results = await asyncio.gather(write.transact(slow), quick(), return_exceptions=True)
    assert isinstance(results[0], ValueError)
    assert decided_on == [0, 50]
    assert [p.amount for p in store.payloads("c-1")] == [50]


async def test_a_race_lost_on_every_attempt_is_reported() -> None:
    clock = ControlledClock(datetime(2026, 3, 1, tzinfo=UTC))
    store = InMemoryEventStore("example", clock)
    write = WritePath(store, clock, attempts=3)
    tries = 0

    async def always_overtaken(unit: Unit) -> None:
        nonlocal tries
        tries += 1
        loaded = await write.load(unit, "c-1", COUNTER)
        async with store.begin() as other:  # another writer commits in between, every time
            await other.append(
                "c-1",
                loaded.version,
                [NewEvent(Counted(counter="c-1", amount=9), date(2026, 3, 1))],
            )
        await write.append(unit, "c-1", loaded.version, add(1)(loaded.state))

    with pytest.raises(ConcurrencyError):
        await write.transact(always_overtaken)
    assert tries == 3
    assert [p.amount for p in store.payloads("c-1")] == [9, 9, 9]


async def test_a_snapshot_is_the_start_and_only_later_events_are_folded() -> None:
    async def kept(unit: Unit, stream_id: str) -> tuple[Total, int] | None:
        return Total(amount=1000, seen=2), 2  # as if versions 1 and 2 summed to 1000

    write, store = write_path()
    await write.execute("c-1", COUNTER, add(1))
    await write.execute("c-1", COUNTER, add(2))
    await write.execute("c-1", COUNTER, add(4))
    snapshotted = Aggregate(Total, evolve, Snapshot(kept))
    async with store.begin() as unit:
        loaded = await write.load(unit, "c-1", snapshotted)
    assert loaded.state == Total(amount=1004, seen=3)
    assert loaded.version == 3


async def test_an_answer_is_kept_once_and_a_retry_gets_it_without_deciding_again() -> None:
    write, store = write_path()
    key = Idempotent("his", "H001/msg-1", "hash-a")
    calls = 0

    async def settle(unit: Unit) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        appended = await write.decide(unit, "c-1", COUNTER, add(7))
        return {"version": appended[0].stream_version}

    assert await write.answer_once(key, settle) == {"version": 1}
    assert await write.answer_once(key, settle) == {"version": 1}
    assert calls == 1
    assert [p.amount for p in store.payloads("c-1")] == [7]

    def refuse_other_body(kept: Any) -> dict[str, Any]:
        raise LookupError(f"key used for {kept.request_hash}")

    with pytest.raises(LookupError, match="hash-a"):
        await write.answer_once(
            Idempotent("his", "H001/msg-1", "hash-b"), settle, repeat=refuse_other_body
        )


async def test_two_first_attempts_at_one_key_answer_once() -> None:
    write, store = write_path()
    key = Idempotent("his", "H001/msg-2", "hash")
    both_inside = asyncio.Barrier(2)

    async def settle(unit: Unit) -> dict[str, Any]:
        loaded = await write.load(unit, "c-1", COUNTER)
        await both_inside.wait()
        await write.append(unit, "c-1", loaded.version, [Counted(counter="c-1", amount=3)])
        return {"version": loaded.version + 1}

    first, second = await asyncio.gather(
        write.answer_once(key, settle), write.answer_once(key, settle)
    )
    assert first == second == {"version": 1}
    assert [p.amount for p in store.payloads("c-1")] == [3]


async def test_a_current_snapshot_is_the_state_and_the_stream_is_not_read() -> None:
    reads: list[str] = []

    async def head(unit: Unit, stream_id: str) -> tuple[Total, int] | None:
        return (Total(amount=7, seen=1), 1) if stream_id == "c-1" else None

    write, store = write_path()
    await write.execute("c-1", COUNTER, add(7))
    current = Aggregate(Total, evolve, Snapshot(head, current=True))
    async with store.begin() as unit:
        real_load = unit.load

        async def counting(stream_id: str, after_version: int = 0) -> list[Envelope]:
            reads.append(stream_id)
            return await real_load(stream_id, after_version)

        unit.load = counting  # type: ignore[method-assign]
        kept = await write.load(unit, "c-1", current)
        fresh = await write.load(unit, "c-2", current)  # no row yet: folded from the stream
    assert (kept.state, kept.version) == (Total(amount=7, seen=1), 1)
    assert (fresh.state, fresh.version) == (Total(), 0)
    assert reads == ["c-2"]


async def test_events_written_while_serving_a_request_carry_its_correlation() -> None:
    write, _ = write_path()
    request = Cause(uuid.uuid4())
    with correlation.correlated(request):
        (served,) = await write.execute("c-1", COUNTER, add(5))
    (later,) = await write.execute("c-1", COUNTER, add(1))
    assert (served.correlation_id, served.causation_id) == (request.correlation_id, None)
    assert (later.correlation_id, later.causation_id) == (None, None)  # outside any request


async def test_what_a_reaction_writes_answers_the_fact_it_applies() -> None:
    write, _ = write_path()
    with correlation.correlated(Cause(uuid.uuid4())):
        (fact,) = await write.execute("c-1", COUNTER, add(5))
    written: list[Envelope] = []
    projection = Projection("example.reaction", [])

    @projection.on(Counted)
    async def react(conn: Any, envelope: Envelope) -> None:
        written.extend(await write.execute("c-2", COUNTER, add(envelope.payload.amount)))

    await projection.apply(None, fact)  # type: ignore[arg-type]  # the handler needs no connection
    (answer,) = written
    assert answer.correlation_id == fact.correlation_id
    assert answer.causation_id == fact.event_id
    # A fact written outside any request starts its own correlation.
    (bare,) = await write.execute("c-3", COUNTER, add(1))
    written.clear()
    await projection.apply(None, bare)  # type: ignore[arg-type]
    assert (written[0].correlation_id, written[0].causation_id) == (bare.event_id, bare.event_id)
