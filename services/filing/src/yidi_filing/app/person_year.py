"""Handlers of the person's year and account at the insured place: local settlements at home (one,
or a file of them, all or nothing) and the reaction counting the visit place's ledger movements.

The reaction runs inside the consumer's transaction (a unit over its connection), which already
skips a movement it has seen and parks one that arrives before its predecessor; the decision
itself also counts each ledger sequence once (domain/person_year.py).
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.application import Unit
from yidi_events.auth.agency import Principal
from yidi_events.contracts.settlement import PersonLedgerMoved
from yidi_events.envelope import Envelope
from yidi_events.kernel import DomainError, NotFound, business_date
from yidi_events.runtime.projection import Projection
from yidi_filing.app.common import Context, person_stream, require_agency, require_own_region
from yidi_filing.app.persons import Decision, RowErrors
from yidi_filing.domain import person_year as model
from yidi_filing.domain.local_settlement_import import parse_local_settlements
from yidi_filing.domain.person import PERSON
from yidi_filing.domain.record_files import FileFormat, RowError

log = structlog.get_logger(__name__)

NAME = "filing.visit_ledger"


def record_local_settlement(local: model.LocalSettlement) -> Decision:
    return lambda person, now: model.decide_record_local_settlement(person, local, now)


async def import_local_settlements(
    ctx: Context, principal: Principal, content: str, file_format: FileFormat
) -> int:
    """All or nothing: any row error (in the file, or refused by the person's ledger) refuses
    it all, every error named."""
    require_agency(principal)
    parsed = parse_local_settlements(content, file_format)
    if not parsed.ok:
        raise RowErrors(parsed.errors)

    async def work(unit: Unit) -> int:
        now = ctx.now()
        errors: list[RowError] = []
        for row, (person_id, local) in enumerate(parsed.rows, start=1):
            person = await ctx.write.load(unit, person_stream(person_id), PERSON)
            try:
                if person.state is not None:
                    require_own_region(principal, person.state.insured_region, field="person_id")
                new = model.decide_record_local_settlement(person.state, local, now)
            except DomainError as exc:
                errors.append(RowError(row, exc.field or "", exc.rule, exc.message))
                continue
            await ctx.write.append(
                unit, person.stream_id, person.version, new, day=business_date(now)
            )
        if errors:
            raise RowErrors(errors)
        return len(parsed.rows)

    return await ctx.write.transact(work)


def visit_ledger(ctx: Context) -> Projection:
    projection = Projection(NAME, [])

    @projection.on(PersonLedgerMoved)
    async def moved(conn: AsyncConnection, env: Envelope) -> None:
        await count_visit_movement(ctx, ctx.runtime.unit_on(conn), env.payload)

    return projection


async def count_visit_movement(ctx: Context, unit: Unit, moved: PersonLedgerMoved) -> None:
    person = await ctx.write.load(unit, person_stream(moved.person_id), PERSON)
    now = ctx.now()
    try:
        new = model.decide_count_visit_movement(person.state, moved, now)
    except NotFound as exc:
        # Someone another insured place holds: not this ledger's to count.
        log.info("visit_ledger.ignored", person_id=moved.person_id, rule=exc.rule)
        return
    await ctx.write.append(unit, person.stream_id, person.version, new, day=business_date(now))
