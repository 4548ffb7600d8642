"""The visit place's fee review: deduct fund money of a settlement's lines (审核扣款)."""

from __future__ import annotations

from yidi_audit.app.context import Audit
from yidi_audit.domain import fee_review as fr
from yidi_audit.domain.guards import Actor
from yidi_events.application import Unit


async def deduct_in(audit: Audit, unit: Unit, actor: Actor, command: fr.DeductionCommand) -> None:
    """Decide and append a deduction inside `unit` (a 协查 answer decides one with its answer)."""
    visit, cancelled = await audit.reads.settlement(unit, command.settlement_id)
    await audit.write.decide(
        unit,
        fr.stream_id(command.settlement_id),
        fr.FEE_REVIEW,
        lambda state: fr.decide_deduction(state, visit, cancelled, actor, command, audit.today()),
    )


async def deduct(audit: Audit, actor: Actor, command: fr.DeductionCommand) -> None:
    await audit.write.transact(lambda unit: deduct_in(audit, unit, actor, command))
