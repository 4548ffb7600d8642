"""Reviewer commands on cases: confirm or dismiss, suspend, claw back, lift; the expiry job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_audit.adapters.tables import suspensions
from yidi_audit.app.context import Audit
from yidi_audit.app.flagging import case_stream
from yidi_audit.domain import cases as d
from yidi_audit.domain.guards import Actor
from yidi_events.db import in_transaction


@dataclass(frozen=True)
class SuspendCommand:
    kind: d.SuspensionKind
    months: int
    starts_on: date | None = None  # today when absent


@dataclass(frozen=True)
class ClawbackCommand:
    amount: int
    settlement_ids: tuple[str, ...] = ()


async def _sanction(
    audit: Audit,
    state: d.CaseState,
    actor: Actor,
    today: date,
    suspend: SuspendCommand | None,
    clawback: ClawbackCommand | None,
) -> list[d.CaseEvent]:
    """Sanctions decided on a confirmed state; each decision sees the ones before it."""
    new: list[d.CaseEvent] = []
    if suspend is not None:
        decide = (
            d.decide_suspend_person
            if suspend.kind is d.SuspensionKind.PERSON
            else d.decide_suspend_hospital
        )
        made = decide(
            state,
            actor,
            suspend.starts_on or today,
            suspend.months,
            today,
            audit.settings.sanctions,
        )
        new += made
        for event in made:
            state = d.evolve(state, event)
    if clawback is not None:
        clawback_id = f"{state.case_id}-{len(state.clawbacks) + 1}"
        new += d.decide_clawback(
            state, actor, clawback_id, clawback.amount, today, clawback.settlement_ids
        )
    return new


async def review(
    audit: Audit,
    case_id: str,
    actor: Actor,
    *,
    confirm: bool,
    reason: str,
    suspend: SuspendCommand | None = None,
    clawback: ClawbackCommand | None = None,
) -> None:
    """Confirm (optionally with sanctions, all or nothing) or dismiss a case."""

    async def work(conn: AsyncConnection) -> None:
        today = audit.today()
        state, version = await audit.load(conn, case_stream(case_id), d.evolve, d.CaseState())
        if confirm:
            new = d.decide_confirm(state, actor, reason, today)
            for event in new:
                state = d.evolve(state, event)
            new += await _sanction(audit, state, actor, today, suspend, clawback)
        else:
            new = d.decide_dismiss(state, actor, reason, today)
        await audit.append(conn, case_stream(case_id), version, new)

    await in_transaction(audit.runtime.engine, work)


async def sanction(
    audit: Audit,
    case_id: str,
    actor: Actor,
    *,
    suspend: SuspendCommand | None = None,
    clawback: ClawbackCommand | None = None,
) -> None:
    async def work(conn: AsyncConnection) -> None:
        state, version = await audit.load(conn, case_stream(case_id), d.evolve, d.CaseState())
        new = await _sanction(audit, state, actor, audit.today(), suspend, clawback)
        await audit.append(conn, case_stream(case_id), version, new)

    await in_transaction(audit.runtime.engine, work)


async def lift(audit: Audit, case_id: str, kind: d.SuspensionKind, actor: Actor) -> None:
    async def work(conn: AsyncConnection) -> None:
        state, version = await audit.load(conn, case_stream(case_id), d.evolve, d.CaseState())
        new = d.decide_lift_suspension(state, kind, actor, audit.today())
        await audit.append(conn, case_stream(case_id), version, new)

    await in_transaction(audit.runtime.engine, work)


async def expire(audit: Audit) -> int:
    """End every suspension whose last day has passed (the daily job); returns how many."""
    today = audit.today()
    async with audit.runtime.engine.connect() as conn:
        due = (
            (
                await conn.execute(
                    sa.select(suspensions.c.case_id)
                    .where(suspensions.c.ended_on.is_(None), suspensions.c.suspended_until < today)
                    .distinct()
                )
            )
            .scalars()
            .all()
        )
    ended = 0
    for case_id in due:

        async def work(conn: AsyncConnection, case_id: str = case_id) -> int:
            state, version = await audit.load(conn, case_stream(case_id), d.evolve, d.CaseState())
            new = d.decide_expire_suspensions(state, today)
            await audit.append(conn, case_stream(case_id), version, new)
            return len(new)

        ended += await in_transaction(audit.runtime.engine, work)
    return ended
