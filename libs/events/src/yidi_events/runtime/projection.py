"""Projections: tables kept as a fold of events, rebuildable from scratch.

A projection names its tables and maps event types to handlers. The same handlers serve the
live path (a consumer, or a handler projecting its own events in the write transaction) and a
rebuild, which is why a rebuild equals the live result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yidi_events import registry
from yidi_events.envelope import Envelope
from yidi_events.store.event_store import EventStore
from yidi_events.store.schema import events

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]
H = TypeVar("H", bound=Handler)


class Projection:
    def __init__(self, name: str, tables: Sequence[sa.Table]) -> None:
        self.name = name
        self.tables = list(tables)
        self.handlers: dict[str, Handler] = {}

    def on(self, *models: type[Any]) -> Callable[[H], H]:
        """Register a handler for the events whose payload is one of `models`."""

        def register(handler: H) -> H:
            for model in models:
                self.handlers[registry.event_type_of(model)] = handler
            return handler

        return register

    def handles(self, event_type: str) -> bool:
        return event_type in self.handlers

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        handler = self.handlers.get(envelope.event_type)
        if handler is not None:
            await handler(conn, envelope)

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
) -> int:
    """Rebuild a projection of the service's own events from its event store."""
    applied = 0
    async with engine.begin() as conn:
        await projection.reset(conn)
        total = 0
        if progress is not None:
            total = int(await conn.scalar(sa.select(sa.func.count()).select_from(events)) or 0)
            progress(0, total)
        after = (0, 0)
        while True:
            stored = await store.read_committed(conn, after, batch)
            if not stored:
                break
            for item in stored:
                await projection.apply(conn, item.envelope)
            applied += len(stored)
            after = (stored[-1].txid, stored[-1].position)
            if progress is not None:
                progress(applied, max(total, applied))
    return applied
