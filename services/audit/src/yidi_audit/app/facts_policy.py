"""Settlement and filing facts -> each person's audit history -> the rules -> flags and cases.

Two projections (one per source topic, so each source's stream versions are tracked apart), both
wired in `bootstrap.subscriptions()`. Fee lines uploaded before settlement are kept per visit and
attached to the settlement that follows; a cancellation removes its settlement from evidence.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_audit.adapters import history
from yidi_audit.adapters.tables import DEATH_TABLES, FACT_TABLES
from yidi_audit.app import flagging
from yidi_audit.app.context import Audit
from yidi_audit.domain.engine import evaluate
from yidi_audit.domain.facts import (
    CancelledSettlement,
    Fact,
    FeeLine,
    PersonDeath,
    SettledVisit,
)
from yidi_events.contracts.filing import PersonDied
from yidi_events.contracts.settlement import (
    FeeLinesCancelled,
    FeeLineSplit,
    FeeLinesUploaded,
    SettlementCancelled,
    SettlementReversed,
    VisitSettled,
)
from yidi_events.envelope import Envelope
from yidi_events.kernel import business_date
from yidi_events.runtime.projection import Projection


def fee_line(split: FeeLineSplit, fallback_day: date) -> FeeLine:
    return FeeLine(
        catalogue_code=split.catalogue_code,
        charge_category=split.charge_category or "",
        fee_date=split.fee_date or fallback_day,
        quantity=split.quantity,
        unit_price=split.unit_price,
        amount=split.amount,
        fee_line_no=split.fee_line_no,
        in_policy=split.in_policy,
        returned_line=split.returned_line,
    )


def settled_visit(env: Envelope, lines: tuple[FeeLine, ...]) -> SettledVisit:
    s: VisitSettled = env.payload
    return SettledVisit(
        event_id=str(env.event_id),
        settlement_id=s.settlement_id,
        visit_id=s.visit_id,
        person_id=s.person_id,
        institution_code=s.institution_code,
        visit_region=s.visit_region,
        insured_region=s.insured_region,
        insurance_type=s.insurance_type,
        medical_type=s.medical_type,
        admitted_on=s.admitted_on,
        discharged_on=s.discharged_on,
        settled_on=business_date(s.settled_at),
        principal_diagnosis=s.principal_diagnosis or "",
        total_fee=s.totals.total_fee,
        fund_total=s.totals.fund_total,
        fee_lines=lines,
    )


async def on_fact(audit: Audit, conn: AsyncConnection, fact: Fact) -> int:
    """Evaluate the fact against the person's history, store it, record what it raises."""
    past = await history.load_history(conn, fact.person_id)
    if not await history.add_fact(conn, fact):
        return 0  # already in the history: it raised whatever it raises the first time
    raised = evaluate(past, fact, audit.settings.rules)
    visit = fact if isinstance(fact, SettledVisit) else None
    return await flagging.record(audit, audit.unit_on(conn), raised, visit)


def settlement_projection(audit: Audit) -> Projection:
    projection = Projection("audit.settlement_facts", FACT_TABLES)

    @projection.on(FeeLinesUploaded)
    async def uploaded(conn: AsyncConnection, env: Envelope) -> None:
        e: FeeLinesUploaded = env.payload
        day = business_date(e.uploaded_at)
        lines = [fee_line(s, day) for s in e.lines]
        await history.put_fee_lines(conn, e.visit_id, e.person_id, lines)

    @projection.on(FeeLinesCancelled)
    async def withdrawn(conn: AsyncConnection, env: Envelope) -> None:
        e: FeeLinesCancelled = env.payload
        await history.drop_fee_lines(conn, e.visit_id, e.fee_line_nos)

    @projection.on_batch(VisitSettled)
    async def settled(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        # `on_fact` for each, in order, with the reads and writes done once for the run: the
        # persons' histories, the visits' pending fee lines, the new facts.
        visit_ids = list(dict.fromkeys(env.payload.visit_id for env in envs))
        pending = await history.visits_fee_lines(conn, visit_ids)
        # The lines belong to the visit's first settlement here; a later mid-stay settlement of
        # the same visit carries only the lines uploaded after it, so no line is counted twice.
        facts = [settled_visit(env, pending.pop(env.payload.visit_id, ())) for env in envs]
        known = await history.load_histories(conn, [f.person_id for f in facts])
        added = await history.add_visits(conn, facts)
        await _evaluate_added(audit, conn, facts, known, added)
        await history.clear_visits_fee_lines(conn, visit_ids)

    @projection.on(SettlementCancelled)
    async def cancelled(conn: AsyncConnection, env: Envelope) -> None:
        e: SettlementCancelled = env.payload
        fact = CancelledSettlement(
            event_id=str(env.event_id),
            settlement_id=e.original_settlement_id,
            person_id=e.person_id,
            cancelled_on=business_date(e.cancelled_at),
        )
        await on_fact(audit, conn, fact)
        await history.pool_cancel(conn, e.original_settlement_id)

    @projection.on(SettlementReversed)
    async def reversed_(conn: AsyncConnection, env: Envelope) -> None:
        e: SettlementReversed = env.payload
        # A reversed settlement comes with its cancellation (above); only a reversed
        # cancellation changes the evidence: its settlement stands again.
        if e.reinstated_settlement_id is not None:
            await history.reinstate(conn, e.reinstated_settlement_id)

    return projection


def filing_projection(audit: Audit) -> Projection:
    projection = Projection("audit.filing_facts", DEATH_TABLES)

    @projection.on_batch(PersonDied)
    async def died(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        # `on_fact` for each, in order, with the persons' histories read and the deaths written
        # once for the run.
        facts = [
            PersonDeath(
                event_id=str(env.event_id),
                person_id=env.payload.person_id,
                death_date=env.payload.death_date,
            )
            for env in envs
        ]
        known = await history.load_histories(conn, [f.person_id for f in facts])
        added = await history.add_deaths(conn, facts)
        await _evaluate_added(audit, conn, facts, known, added)

    return projection


async def _evaluate_added(
    audit: Audit,
    conn: AsyncConnection,
    facts: Sequence[SettledVisit] | Sequence[PersonDeath],
    known: dict[str, tuple[list[Fact], list[Fact]]],
    added: set[str],
) -> None:
    """`on_fact` for a run of facts, in order, against histories read once for the run: each fact
    the history did not hold yet is evaluated on the person's history as it stood before it, then
    joins it, so the next fact of the same person sees it."""
    for fact in facts:
        if fact.event_id not in added:
            continue  # already in the history: it raised whatever it raises the first time
        added.discard(fact.event_id)
        visits, deaths = known[fact.person_id]
        raised = evaluate([*visits, *deaths], fact, audit.settings.rules)
        # The history is in event order, as `load_history` reads it.
        new_visit = fact if isinstance(fact, SettledVisit) else None
        bisect.insort(visits if new_visit else deaths, fact, key=lambda f: f.event_id)
        await flagging.record(audit, audit.unit_on(conn), raised, new_visit)
