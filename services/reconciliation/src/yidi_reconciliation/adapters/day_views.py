"""Projections of the day-statement events, one row per (pair, business date) each:
`day_statements` (the read model the agencies see) and `day_state` with `day_settlement_ids` (the
`DayHead` that recording a settlement decides on, and the stream version it appends after).

Applied inline after every append (same transaction) and rebuildable with `rebuild_from_store`;
the handlers only add, set flags or count, and `day_state` holds what the domain's `evolve_head`
computes, so a rebuild in store order equals the live tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.application import Unit
from yidi_events.contracts.reconciliation import (
    DayClosed,
    DaySettlementRecorded,
    DisputedSettlementReleased,
)
from yidi_events.db import any_of
from yidi_events.envelope import Envelope
from yidi_events.paging import Keyset, Page, PageRequest, keyset_query, page_of
from yidi_events.runtime.projection import Projection
from yidi_events.store.columns import ColumnsInsert
from yidi_reconciliation.adapters.tables import day_settlement_ids, day_state, day_statements
from yidi_reconciliation.domain.day_statement import DayHead, DayId, evolve_head
from yidi_reconciliation.domain.events import (
    DayConfirmed,
    DayReopened,
    DayStatementIssued,
    DisputeResolved,
    SettlementDisputed,
)

_FIGURES = ("count", "total_fee", "fund_total", "account_paid", "cash_paid")


def _row(payload: Any) -> Any:
    return sa.and_(
        day_statements.c.pair == payload.pair,
        day_statements.c.business_date == payload.business_date,
    )


def _state_row(payload: Any) -> Any:
    return sa.and_(
        day_state.c.pair == payload.pair, day_state.c.business_date == payload.business_date
    )


def _head_columns(head: DayHead) -> dict[str, Any]:
    return {
        "issued": head.issued,
        "confirmed_by": sorted(head.confirmed_by),
        "closed": head.closed,
        "open_disputes": sorted(head.open_disputes),
    }


async def _advance_state(conn: AsyncConnection, env: Envelope) -> None:
    """Move the day's `day_state` row (and its settlement ids) past one more event of its stream,
    to what the domain's `evolve_head` makes of it.

    Every event of a day stream passes here or through the recorded facts' batch handler (which
    creates the row), so the row's version is the stream's."""
    e = env.payload
    kept = await _kept_head(conn, DayId(e.insured_region, e.visit_region, e.business_date))
    head = evolve_head(kept[0] if kept else DayHead(), e)
    await conn.execute(
        day_state.update()
        .where(_state_row(e))
        .values(version=env.stream_version, **_head_columns(head))
    )


async def _kept_head(conn: AsyncConnection, day: DayId) -> tuple[DayHead, int] | None:
    row = (
        await conn.execute(
            sa.select(day_state).where(
                day_state.c.pair == day.pair, day_state.c.business_date == day.business_date
            )
        )
    ).first()
    if row is None:
        return None
    head = DayHead(
        day=DayId(row.insured_region, row.visit_region, row.business_date),
        issued=row.issued,
        confirmed_by=frozenset(row.confirmed_by),
        closed=row.closed,
        open_disputes=frozenset(row.open_disputes),
    )
    return head, int(row.version)


async def day_head(conn: AsyncConnection, day: DayId) -> tuple[DayHead, int]:
    """The day's head and the version of its stream; an empty head at version 0 for a new day."""
    return await _kept_head(conn, day) or (DayHead(), 0)


class PostgresDayRows:
    """The handlers' `DayRows` on PostgreSQL: the rows above, and an advisory lock per day."""

    async def lock(self, unit: Unit, day: DayId) -> None:
        # Writers of one day (the consumer and agency commands) queue here instead of failing on
        # the stream version; the version check still guards against anything that slips by.
        # Taken again by the same transaction, it is already held: a re-lock does not wait.
        await unit.conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:stream, 0))"),
            {"stream": day.stream_id},
        )

    async def head(self, unit: Unit, stream_id: str) -> tuple[DayHead, int] | None:
        return await _kept_head(unit.conn, DayId.of_stream(stream_id))

    async def holds(self, unit: Unit, day: DayId, settlement_id: str) -> bool:
        found = await unit.conn.scalar(
            sa.select(sa.literal(True)).where(
                day_settlement_ids.c.pair == day.pair,
                day_settlement_ids.c.business_date == day.business_date,
                day_settlement_ids.c.settlement_id == settlement_id,
            )
        )
        return bool(found)

    async def held(self, unit: Unit, day: DayId, settlement_ids: Sequence[str]) -> set[str]:
        found = await unit.conn.scalars(
            sa.select(day_settlement_ids.c.settlement_id).where(
                day_settlement_ids.c.pair == day.pair,
                day_settlement_ids.c.business_date == day.business_date,
                any_of(day_settlement_ids.c.settlement_id, settlement_ids),
            )
        )
        return set(found)

    async def unissued(self, unit: Unit, business_date: date) -> list[DayId]:
        rows = await days_of(unit.conn, region=None, business_date=business_date)
        return [
            DayId(r.insured_region, r.visit_region, r.business_date) for r in rows if not r.issued
        ]


def make_day_projection() -> Projection:
    projection = Projection("reconciliation.days", [day_statements, day_state, day_settlement_ids])
    # Built once: the live path runs them for every append of a settlement to its day, and
    # building an upsert (its `excluded` columns above all) cost more than sending it.
    state = insert(day_state)
    move_state = state.on_conflict_do_update(
        index_elements=["pair", "business_date"], set_={"version": state.excluded.version}
    )
    add_ids = ColumnsInsert(
        day_settlement_ids, ["pair", "business_date", "settlement_id"], nothing=True
    )
    figures = insert(day_statements)
    add_figures = figures.on_conflict_do_update(
        index_elements=["pair", "business_date"],
        set_={f: day_statements.c[f] + figures.excluded[f] for f in _FIGURES},
    )

    @projection.on_batch(DaySettlementRecorded)
    async def recorded(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        # Folded per day in memory: its state row at the run's last version, its ids, and its
        # figures summed, one multi-row statement per table (an upsert touches a row once).
        states: dict[tuple[str, date], dict[str, Any]] = {}
        sums: dict[tuple[str, date], dict[str, Any]] = {}
        ids: list[dict[str, Any]] = []
        for env in envs:
            e: DaySettlementRecorded = env.payload
            s = e.settlement
            key = (e.pair, e.business_date)
            ids.append(
                {"pair": e.pair, "business_date": e.business_date, "settlement_id": s.settlement_id}
            )
            if key not in states:
                day = {
                    "pair": e.pair,
                    "business_date": e.business_date,
                    "insured_region": e.insured_region,
                    "visit_region": e.visit_region,
                }
                states[key] = day | _head_columns(evolve_head(DayHead(), e))
                sums[key] = (
                    day
                    | dict.fromkeys(_FIGURES, 0)
                    | {
                        "issued": False,
                        "insured_confirmed": False,
                        "visit_confirmed": False,
                        "open_disputes": 0,
                        "closed": False,
                        "close_count": 0,
                    }
                )
            states[key]["version"] = env.stream_version
            row = sums[key]
            row["count"] += 1
            for f in _FIGURES[1:]:
                row[f] += getattr(s, f)
        await conn.execute(move_state, list(states.values()))
        await add_ids.execute(conn, ids)
        await conn.execute(add_figures, list(sums.values()))

    @projection.on(DayStatementIssued)
    async def issued(conn: AsyncConnection, env: Envelope) -> None:
        await _advance_state(conn, env)
        await conn.execute(day_statements.update().where(_row(env.payload)).values(issued=True))

    @projection.on(DayConfirmed)
    async def confirmed(conn: AsyncConnection, env: Envelope) -> None:
        await _advance_state(conn, env)
        e: DayConfirmed = env.payload
        column = "insured_confirmed" if e.agency_region == e.insured_region else "visit_confirmed"
        await conn.execute(day_statements.update().where(_row(e)).values({column: True}))

    @projection.on(DayReopened)
    async def reopened(conn: AsyncConnection, env: Envelope) -> None:
        await _advance_state(conn, env)
        await conn.execute(
            day_statements.update()
            .where(_row(env.payload))
            .values(insured_confirmed=False, visit_confirmed=False, closed=False)
        )

    @projection.on(SettlementDisputed)
    async def disputed(conn: AsyncConnection, env: Envelope) -> None:
        await _advance_state(conn, env)
        await conn.execute(
            day_statements.update()
            .where(_row(env.payload))
            .values(open_disputes=day_statements.c.open_disputes + 1)
        )

    @projection.on(DisputeResolved)
    async def resolved(conn: AsyncConnection, env: Envelope) -> None:
        await _advance_state(conn, env)
        await conn.execute(
            day_statements.update()
            .where(_row(env.payload))
            .values(open_disputes=day_statements.c.open_disputes - 1)
        )

    @projection.on(DayClosed)
    async def closed(conn: AsyncConnection, env: Envelope) -> None:
        await _advance_state(conn, env)
        e: DayClosed = env.payload
        await conn.execute(
            day_statements.update()
            .where(_row(e))
            .values(closed=True, close_count=e.close_number, closed_at=e.closed_at)
        )

    @projection.on(DisputedSettlementReleased)
    async def released(conn: AsyncConnection, env: Envelope) -> None:
        await _advance_state(conn, env)  # the read model does not show releases

    return projection


def view(row: Any) -> dict[str, Any]:
    """A day as the agency API shows it."""
    return {
        "pair": row.pair,
        "insured_region": row.insured_region,
        "visit_region": row.visit_region,
        "business_date": row.business_date.isoformat(),
        "totals": {f: row._mapping[f] for f in _FIGURES},  # Row.count is a tuple method
        "issued": row.issued,
        "confirmed_by": [
            region
            for region, done in (
                (row.insured_region, row.insured_confirmed),
                (row.visit_region, row.visit_confirmed),
            )
            if done
        ],
        "open_disputes": row.open_disputes,
        "closed": row.closed,
        "close_count": row.close_count,
    }


# A pair has one statement a day: (day, pair) orders the days uniquely.
DAYS = Keyset((day_statements.c.business_date, day_statements.c.pair))


async def days_of(
    conn: AsyncConnection,
    *,
    region: str | None,
    business_date: date | None = None,
    start: date | None = None,
    end: date | None = None,
    closed: bool | None = None,
) -> list[Any]:
    query = _days(region, business_date, start, end, closed)
    query = query.order_by(day_statements.c.business_date, day_statements.c.pair)
    return list((await conn.execute(query)).all())


async def days_page(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    region: str | None,
    business_date: date | None = None,
    start: date | None = None,
    end: date | None = None,
    closed: bool | None = None,
) -> Page[Any]:
    """`days_of`, one page of it after the page's cursor."""
    query = keyset_query(_days(region, business_date, start, end, closed), DAYS, page)
    return page_of((await conn.execute(query)).all(), DAYS, page)


def _days(
    region: str | None,
    business_date: date | None,
    start: date | None,
    end: date | None,
    closed: bool | None,
) -> sa.Select[Any]:
    query = sa.select(day_statements)
    if region is not None:
        query = query.where(
            sa.or_(
                day_statements.c.insured_region == region, day_statements.c.visit_region == region
            )
        )
    if business_date is not None:
        query = query.where(day_statements.c.business_date == business_date)
    if start is not None:
        query = query.where(day_statements.c.business_date >= start)
    if end is not None:
        query = query.where(day_statements.c.business_date <= end)
    if closed is not None:
        query = query.where(day_statements.c.closed.is_(closed))
    return query
