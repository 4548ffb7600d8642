"""Policy: audit's suspension of direct settlement becomes a fact on the person (filing events),
so the settlement side sees one benefit status for each person.

Runs inside the consumer's transaction (a unit over its connection): load the person, decide,
append, project. A suspension of someone this service never enrolled, or who has died, changes
nothing here (audit also publishes it to settlement directly); redelivery is a no-op by the
decider.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.application import Unit
from yidi_events.contracts.audit import DirectSettlementSuspended, DirectSettlementSuspensionEnded
from yidi_events.envelope import Envelope
from yidi_events.kernel import Conflict, NotFound, business_date
from yidi_events.runtime.projection import Projection
from yidi_filing.app.common import Context, person_stream
from yidi_filing.app.persons import Decision
from yidi_filing.domain import person as model
from yidi_filing.domain.person import PERSON

log = structlog.get_logger(__name__)

NAME = "filing.audit_suspensions"


def audit_suspensions(ctx: Context) -> Projection:
    projection = Projection(NAME, [])

    @projection.on(DirectSettlementSuspended)
    async def suspended(conn: AsyncConnection, env: Envelope) -> None:
        # The consumer opened the transaction; the reaction writes inside it.
        await suspend_direct_settlement(ctx, ctx.runtime.unit_on(conn), env.payload)

    @projection.on(DirectSettlementSuspensionEnded)
    async def ended(conn: AsyncConnection, env: Envelope) -> None:
        await end_direct_settlement_suspension(ctx, ctx.runtime.unit_on(conn), env.payload)

    return projection


async def suspend_direct_settlement(
    ctx: Context, unit: Unit, event: DirectSettlementSuspended
) -> None:
    await _apply(
        ctx,
        unit,
        event.person_id,
        lambda person, now: model.decide_suspend_by_audit(
            person,
            event.case_id,
            event.suspended_from,
            event.suspended_until,
            f"audit case {event.case_id} decided by {event.decided_by}",
            now,
        ),
    )


async def end_direct_settlement_suspension(
    ctx: Context, unit: Unit, event: DirectSettlementSuspensionEnded
) -> None:
    await _apply(
        ctx,
        unit,
        event.person_id,
        lambda person, now: model.decide_end_audit_suspension(
            person, event.case_id, event.ended_on, f"audit suspension ended: {event.reason}", now
        ),
    )


async def _apply(ctx: Context, unit: Unit, person_id: str, decide: Decision) -> None:
    person = await ctx.write.load(unit, person_stream(person_id), PERSON)
    now = ctx.now()
    try:
        new = decide(person.state, now)
    except (NotFound, Conflict) as exc:
        log.info("audit_suspension.ignored", person_id=person_id, rule=exc.rule)
        return
    await ctx.write.append(unit, person.stream_id, person.version, new, day=business_date(now))
