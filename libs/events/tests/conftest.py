"""An example contract and projection for exercising the runtime against real servers.

Events are `filing.Counted` (amount added to a stream's total), published on the `filing` topic
of a test-only namespace; a handler refuses amount 666, which makes a poison event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yidi_events.db import make_engine
from yidi_events.envelope import Envelope
from yidi_events.kernel.time import SystemClock
from yidi_events.registry import event
from yidi_events.runtime.projection import Projection
from yidi_events.store import EventStore, NewEvent


@event("filing.Counted", key="counter")
@dataclass(frozen=True, kw_only=True)
class Counted:
    counter: str
    amount: int


POISON = 666

example_metadata = sa.MetaData()
totals = sa.Table(
    "example_totals",
    example_metadata,
    sa.Column("stream_id", sa.Text, primary_key=True),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("applied", sa.Integer, nullable=False),
    sa.Column("versions", sa.Text, nullable=False),
)


def make_projection(*, refuse_poison: bool = True) -> Projection:
    """`refuse_poison=False` is the code after the fix: the same projection accepting 666."""
    projection = Projection("example.totals", [totals])

    @projection.on(Counted)
    async def count(conn: AsyncConnection, env: Envelope) -> None:
        if refuse_poison and env.payload.amount == POISON:
            raise ValueError("the example refuses 666")
        stmt = insert(totals).values(
            stream_id=env.stream_id,
            total=env.payload.amount,
            applied=1,
            versions=str(env.stream_version),
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["stream_id"],
                set_={
                    "total": totals.c.total + stmt.excluded.total,
                    "applied": totals.c.applied + 1,
                    "versions": totals.c.versions + "," + stmt.excluded.versions,
                },
            )
        )

    return projection


@pytest.fixture
async def engine(database: Any) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database())
    async with eng.begin() as conn:
        await conn.run_sync(example_metadata.create_all)
    yield eng
    await eng.dispose()


@pytest.fixture
def store() -> EventStore:
    return EventStore("filing", SystemClock())


async def append(
    engine: AsyncEngine, store: EventStore, stream: str, version: int, *amounts: int
) -> list[Envelope]:
    async with engine.begin() as conn:
        return await store.append(
            conn,
            stream,
            version,
            [NewEvent(Counted(counter=stream, amount=a), date(2026, 3, 1)) for a in amounts],
        )


@dataclass(frozen=True)
class Example:
    """What the runtime tests need from this module, as one fixture (test modules cannot import
    conftest under importlib mode)."""

    Counted: type[Counted]
    totals: sa.Table
    poison: int

    append = staticmethod(append)
    make_projection = staticmethod(make_projection)


@pytest.fixture
def example() -> Example:
    return Example(Counted, totals, POISON)
