"""Audit's own read models applied a run at a time (a rebuild's page, an append of many) leave the
tables as the facts applied one by one do: the facts that insert a row of their own go in one
statement per table, a flag raised again keeps the row first written (its amount, and its case
once a case took it), and a fact that updates (a ticket's reply, a case opened) still lands after
the insert before it and before the facts after it.

Patient P (insured in Suzhou 320500) settled visit S1 in Nanjing (320100). The facts, in order: flag
F1 raised (120.00 yuan at issue), clawback C1 (30.00), ticket T1 raised, F1 raised again with
another amount, complaint M1 received in Nanjing, fee deduction D1 (45.00 over two lines), T1
replied, clawback C2 (10.00), case K1 opened on F1, F1 raised a third time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_audit import bootstrap
from yidi_audit.adapters import tables as t
from yidi_audit.adapters.read_models import own_projection
from yidi_audit.domain import events as ev
from yidi_events.contracts import audit as published
from yidi_events.db import make_engine
from yidi_events.kernel import SystemClock
from yidi_events.runtime.projection import Projection, rebuild_from_store
from yidi_events.store import EventStore, NewEvent, StreamAppend

SUZHOU, NANJING = "320500", "320100"
ON = date(2026, 3, 16)
EVIDENCE = ev.EvidenceSettlement(
    event_id="e-S1",
    settlement_id="S1",
    visit_id="V1",
    institution_code="H1",
    visit_region=NANJING,
    insured_region=SUZHOU,
    insurance_type="310",
    fund_total=50_000,
)


def flag(amount: int) -> ev.FlagRaised:
    return ev.FlagRaised(
        flag_id="F1",
        rule_id="R-split",
        rule_version=1,
        person_id="P",
        institution_code="H1",
        evidence_event_ids=("e-S1",),
        settlement_ids=("S1",),
        evidence=(EVIDENCE,),
        amount_at_issue=amount,
        detail="split stay",
        raised_on=ON,
    )


def clawback(clawback_id: str, amount: int) -> published.ClawbackDecided:
    return published.ClawbackDecided(
        clawback_id=clawback_id,
        case_id="K0",
        person_id="P",
        settlement_ids=("S1",),
        insured_region=SUZHOU,
        visit_region=NANJING,
        insurance_type="310",
        amount=amount,
        decided_by="centre",
        decided_on=ON,
    )


FACTS: list[tuple[str, Any]] = [
    ("flag-F1", flag(12_000)),
    ("clawback-C1", clawback("C1", 3_000)),
    (
        "ticket-T1",
        ev.TicketRaised(
            ticket_id="T1",
            kind=ev.TicketKind.FILING,
            requester_region=NANJING,
            receiver_region=SUZHOU,
            subject="filing of P",
            person_id="P",
            raised_on=ON,
            reply_by=date(2026, 3, 23),
        ),
    ),
    ("flag-F1b", flag(99_999)),
    (
        "complaint-M1",
        ev.ComplaintReceived(
            complaint_id="M1",
            agency_region=NANJING,
            person_id="P",
            channel="phone",
            summary="refused at the counter",
            received_on=ON,
            acknowledge_by=date(2026, 3, 18),
        ),
    ),
    (
        "deduction-D1",
        published.FeeDeductionDecided(
            deduction_id="D1",
            source=published.DeductionSource.FEE_REVIEW,
            settlement_id="S1",
            person_id="P",
            institution_code="H1",
            department=None,
            insured_region=SUZHOU,
            visit_region=NANJING,
            insurance_type="310",
            settled_on=ON,
            lines=(
                published.DeductedLine(fee_line_id="L1", amount=3_000, reason="over the cap"),
                published.DeductedLine(fee_line_id="L2", amount=1_500, reason="not indicated"),
            ),
            amount=4_500,
            reason="fee review",
            evidence="review 7",
            decided_by="centre",
            decided_on=ON,
        ),
    ),
    (
        "ticket-T1",
        ev.TicketReplied(
            ticket_id="T1", answer="filed", replied_on=ON, confirm_by=date(2026, 3, 20), late=False
        ),
    ),
    ("clawback-C2", clawback("C2", 1_000)),
    (
        "case-K1",
        ev.CaseOpened(
            case_id="K1",
            rule_id="R-split",
            person_id="P",
            institution_code="H1",
            visit_region=NANJING,
            insured_region=SUZHOU,
            flag_id="F1",
            evidence=(EVIDENCE,),
            opened_on=ON,
        ),
    ),
    ("flag-F1c", flag(77_777)),
]

# Worked from the facts above (a region's city is its first four digits).
CITIES = ["3201", "3205"]
EXPECTED = {
    "flags": [("F1", 12_000, CITIES, ["S1"], "K1")],
    "clawbacks": [("C1", 3_000, ["S1"]), ("C2", 1_000, ["S1"])],
    "deductions": [("D1", "fee_review", 4_500, CITIES, 2)],
    "tickets": [("T1", "replied", CITIES, "filed")],
    "complaints": [("M1", "3201", "received", date(2026, 3, 18))],
}


async def append(
    engine: AsyncEngine,
    versions: dict[str, int],
    projection: Projection,
    facts: Sequence[tuple[str, Any]],
) -> None:
    """Append the facts, each to its stream, in one transaction and project them as one run."""
    store = EventStore("audit", SystemClock())
    async with engine.begin() as conn:
        envelopes = []
        for stream, fact in facts:
            version = versions.get(stream, 0)
            (sealed,) = await store.append_streams(
                conn, [StreamAppend(stream, version, [NewEvent(fact, ON)])]
            )
            versions[stream] = version + 1
            envelopes.extend(sealed)
        await projection.apply_many(conn, envelopes)


async def state(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:

        async def rows(query: Any) -> list[tuple[Any, ...]]:
            return sorted(tuple(r) for r in await conn.execute(query))

        return {
            "flags": await rows(
                sa.select(
                    t.flags.c.flag_id,
                    t.flags.c.amount_at_issue,
                    t.flags.c.cities,
                    t.flags.c.settlement_ids,
                    t.flags.c.case_id,
                )
            ),
            "clawbacks": await rows(
                sa.select(
                    t.clawbacks.c.clawback_id, t.clawbacks.c.amount, t.clawbacks.c.settlement_ids
                )
            ),
            "deductions": await rows(
                sa.select(
                    t.fee_deductions.c.deduction_id,
                    t.fee_deductions.c.source,
                    t.fee_deductions.c.amount,
                    t.fee_deductions.c.cities,
                    sa.func.jsonb_array_length(t.fee_deductions.c.lines),
                )
            ),
            "tickets": await rows(
                sa.select(
                    t.tickets.c.ticket_id,
                    t.tickets.c.status,
                    t.tickets.c.cities,
                    t.tickets.c.answer,
                )
            ),
            "complaints": await rows(
                sa.select(
                    t.complaints.c.complaint_id,
                    t.complaints.c.city,
                    t.complaints.c.status,
                    t.complaints.c.due,
                )
            ),
        }


async def test_a_run_of_audit_facts_reads_as_the_facts_one_by_one(
    database: Callable[..., str],
) -> None:
    projection = own_projection()
    one_by_one = make_engine(database(bootstrap.MIGRATIONS))
    at_once = make_engine(database(bootstrap.MIGRATIONS))
    streams: dict[AsyncEngine, dict[str, int]] = {one_by_one: {}, at_once: {}}
    try:
        for fact in FACTS:
            await append(one_by_one, streams[one_by_one], projection, [fact])
        await append(at_once, streams[at_once], projection, FACTS)

        for engine in (one_by_one, at_once):
            assert await state(engine) == EXPECTED
        # A rebuild reads the store in one page: the same rows.
        store = EventStore("audit", SystemClock())
        assert await rebuild_from_store(at_once, store, projection) == len(FACTS)
        assert await state(at_once) == EXPECTED
    finally:
        await one_by_one.dispose()
        await at_once.dispose()
