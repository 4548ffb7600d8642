"""`ColumnsInsert`: a batch's rows in one statement, with the same conflict rules as the
per-row upserts it replaces (the consumer's bookkeeping relies on them)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.store.columns import ColumnsInsert
from yidi_events.store.schema import consumed_events, consumer_streams

VERSIONS = ColumnsInsert(
    consumer_streams,
    ["consumer", "stream_id", "last_version"],
    conflict=["consumer", "stream_id"],
    update=["last_version"],
)
RECORDED = ColumnsInsert(
    consumed_events,
    ["consumer", "event_id", "topic", "partition", "offset", "outcome"],
    conflict=["consumer", "event_id"],
    nothing=True,
)


async def test_rows_land_once_and_an_upsert_replaces_only_its_columns(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await VERSIONS.execute(
            conn,
            [
                {"consumer": "c", "stream_id": "a", "last_version": 1},
                {"consumer": "c", "stream_id": "b", "last_version": 4},
            ],
        )
        await VERSIONS.execute(conn, [{"consumer": "c", "stream_id": "a", "last_version": 3}])
        await VERSIONS.execute(conn, [])  # an empty batch sends nothing
        rows = (
            await conn.execute(
                sa.select(consumer_streams.c.stream_id, consumer_streams.c.last_version)
                .where(consumer_streams.c.consumer == "c")
                .order_by(consumer_streams.c.stream_id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("a", 3), ("b", 4)]


async def test_do_nothing_keeps_the_row_already_stored(
    engine: AsyncEngine,
) -> None:
    event = uuid.uuid4()

    def row(offset: int) -> dict[str, object]:
        return {
            "consumer": "c",
            "event_id": event,
            "topic": "yidi.t",
            "partition": 0,
            "offset": offset,
            "outcome": "applied",
        }

    async with engine.begin() as conn:
        await RECORDED.execute(conn, [row(7)])
        await RECORDED.execute(conn, [row(8), row(9)])
        offsets = (
            await conn.scalars(
                sa.select(consumed_events.c.offset).where(consumed_events.c.event_id == event)
            )
        ).all()
    assert offsets == [7]
