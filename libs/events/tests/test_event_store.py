"""The event store against real PostgreSQL: optimistic concurrency, loading, idempotency."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.store import (
    ConcurrencyError,
    EventStore,
    IdempotencyConflict,
    IdempotencyStore,
    NewEvent,
    StreamAppend,
)
from yidi_events.store.idempotency import request_hash


async def test_two_concurrent_appends_at_the_same_version_one_wins(
    engine: AsyncEngine, store: EventStore, example: Any
) -> None:
    first_appended = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> str:
        async with engine.begin() as conn:
            await store.append(
                conn,
                "s-1",
                0,
                [NewEvent(example.Counted(counter="s-1", amount=1), date(2026, 3, 1))],
            )
            first_appended.set()
            await release_first.wait()
        return "committed"

    async def second() -> str:
        await first_appended.wait()
        try:
            async with engine.begin() as conn:
                # Blocks on the unique index until the first transaction ends, then fails cleanly.
                await store.append(
                    conn,
                    "s-1",
                    0,
                    [NewEvent(example.Counted(counter="s-1", amount=2), date(2026, 3, 1))],
                )
        except ConcurrencyError as exc:
            return f"refused at {exc.expected_version}"
        return "committed"

    second_task = asyncio.create_task(second())
    first_task = asyncio.create_task(first())
    await first_appended.wait()
    await asyncio.sleep(0.2)
    assert not second_task.done(), "the second writer must wait for the first to finish"
    release_first.set()
    assert await first_task == "committed"
    assert await second_task == "refused at 0"

    async with engine.connect() as conn:
        stream = await store.load(conn, "s-1")
    assert [(e.stream_version, e.payload.amount) for e in stream] == [(1, 1)]


async def test_load_returns_the_stream_in_version_order_with_envelope_fields(
    engine: AsyncEngine, store: EventStore, example: Any
) -> None:
    await example.append(engine, store, "s-2", 0, 5, 7)
    await example.append(engine, store, "s-2", 2, 11)
    async with engine.connect() as conn:
        stream = await store.load(conn, "s-2")
    assert [(e.stream_version, e.payload.amount) for e in stream] == [(1, 5), (2, 7), (3, 11)]
    assert {e.event_type for e in stream} == {"filing.Counted"}
    assert {e.partition_key for e in stream} == {"s-2"}
    assert all(e.business_date == date(2026, 3, 1) and e.producer == "filing" for e in stream)
    assert len({e.event_id for e in stream}) == 3


async def test_events_of_several_streams_are_one_insert_and_a_moved_stream_refuses_them_all(
    engine: AsyncEngine, store: EventStore, example: Any
) -> None:
    """The counter's hot path appends to a visit and to the person's ledger: one multi-row
    statement on the server (not one per row, as executemany runs), all or nothing."""
    await example.append(engine, store, "m-b", 0, 1)
    inserts: list[str] = []

    def seen(*args: Any) -> None:
        if str(args[2]).startswith("INSERT INTO events"):
            inserts.append(str(args[2]))

    def counted(*amounts: int, counter: str) -> list[NewEvent]:
        return [
            NewEvent(example.Counted(counter=counter, amount=a), date(2026, 3, 1)) for a in amounts
        ]

    sa.event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with engine.begin() as conn:
            appended = await store.append_streams(
                conn,
                [
                    StreamAppend("m-a", 0, counted(3, 4, 5, counter="m-a")),
                    StreamAppend("m-b", 1, counted(6, counter="m-b")),
                ],
            )
        with pytest.raises(ConcurrencyError) as moved:
            async with engine.begin() as conn:
                await store.append_streams(
                    conn,
                    [
                        StreamAppend("m-c", 0, counted(7, counter="m-c")),
                        StreamAppend("m-b", 1, counted(8, counter="m-b")),  # behind: at 2
                    ],
                )
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert len(inserts) == 2
    # Four rows in one statement whose text does not depend on their number (13 columns, each an
    # array): compiled and prepared once, whatever a unit appends.
    assert inserts[0] == inserts[1]
    assert inserts[0].count("$") == 13
    assert [[e.stream_version for e in s] for s in appended] == [[1, 2, 3], [2]]
    assert "m-b" in moved.value.stream_id
    async with engine.connect() as conn:
        assert [e.payload.amount for e in await store.load(conn, "m-a")] == [3, 4, 5]
        assert [e.payload.amount for e in await store.load(conn, "m-b")] == [1, 6]
        assert await store.load(conn, "m-c") == []  # refused with its neighbour
        both = await store.load_streams(conn, ["m-b", "m-a", "m-c"])  # one read for all
    assert {s: [e.payload.amount for e in found] for s, found in both.items()} == {
        "m-a": [3, 4, 5],
        "m-b": [1, 6],
        "m-c": [],
    }


async def test_more_events_than_one_statement_takes_are_appended_in_order(
    engine: AsyncEngine, store: EventStore, example: Any
) -> None:
    """2,600 events of 13 parameters each pass PostgreSQL's 32,767 parameters a statement."""
    amounts = list(range(1, 2601))
    await example.append(engine, store, "big", 0, *amounts)
    async with engine.connect() as conn:
        stream = await store.load(conn, "big")
    assert [(e.stream_version, e.payload.amount) for e in stream] == [(n, n) for n in amounts]


async def test_appending_behind_the_stream_is_refused(
    engine: AsyncEngine, store: EventStore, example: Any
) -> None:
    await example.append(engine, store, "s-3", 0, 1, 2)
    with pytest.raises(ConcurrencyError):
        await example.append(engine, store, "s-3", 1, 3)


async def test_idempotency_returns_the_stored_response_and_refuses_a_second_record(
    engine: AsyncEngine,
) -> None:
    keys = IdempotencyStore()
    body = {"msgid": "H1", "amount": "1.00"}
    async with engine.begin() as conn:
        assert await keys.lookup(conn, "H32010000001", "M1") is None
        await keys.record(conn, "H32010000001", "M1", request_hash(body), {"infcode": 0})
    async with engine.begin() as conn:
        stored = await keys.lookup(conn, "H32010000001", "M1")
        assert stored is not None
        assert stored.response == {"infcode": 0}
        assert stored.request_hash == request_hash(body)
        assert stored.request_hash != request_hash({**body, "amount": "2.00"})
    with pytest.raises(IdempotencyConflict):
        async with engine.begin() as conn:
            await keys.record(conn, "H32010000001", "M1", request_hash(body), {"infcode": 0})
    async with engine.begin() as conn:
        # The same message id from another institution is another key.
        assert await keys.lookup(conn, "H32010000002", "M1") is None
