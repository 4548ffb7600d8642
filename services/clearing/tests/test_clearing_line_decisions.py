"""The agencies' decisions on a statement's lines, applied a run at a time (a consumer's batch, a
rebuild's page, clearing_month's one unit of confirmations) leave the lines as the facts say one
by one: each agency once per list, in the stream's order, and the period's head at its last fact.

March between Suzhou (320500) and Nanjing (320100): two lines, one a direction. Suzhou disputes
what it owes Nanjing, then Nanjing confirms it, Suzhou confirms what Nanjing owes it; then
Nanjing's confirmation comes again, Suzhou confirms after all, and Nanjing confirms the other line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa

from yidi_clearing import bootstrap
from yidi_clearing.adapters.tables import period_heads, period_lines
from yidi_clearing.app.periods import stream_of
from yidi_clearing.app.projection import own_projection
from yidi_clearing.domain.events import (
    LineConfirmed,
    LineDisputed,
    StatementGenerated,
    StatementLine,
    StatementPart,
)
from yidi_events.db import make_engine
from yidi_events.kernel import SystemClock
from yidi_events.runtime.projection import rebuild_from_store
from yidi_events.store import EventStore, NewEvent, StreamAppend

NANJING, SUZHOU = "320100", "320500"
PERIOD = "2026-03"
OWED_TO_NANJING = f"{SUZHOU}>{NANJING}"
OWED_TO_SUZHOU = f"{NANJING}>{SUZHOU}"
ON = date(2026, 4, 5)


def line(payer: str, receiver: str, amount: int) -> StatementLine:
    part = StatementPart(
        insurance_type="310",
        fund_paid=amount,
        account_paid=0,
        audit_deducted=0,
        clawed_back=0,
        amount=amount,
        settlement_ids=(f"S-{payer}",),
        audit_deduction_ids=(),
        clawback_ids=(),
    )
    return StatementLine(
        line_id=f"{payer}>{receiver}",
        payer_agency=payer,
        receiver_agency=receiver,
        parts=(part,),
        amount=amount,
    )


def confirmed(line_id: str, agency: str) -> LineConfirmed:
    return LineConfirmed(
        period=PERIOD, line_id=line_id, agency=agency, confirmed_by="clerk", confirmed_on=ON
    )


async def test_a_run_of_decisions_reads_as_the_facts_one_by_one(
    database: Callable[..., str],
) -> None:
    engine = make_engine(database(bootstrap.MIGRATIONS))
    store = EventStore("clearing", SystemClock())
    projection = own_projection()
    statement = StatementGenerated(
        period=PERIOD,
        input_hash="h",
        generated_on=ON,
        lines=(line(SUZHOU, NANJING, 150_000), line(NANJING, SUZHOU, 90_000)),
        held=(),
    )
    runs: list[list[Any]] = [
        [statement],
        [
            LineDisputed(
                period=PERIOD,
                line_id=OWED_TO_NANJING,
                agency=SUZHOU,
                disputed_by="clerk",
                reason="two visits not ours",
                disputed_on=ON,
            ),
            confirmed(OWED_TO_NANJING, NANJING),
            confirmed(OWED_TO_SUZHOU, SUZHOU),
        ],
        [
            confirmed(OWED_TO_NANJING, NANJING),
            confirmed(OWED_TO_NANJING, SUZHOU),
            confirmed(OWED_TO_SUZHOU, NANJING),
        ],
    ]
    try:
        version = 0
        for facts in runs:
            async with engine.begin() as conn:
                append = StreamAppend(stream_of(PERIOD), version, [NewEvent(f, ON) for f in facts])
                (envelopes,) = await store.append_streams(conn, [append])
                await projection.apply_many(conn, envelopes)
            version += len(facts)

        async def state() -> tuple[dict[str, tuple[list[str], list[str]]], int]:
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        sa.select(
                            period_lines.c.line_id,
                            period_lines.c.confirmed_by,
                            period_lines.c.disputed_by,
                        )
                    )
                ).all()
                head = await conn.scalar(
                    sa.select(period_heads.c.stream_version).where(period_heads.c.period == PERIOD)
                )
            return {r.line_id: (r.confirmed_by, r.disputed_by) for r in rows}, int(head or 0)

        expected = {
            OWED_TO_NANJING: ([NANJING, SUZHOU], [SUZHOU]),
            OWED_TO_SUZHOU: ([SUZHOU, NANJING], []),
        }
        assert await state() == (expected, 7)  # the statement and six decisions

        # A rebuild reads all seven in one page: one run, the same rows.
        assert await rebuild_from_store(engine, store, projection) == 7
        assert await state() == (expected, 7)
    finally:
        await engine.dispose()
