"""Read model of the day-statement events: one `day_statements` row per (pair, business date).

Applied inline after every append (same transaction) and rebuildable with `rebuild_from_store`;
the handlers only add, set flags or count, so a rebuild in store order equals the live table.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.contracts.reconciliation import (
    DayClosed,
    DayConfirmed,
    DayReopened,
    DaySettlementRecorded,
    DayStatementIssued,
    DisputeResolved,
    SettlementDisputed,
)
from yidi_events.envelope import Envelope
from yidi_events.runtime.projection import Projection
from yidi_reconciliation.adapters.tables import day_statements

_FIGURES = ("count", "total_fee", "fund_total", "account_paid", "cash_paid")


def _row(payload: Any) -> Any:
    return sa.and_(
        day_statements.c.pair == payload.pair,
        day_statements.c.business_date == payload.business_date,
    )


def make_day_projection() -> Projection:
    projection = Projection("reconciliation.days", [day_statements])

    @projection.on(DaySettlementRecorded)
    async def recorded(conn: AsyncConnection, env: Envelope) -> None:
        e: DaySettlementRecorded = env.payload
        s = e.settlement
        stmt = insert(day_statements).values(
            pair=e.pair,
            business_date=e.business_date,
            insured_region=e.insured_region,
            visit_region=e.visit_region,
            count=1,
            total_fee=s.total_fee,
            fund_total=s.fund_total,
            account_paid=s.account_paid,
            cash_paid=s.cash_paid,
            issued=False,
            insured_confirmed=False,
            visit_confirmed=False,
            open_disputes=0,
            closed=False,
            close_count=0,
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["pair", "business_date"],
                set_={f: day_statements.c[f] + stmt.excluded[f] for f in _FIGURES},
            )
        )

    @projection.on(DayStatementIssued)
    async def issued(conn: AsyncConnection, env: Envelope) -> None:
        await conn.execute(day_statements.update().where(_row(env.payload)).values(issued=True))

    @projection.on(DayConfirmed)
    async def confirmed(conn: AsyncConnection, env: Envelope) -> None:
        e: DayConfirmed = env.payload
        column = "insured_confirmed" if e.agency_region == e.insured_region else "visit_confirmed"
        await conn.execute(day_statements.update().where(_row(e)).values({column: True}))

    @projection.on(DayReopened)
    async def reopened(conn: AsyncConnection, env: Envelope) -> None:
        await conn.execute(
            day_statements.update()
            .where(_row(env.payload))
            .values(insured_confirmed=False, visit_confirmed=False, closed=False)
        )

    @projection.on(SettlementDisputed)
    async def disputed(conn: AsyncConnection, env: Envelope) -> None:
        await conn.execute(
            day_statements.update()
            .where(_row(env.payload))
            .values(open_disputes=day_statements.c.open_disputes + 1)
        )

    @projection.on(DisputeResolved)
    async def resolved(conn: AsyncConnection, env: Envelope) -> None:
        await conn.execute(
            day_statements.update()
            .where(_row(env.payload))
            .values(open_disputes=day_statements.c.open_disputes - 1)
        )

    @projection.on(DayClosed)
    async def closed(conn: AsyncConnection, env: Envelope) -> None:
        e: DayClosed = env.payload
        await conn.execute(
            day_statements.update()
            .where(_row(e))
            .values(closed=True, close_count=e.close_number, closed_at=e.closed_at)
        )

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


async def days_of(
    conn: AsyncConnection,
    *,
    region: str | None,
    business_date: date | None = None,
    start: date | None = None,
    end: date | None = None,
    closed: bool | None = None,
) -> list[Any]:
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
    query = query.order_by(day_statements.c.business_date, day_statements.c.pair)
    return list((await conn.execute(query)).all())
