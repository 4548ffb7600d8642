"""Handlers of the person's year and account at the insured place: local settlements at home (one,
or a file of them, all or nothing) and the reaction counting the visit place's ledger movements.

The reaction runs inside the consumer's transaction (a unit over its connection), which already
skips a movement it has seen and parks one that arrives before its predecessor; the decision
itself also counts each ledger sequence once (domain/person_year.py).
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.application import Unit
from yidi_events.auth.agency import Principal
from yidi_events.contracts.reimbursement import ClaimApproved
from yidi_events.contracts.settlement import PersonLedgerMoved
from yidi_events.envelope import Envelope
from yidi_events.kernel import DomainError, NotFound, business_date
from yidi_events.runtime.projection import Projection
from yidi_filing.app.common import (
    Context,
    person_stream,
    policy_stream,
    require_agency,
    require_own_region,
)
from yidi_filing.app.persons import RowErrors
from yidi_filing.domain import person_year as model
from yidi_filing.domain.local_settlement_import import parse_local_settlements
from yidi_filing.domain.person import PERSON, Person, PersonEvent, enrolled
from yidi_filing.domain.policy_book import book_of
from yidi_filing.domain.record_files import FileFormat, RowError

log = structlog.get_logger(__name__)

NAME = "filing.visit_ledger"
CLAIMS = "filing.reimbursed_claims"


async def record_local_settlement(
    ctx: Context, principal: Principal, person_id: str, local: model.LocalSettlement
) -> None:
    async def work(unit: Unit) -> None:
        person = await ctx.write.load(unit, person_stream(person_id), PERSON)
        if person.state is None:
            require_agency(principal)
        else:
            require_own_region(principal, person.state.insured_region, field="person_id")
        now = ctx.now()
        new = await _record(ctx, unit, person.state, local, now)
        await ctx.write.append(unit, person.stream_id, person.version, new, day=business_date(now))

    await ctx.write.transact(work)


async def _record(
    ctx: Context, unit: Unit, person: Person | None, local: model.LocalSettlement, now: datetime
) -> list[PersonEvent]:
    """Decide on the person and the policy book of their scheme, which dates the year."""
    enrolled_person = enrolled(person)
    region, scheme = enrolled_person.insured_region, enrolled_person.insurance_type
    book = await ctx.write.load(unit, policy_stream(region, scheme.value), book_of(region, scheme))
    return model.decide_record_local_settlement(person, local, book.state, now)


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
                new = await _record(ctx, unit, person.state, local, now)
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


def reimbursed_claims(ctx: Context) -> Projection:
    """Approved manual claims move the person's year at home, each counted once."""
    projection = Projection(CLAIMS, [])

    @projection.on(ClaimApproved)
    async def approved(conn: AsyncConnection, env: Envelope) -> None:
        await count_claim(ctx, ctx.runtime.unit_on(conn), env.payload)

    return projection


async def count_claim(ctx: Context, unit: Unit, approved: ClaimApproved) -> None:
    person = await ctx.write.load(unit, person_stream(approved.person_id), PERSON)
    now = ctx.now()
    try:
        new = model.decide_count_claim(person.state, approved, now)
    except NotFound as exc:
        log.info("reimbursed_claims.ignored", person_id=approved.person_id, rule=exc.rule)
        return
    await ctx.write.append(unit, person.stream_id, person.version, new, day=business_date(now))
