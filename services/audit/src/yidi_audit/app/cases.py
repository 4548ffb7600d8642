"""Reviewer commands on cases: suspect, confirm or dismiss, suspend, claw back, lift; the expiry
job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yidi_audit.app.context import Audit
from yidi_audit.app.flagging import case_stream
from yidi_audit.domain import cases as d
from yidi_audit.domain.guards import Actor


@dataclass(frozen=True)
class SuspendCommand:
    kind: d.SuspensionKind
    months: int
    starts_on: date | None = None  # today (or the suspicion's first day) when absent
    department: str | None = None  # the department a department suspension targets


@dataclass(frozen=True)
class ClawbackCommand:
    amount: int
    settlement_ids: tuple[str, ...] = ()


def _sanction(
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
        settings = audit.settings.sanctions
        if suspend.kind is d.SuspensionKind.DEPARTMENT:
            made = d.decide_suspend_department(
                state, actor, suspend.department, suspend.starts_on, suspend.months, today, settings
            )
        else:
            decide = (
                d.decide_suspend_person
                if suspend.kind is d.SuspensionKind.PERSON
                else d.decide_suspend_hospital
            )
            made = decide(state, actor, suspend.starts_on, suspend.months, today, settings)
        new += made
        state = d.CASE.fold(made, state)
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

    def decide(state: d.CaseState) -> list[d.CaseEvent]:
        today = audit.today()
        if not confirm:
            return d.decide_dismiss(state, actor, reason, today)
        new = d.decide_confirm(state, actor, reason, today)
        confirmed = d.CASE.fold(new, state)
        new += _sanction(audit, confirmed, actor, today, suspend, clawback)
        return new + d.decide_close_interim(d.CASE.fold(new, state), today)

    await audit.write.execute(case_stream(case_id), d.CASE, decide)


async def suspect(audit: Audit, case_id: str, actor: Actor, suspicion: str) -> None:
    """Suspend the person at once, pending the case, and report to the centre and insured place."""
    await audit.write.execute(
        case_stream(case_id),
        d.CASE,
        lambda state: d.decide_suspect(
            state,
            actor,
            suspicion,
            audit.today(),
            audit.settings.calendar,
            audit.settings.sanctions,
        ),
    )


async def sanction(
    audit: Audit,
    case_id: str,
    actor: Actor,
    *,
    suspend: SuspendCommand | None = None,
    clawback: ClawbackCommand | None = None,
) -> None:
    await audit.write.execute(
        case_stream(case_id),
        d.CASE,
        lambda state: _sanction(audit, state, actor, audit.today(), suspend, clawback),
    )


async def lift(audit: Audit, case_id: str, kind: d.SuspensionKind, actor: Actor) -> None:
    await audit.write.execute(
        case_stream(case_id),
        d.CASE,
        lambda state: d.decide_lift_suspension(state, kind, actor, audit.today()),
    )


async def expire(audit: Audit) -> int:
    """End every suspension whose last day has passed (the daily job); returns how many."""
    today = audit.today()
    due = await audit.write.transact(
        lambda unit: audit.reads.cases_with_suspensions_due(unit, today)
    )
    ended = 0
    for case_id in due:
        ended += len(
            await audit.write.execute(
                case_stream(case_id),
                d.CASE,
                lambda state: d.decide_expire_suspensions(state, today),
            )
        )
    return ended
