"""Policy: audit's suspension of direct settlement becomes a fact on the person (filing events),
so the settlement side sees one benefit status for each person.

Runs inside the consumer's transaction (same conn): load the person, decide, append, project.
A suspension of someone this service never enrolled, or who has died, changes nothing here
(audit also publishes it to settlement directly); redelivery is a no-op by the decider.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.contracts.audit import DirectSettlementSuspended, DirectSettlementSuspensionEnded
from yidi_events.envelope import Envelope
from yidi_events.kernel import Conflict, NotFound
from yidi_events.runtime.projection import Projection
from yidi_filing.app.common import Context, person_stream
from yidi_filing.app.persons import Decision, load_person
from yidi_filing.domain import person as model

log = structlog.get_logger(__name__)

NAME = "filing.audit_suspensions"


def audit_suspensions(ctx: Context) -> Projection:
    projection = Projection(NAME, [])

    @projection.on(DirectSettlementSuspended)
    async def suspended(conn: AsyncConnection, env: Envelope) -> None:
        e: DirectSettlementSuspended = env.payload
        await _apply(
            ctx,
            conn,
            e.person_id,
            lambda person, now: model.decide_suspend_by_audit(
                person,
                e.case_id,
                e.suspended_from,
                e.suspended_until,
                f"audit case {e.case_id} decided by {e.decided_by}",
                now,
            ),
        )

    @projection.on(DirectSettlementSuspensionEnded)
    async def ended(conn: AsyncConnection, env: Envelope) -> None:
        e: DirectSettlementSuspensionEnded = env.payload
        await _apply(
            ctx,
            conn,
            e.person_id,
            lambda person, now: model.decide_end_audit_suspension(
                person, e.case_id, e.ended_on, f"audit suspension ended: {e.reason}", now
            ),
        )

    return projection


async def _apply(ctx: Context, conn: AsyncConnection, person_id: str, decide: Decision) -> None:
    person, version = await load_person(ctx, conn, person_id)
    now = ctx.now()
    try:
        new = decide(person, now)
    except (NotFound, Conflict) as exc:
        log.info("audit_suspension.ignored", person_id=person_id, rule=exc.rule)
        return
    await ctx.append(conn, person_stream(person_id), version, new, now)
