"""Projections: tables kept as a fold of events, rebuildable from scratch.

A projection names its tables and maps event types to handlers. The same handlers serve the
live path (a consumer, or a handler projecting its own events in the write transaction) and a
rebuild, which is why a rebuild equals the live result. A rebuild builds beside the live tables
and swaps (`yidi_events.runtime.shadow`): the service keeps answering from the live ones
meanwhile, and no event committed during the rebuild is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yidi_events import correlation, registry
from yidi_events.db import is_transient, is_unavailable
from yidi_events.envelope import Envelope
from yidi_events.runtime.shadow import Shadow
from yidi_events.store.event_store import EventStore
from yidi_events.store.schema import events

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]
H = TypeVar("H", bound=Handler)
BatchHandler = Callable[[AsyncConnection, Sequence[Envelope]], Awaitable[None]]
B = TypeVar("B", bound=BatchHandler)


class Projection:
    def __init__(self, name: str, tables: Sequence[sa.Table]) -> None:
        self.name = name
        self.tables = list(tables)
        self.handlers: dict[str, Handler] = {}
        self.batch_handlers: dict[str, BatchHandler] = {}

    def on(self, *models: type[Any]) -> Callable[[H], H]:
        """Register a handler for the events whose payload is one of `models`."""

        def register(handler: H) -> H:
            for model in models:
                self.handlers[registry.event_type_of(model)] = handler
            return handler

        return register

    def on_batch(self, *models: type[Any]) -> Callable[[B], B]:
        """Register a set-wise handler: given a run of consecutive events whose payloads are among
        `models` (in stream order, a stream possibly more than once), it leaves the tables as
        applying them one by one would, with a few multi-row statements instead of a few per
        event. It is what a consumer's batch and a rebuild's page go through."""

        def register(handler: B) -> B:
            for model in models:
                self.batch_handlers[registry.event_type_of(model)] = handler
            return handler

        return register

    def handles(self, event_type: str) -> bool:
        return event_type in self.handlers or event_type in self.batch_handlers

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        await self.apply_many(conn, (envelope,))

    async def apply_many(self, conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
        """Apply events in order. Each maximal run of consecutive events that one batch handler
        takes goes to it at once; order between runs (and so between event types) is kept, which
        is what lets a batch handler fold its run in memory without knowing the others."""
        i = 0
        while i < len(envelopes):
            batch = self.batch_handlers.get(envelopes[i].event_type)
            if batch is None:
                handler = self.handlers.get(envelopes[i].event_type)
                if handler is not None:
                    with correlation.caused_by(envelopes[i]):
                        await handler(conn, envelopes[i])
                i += 1
                continue
            # A fact the projection does not handle changes nothing, so the run goes on past it
            # (a filing stream's FilingSubmitted between two facts a consumer batches).
            run = [envelopes[i]]
            j = i + 1
            while j < len(envelopes):
                taken = self.batch_handlers.get(envelopes[j].event_type)
                if taken is batch:
                    run.append(envelopes[j])
                elif taken is not None or envelopes[j].event_type in self.handlers:
                    break
                j += 1
            if len(run) == 1:  # one fact: what its handler writes answers it
                with correlation.caused_by(run[0]):
                    await batch(conn, run)
            else:  # several facts write together: no one of them is the cause
                await batch(conn, run)
            i = j

    async def reset(self, conn: AsyncConnection) -> None:
        if self.tables:
            names = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in self.tables)
            await conn.execute(sa.text(f"TRUNCATE {names}"))

    async def snapshot(self, conn: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, sorted: what 'a rebuild equals the live one' compares."""
        result: dict[str, list[tuple[Any, ...]]] = {}
        for table in self.tables:
            rows = (await conn.execute(sa.select(table))).all()
            result[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return result


Progress = Callable[[int, int], None]
"""Told (done, total) as a rebuild goes, so an operator sees it move (the CLI's progress bar)."""


async def rebuild_from_store(
    engine: AsyncEngine,
    store: EventStore,
    projection: Projection,
    *,
    batch: int = 5000,
    progress: Progress | None = None,
    swap_attempts: int = 10,
) -> int:
    """Rebuild a projection of the service's own events from its event store, beside the live
    one (`Shadow`), while writers go on committing. Returns the number of events applied.

    The build reads the store in commit-safe order (`read_committed`, below every open
    transaction) one batch per transaction. The swap locks the live tables against writers, which
    project their own events in the writing transaction: a writer that committed is visible and
    already projected into the live rows; one still open waits on the lock and projects into the
    swapped rows after. So the swap applies every event its snapshot sees past the build's
    position, gaps or not (`read_visible`), and the result holds each event exactly once."""
    shadow = Shadow(projection.name, projection.tables)
    async with engine.begin() as conn:
        await shadow.create(conn)
        total = 0
        if progress is not None:
            total = int(await conn.scalar(sa.select(sa.func.count()).select_from(events)) or 0)
            progress(0, total)
    applied = 0
    after = (0, 0)
    try:
        while True:
            async with engine.begin() as conn:
                await shadow.enter(conn)
                stored = await store.read_committed(conn, after, batch)
                await projection.apply_many(conn, [item.envelope for item in stored])
            if not stored:
                break
            applied += len(stored)
            after = (stored[-1].txid, stored[-1].position)
            if progress is not None:
                progress(applied, max(total, applied))
        for attempt in range(1, swap_attempts + 1):
            try:
                async with engine.begin() as conn:
                    await shadow.lock_live(conn)
                    await shadow.enter(conn)
                    rest = await store.read_visible(conn, after)
                    await projection.apply_many(conn, [item.envelope for item in rest])
                    await shadow.swap(conn)
                applied += len(rest)
                break
            except Exception as exc:
                # A writer holding one live table while waiting for another deadlocks with the
                # lock; PostgreSQL ends one of the two and the loser tries again.
                if attempt == swap_attempts or not (is_transient(exc) or is_unavailable(exc)):
                    raise
                await asyncio.sleep(0.05 * attempt)
        if progress is not None:
            progress(applied, max(total, applied))
    finally:
        async with engine.begin() as conn:
            await shadow.drop(conn)
    return applied


async def upsert(conn: AsyncConnection, table: sa.Table, keys: Sequence[str], row: Any) -> None:
    """Write a whole row keyed by `keys`, replacing what stood there: a fact that states the whole
    thing lands on the same row on redelivery and in a rebuild."""
    await conn.execute(_upsert_of(table, tuple(keys), tuple(row)), dict(row))


_UPSERTS: dict[tuple[sa.Table, tuple[str, ...], tuple[str, ...]], sa.Insert] = {}


def _upsert_of(table: sa.Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> sa.Insert:
    # Built once per shape and run with the row as its parameters: building the statement and
    # its `excluded` alias anew for every event was a fifth of a per-event projection's time.
    found = _UPSERTS.get((table, keys, columns))
    if found is None:
        stmt = insert(table)
        changes = {k: stmt.excluded[k] for k in columns if k not in keys}
        found = stmt.on_conflict_do_update(index_elements=list(keys), set_=changes)
        _UPSERTS[(table, keys, columns)] = found
    return found
