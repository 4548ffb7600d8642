"""Load, decide, append, project, in one transaction: the only way events are written."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy.exc import DBAPIError

from yidi_events import correlation
from yidi_events.application.ports import EventStorePort, Idempotent, Unit
from yidi_events.envelope import Envelope
from yidi_events.kernel.time import Clock, business_date
from yidi_events.runtime.projection import Projection
from yidi_events.store.event_store import ConcurrencyError, NewEvent, StreamAppend
from yidi_events.store.idempotency import IdempotencyConflict, Keeping, StoredResponse

S = TypeVar("S")
T = TypeVar("T")

# SQLSTATEs worth deciding again for: serialization failure, deadlock.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def lost_a_race(exc: BaseException) -> bool:
    """A concurrent writer won (stream version, idempotency key, serialization, deadlock):
    running the whole unit again decides afresh on the newer state."""
    if isinstance(exc, ConcurrencyError | IdempotencyConflict):
        return True
    return (
        isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES
    )


@dataclass(frozen=True)
class Snapshot(Generic[S]):
    """A stored state of a stream at a version, kept by the service's own projection (a head
    row), so a long stream is not folded from its first event on every command."""

    read: Callable[[Unit, str], Awaitable[tuple[S, int] | None]]
    current: bool = False
    """The projection moves it in every unit that appends to the stream (under a lock the
    writers share), so no event lies past it and the stream is not read at all. A stale one
    still cannot slip through: the append's expected version refuses it."""


@dataclass(frozen=True)
class Aggregate(Generic[S]):
    """How a stream's state is built: a fold of `evolve` over its payloads from `initial()`."""

    initial: Callable[[], S]
    evolve: Callable[[S, Any], S]
    snapshot: Snapshot[S] | None = None

    def fold(self, payloads: Iterable[Any], start: S | None = None) -> S:
        state = self.initial() if start is None else start
        for payload in payloads:
            state = self.evolve(state, payload)
        return state


@dataclass(frozen=True)
class Loaded(Generic[S]):
    stream_id: str
    state: S
    version: int


Projector = Callable[[Unit, Sequence[Envelope]], Awaitable[None]]
"""Applies the events one append wrote (in stream order) to its projection, inside the writing
unit."""


def project_with(projection: Projection) -> Projector:
    """A SQL projection as a projector: it writes through the unit's connection, an append's
    events together, so a consumer recording a batch on one stream (reconciliation's day) costs a
    few statements per append, not a few per event."""

    async def project(unit: Unit, envelopes: Sequence[Envelope]) -> None:
        await projection.apply_many(unit.conn, envelopes)

    return project


class WritePath:
    def __init__(
        self,
        store: EventStorePort,
        clock: Clock,
        projectors: Sequence[Projector] = (),
        *,
        attempts: int = 8,
    ) -> None:
        self.store = store
        self.clock = clock
        self.projectors = list(projectors)
        self.attempts = attempts

    def today(self) -> date:
        return business_date(self.clock.now())

    async def transact(self, work: Callable[[Unit], Awaitable[T]]) -> T:
        """Run `work` in one unit, from the start again when a concurrent writer won. `work`
        must be safe to repeat: it loads and decides inside the unit."""
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.store.begin() as unit:
                    return await work(unit)
            except (ConcurrencyError, IdempotencyConflict, DBAPIError) as exc:
                if not lost_a_race(exc) or attempt == self.attempts:
                    raise
            await asyncio.sleep(random.uniform(0, 0.002 * attempt))
        raise AssertionError("unreachable")

    async def load(self, unit: Unit, stream_id: str, aggregate: Aggregate[S]) -> Loaded[S]:
        start: S | None = None
        version = 0
        snapshot = aggregate.snapshot
        if snapshot is not None and (kept := await snapshot.read(unit, stream_id)):
            start, version = kept
            if snapshot.current:
                return Loaded(stream_id, start, version)
        events = await unit.load(stream_id, after_version=version)
        state = aggregate.fold((e.payload for e in events), start)
        return Loaded(stream_id, state, version + len(events))

    async def load_both(
        self,
        unit: Unit,
        first: tuple[str, Aggregate[S]],
        second: tuple[str, Aggregate[T]],
    ) -> tuple[Loaded[S], Loaded[T]]:
        """Two streams a command decides on together, in one read when neither keeps a
        snapshot (the counter's hot path: a visit and its person's ledger)."""
        (first_id, first_aggregate), (second_id, second_aggregate) = first, second
        if first_aggregate.snapshot is not None or second_aggregate.snapshot is not None:
            return (
                await self.load(unit, first_id, first_aggregate),
                await self.load(unit, second_id, second_aggregate),
            )
        streams = await unit.load_streams([first_id, second_id])
        return _folded(first_id, first_aggregate, streams), _folded(
            second_id, second_aggregate, streams
        )

    async def append(
        self,
        unit: Unit,
        stream_id: str,
        expected_version: int,
        payloads: Sequence[Any],
        *,
        day: date | None = None,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[Envelope]:
        """Append what a decision produced (the unit's first write: see EventStore), then
        project the events in the same unit."""
        (envelopes,) = await self.append_streams(
            unit,
            [(stream_id, expected_version, payloads)],
            day=day,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        return envelopes

    async def append_streams(
        self,
        unit: Unit,
        appends: Sequence[tuple[str, int, Sequence[Any]]],
        *,
        day: date | None = None,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[list[Envelope]]:
        """What one decision produced for several streams, each (stream, expected version,
        payloads), appended in one write, then projected in order: as `append` stream after
        stream, at one round trip instead of one per stream."""
        on = day or self.today()
        if correlation_id is None and (cause := correlation.current()) is not None:
            correlation_id, causation_id = cause.correlation_id, cause.causation_id
        appended = await unit.append_streams(
            [
                StreamAppend(stream_id, version, [NewEvent(p, on) for p in payloads])
                for stream_id, version, payloads in appends
            ],
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        for envelopes in appended:
            for project in self.projectors:
                await project(unit, envelopes)
        return appended

    async def decide(
        self,
        unit: Unit,
        stream_id: str,
        aggregate: Aggregate[S],
        decision: Callable[[S], Sequence[Any]],
        **append: Any,
    ) -> list[Envelope]:
        """Load, decide, append and project one stream inside `unit`."""
        loaded = await self.load(unit, stream_id, aggregate)
        return await self.append(unit, stream_id, loaded.version, decision(loaded.state), **append)

    async def execute(
        self,
        stream_id: str,
        aggregate: Aggregate[S],
        decision: Callable[[S], Sequence[Any]],
        **append: Any,
    ) -> list[Envelope]:
        """One command on one stream, in a unit of its own."""
        return await self.transact(
            lambda unit: self.decide(unit, stream_id, aggregate, decision, **append)
        )

    async def answer_once(
        self,
        idempotent: Idempotent,
        work: Callable[[Unit], Awaitable[dict[str, Any]]],
        *,
        repeat: Callable[[StoredResponse], dict[str, Any]] = lambda kept: kept.response,
        alongside: Callable[[Unit, Keeping | None], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """Do `work` and keep its answer under the key, in one unit; a command whose key was
        answered before gets `repeat(kept)` and does nothing. Of two first attempts at once the
        loser's unit rolls back and, run again, finds the winner's answer.

        `alongside` runs in the same unit whichever answer is given, after `work` (whose append
        must stay the unit's first write): what must commit with the answer or not at all, such
        as claiming the request's nonce, at no transaction of its own. It is handed the answer
        to keep (None for a repeat), and may keep it in its own statement; what it did not keep,
        the unit keeps after it."""

        async def attempt(unit: Unit) -> dict[str, Any]:
            kept = await unit.lookup(idempotent.scope, idempotent.key)
            if kept is not None:
                if alongside is not None:
                    await alongside(unit, None)
                return repeat(kept)
            answer = await work(unit)
            keeping = Keeping(idempotent.scope, idempotent.key, idempotent.request_hash, answer)
            if alongside is not None:
                await alongside(unit, keeping)
            if not keeping.kept:
                await unit.record(idempotent, answer)
            return answer

        return await self.transact(attempt)


def _folded(
    stream_id: str, aggregate: Aggregate[S], streams: dict[str, list[Envelope]]
) -> Loaded[S]:
    events = streams[stream_id]
    return Loaded(stream_id, aggregate.fold(e.payload for e in events), len(events))
