"""Decisions on a clearing period: statement, line confirmation, approval, adjustments, netting.

A handler folds the period's stream with `clearing_period.evolve`, calls one of these with the
command's data, the acting `Actor`, the settings and today's business date, and appends what it
returns. An empty list means the command was already applied (a safe retry).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from yidi_clearing.domain.actors import (
    Actor,
    require_approver,
    require_party,
    require_second_person,
)
from yidi_clearing.domain.clearing_period import ClearingPeriod, LineState, LineStatus
from yidi_clearing.domain.events import (
    AdjustmentApproved,
    AdjustmentProposed,
    LineConfirmed,
    LineDisputed,
    NetPositionsComputed,
    StatementApprovalGiven,
    StatementApproved,
    StatementGenerated,
)
from yidi_clearing.domain.inputs import ConfirmedSettlement, Deduction, check_pair
from yidi_clearing.domain.ledger import make_entry, netting_lines, obligation_lines
from yidi_clearing.domain.netting import Obligation, net_positions
from yidi_clearing.domain.settings import ClearingSettings
from yidi_clearing.domain.statement import build_statement
from yidi_events.kernel import Conflict, DomainError, NotFound


def decide_generate_statement(
    state: ClearingPeriod,
    period: str,
    settlements: Iterable[ConfirmedSettlement],
    deductions: Iterable[Deduction],
    today: date,
) -> list[Any]:
    """Generate the period's statement once; the same inputs again are a no-op."""
    statement = build_statement(period, settlements, deductions)
    if state.generated:
        if state.input_hash == statement.input_hash:
            return []
        raise Conflict(
            "clearing.statement_exists",
            f"the statement for {period} was already generated from other inputs "
            f"(hash {state.input_hash}); late inputs enter a later period",
            field="period",
        )
    return [
        StatementGenerated(
            period=period,
            input_hash=statement.input_hash,
            generated_on=today,
            lines=statement.lines,
            held=statement.held,
        )
    ]


def decide_confirm_line(
    state: ClearingPeriod, line_id: str, actor: Actor, today: date
) -> list[Any]:
    current = _open_line(state, line_id, actor)
    if actor.agency in current.disputed_by:
        raise Conflict(
            "clearing.line_disputed",
            f"agency {actor.agency} disputed line {line_id}; it is settled by an adjustment",
            field="line_id",
        )
    if actor.agency in current.confirmed_by:
        return []
    return [
        LineConfirmed(
            period=_period(state),
            line_id=line_id,
            agency=actor.agency,
            confirmed_by=actor.user_id,
            confirmed_on=today,
        )
    ]


def decide_dispute_line(
    state: ClearingPeriod, line_id: str, reason: str, actor: Actor, today: date
) -> list[Any]:
    current = _open_line(state, line_id, actor)
    if not reason.strip():
        raise DomainError(
            "clearing.reason_required", "a dispute must say what is wrong", field="reason"
        )
    if actor.agency in current.disputed_by:
        return []
    return [
        LineDisputed(
            period=_period(state),
            line_id=line_id,
            agency=actor.agency,
            disputed_by=actor.user_id,
            reason=reason,
            disputed_on=today,
        )
    ]


def decide_approve_statement(
    state: ClearingPeriod, actor: Actor, settings: ClearingSettings, today: date
) -> list[Any]:
    """First approval is recorded; a second, different approver approves the statement."""
    period = _period(state)
    require_approver(actor, settings)
    if state.approved:
        if actor.user_id in state.approvers:
            return []
        raise Conflict(
            "clearing.statement_approved", f"the statement for {period} is already approved"
        )
    pending = sorted(i for i, s in state.lines.items() if s.status == LineStatus.PENDING)
    if pending:
        raise Conflict(
            "clearing.lines_pending",
            f"lines not yet confirmed or disputed by both agencies: {', '.join(pending)}",
            field="line_id",
        )
    assert state.input_hash is not None
    if state.first_approver is None:
        return [
            StatementApprovalGiven(
                period=period,
                input_hash=state.input_hash,
                approver=actor.user_id,
                approved_on=today,
            )
        ]
    require_second_person(state.first_approver, actor, f"the statement for {period}")
    return [
        StatementApproved(
            period=period,
            input_hash=state.input_hash,
            approvers=(state.first_approver, actor.user_id),
            approved_on=today,
        )
    ]


def decide_propose_adjustment(
    state: ClearingPeriod,
    *,
    adjustment_id: str,
    payer_agency: str,
    receiver_agency: str,
    amount: int,
    reason: str,
    actor: Actor,
    settings: ClearingSettings,
    today: date,
) -> list[Any]:
    period = _period(state)
    require_approver(actor, settings)
    _require_not_netted(state)
    check_pair(payer_agency, receiver_agency, adjustment_id)
    if amount <= 0:
        raise DomainError(
            "clearing.adjustment_amount",
            f"an adjustment moves a positive amount from payer to receiver, got {amount} fen; "
            "swap the agencies to move money the other way",
            field="amount",
        )
    if not reason.strip():
        raise DomainError(
            "clearing.reason_required", "an adjustment must give its reason", field="reason"
        )
    proposal = AdjustmentProposed(
        period=period,
        adjustment_id=adjustment_id,
        payer_agency=payer_agency,
        receiver_agency=receiver_agency,
        amount=amount,
        reason=reason,
        proposed_by=actor.user_id,
        proposed_on=today,
    )
    existing = state.adjustments.get(adjustment_id)
    if existing is not None:
        if existing.proposal == proposal or _same_proposal(existing.proposal, proposal):
            return []
        raise Conflict(
            "clearing.adjustment_exists",
            f"adjustment {adjustment_id} exists with other figures",
            field="adjustment_id",
        )
    return [proposal]


def decide_approve_adjustment(
    state: ClearingPeriod,
    adjustment_id: str,
    actor: Actor,
    settings: ClearingSettings,
    today: date,
) -> list[Any]:
    period = _period(state)
    require_approver(actor, settings)
    existing = state.adjustments.get(adjustment_id)
    if existing is None:
        raise NotFound(
            "clearing.adjustment_unknown",
            f"no adjustment {adjustment_id} in {period}",
            field="adjustment_id",
        )
    if existing.approved_by is not None:
        return []
    _require_not_netted(state)
    p = existing.proposal
    require_second_person(p.proposed_by, actor, f"adjustment {adjustment_id}")
    obligation = Obligation(p.payer_agency, p.receiver_agency, p.amount, adjustment_id)
    return [
        AdjustmentApproved(
            period=period,
            adjustment_id=adjustment_id,
            payer_agency=p.payer_agency,
            receiver_agency=p.receiver_agency,
            amount=p.amount,
            proposed_by=p.proposed_by,
            approved_by=actor.user_id,
            approved_on=today,
        ),
        make_entry(
            period=period,
            entry_id=f"{period}/adjustment/{adjustment_id}",
            memo=f"manual adjustment: {p.reason}",
            posted_on=today,
            lines=obligation_lines([obligation]),
        ),
    ]


def decide_compute_net_positions(
    state: ClearingPeriod, actor: Actor, settings: ClearingSettings, today: date
) -> list[Any]:
    """Net the confirmed lines and approved adjustments; post obligations and netting entries."""
    period = _period(state)
    require_approver(actor, settings)
    if state.netted:
        return []
    if not state.approved:
        raise Conflict(
            "clearing.statement_not_approved",
            f"the statement for {period} needs two approvals before netting",
        )
    unapproved = sorted(i for i, a in state.adjustments.items() if a.approved_by is None)
    if unapproved:
        raise Conflict(
            "clearing.adjustments_pending",
            f"adjustments waiting for a second approver: {', '.join(unapproved)}",
            field="adjustment_id",
        )
    confirmed = [s.line for s in _sorted_lines(state) if s.status == LineStatus.CONFIRMED]
    held = [s.line.line_id for s in _sorted_lines(state) if s.status == LineStatus.DISPUTED]
    line_obligations = [
        Obligation(line.payer_agency, line.receiver_agency, line.amount, line.line_id)
        for line in confirmed
    ]
    adjustments = [state.adjustments[i].proposal for i in sorted(state.adjustments)]
    all_obligations = line_obligations + [
        Obligation(a.payer_agency, a.receiver_agency, a.amount, a.adjustment_id)
        for a in adjustments
    ]
    events: list[Any] = [
        NetPositionsComputed(
            period=period,
            positions=net_positions(all_obligations),
            line_ids=tuple(line.line_id for line in confirmed),
            held_line_ids=tuple(held),
            adjustment_ids=tuple(a.adjustment_id for a in adjustments),
            computed_on=today,
        )
    ]
    journal = list(state.journal)
    lines = obligation_lines(line_obligations)
    if lines:
        obligations_entry = make_entry(
            period=period,
            entry_id=f"{period}/obligations",
            memo=f"confirmed statement lines of {period}",
            posted_on=today,
            lines=lines,
        )
        events.append(obligations_entry)
        journal.append(obligations_entry)
    offsets = netting_lines(journal, reference=f"{period}/netting")
    if offsets:
        events.append(
            make_entry(
                period=period,
                entry_id=f"{period}/netting",
                memo=f"net each agency's receivable against its payable for {period}",
                posted_on=today,
                lines=offsets,
            )
        )
    return events


def _period(state: ClearingPeriod) -> str:
    if state.period is None:
        raise NotFound("clearing.no_statement", "no statement has been generated for this period")
    return state.period


def _open_line(state: ClearingPeriod, line_id: str, actor: Actor) -> LineState:
    period = _period(state)
    current = state.lines.get(line_id)
    if current is None:
        raise NotFound(
            "clearing.line_unknown",
            f"the {period} statement has no line {line_id}",
            field="line_id",
        )
    require_party(actor, current.line)
    if state.first_approver is not None:
        raise Conflict(
            "clearing.statement_approved",
            f"the statement for {period} is in approval; lines can no longer change",
            field="line_id",
        )
    return current


def _require_not_netted(state: ClearingPeriod) -> None:
    if state.netted:
        raise Conflict(
            "clearing.already_netted",
            f"net positions for {state.period} are computed; adjust in a later period",
            field="period",
        )


def _sorted_lines(state: ClearingPeriod) -> list[LineState]:
    return [state.lines[i] for i in sorted(state.lines)]


def _same_proposal(a: AdjustmentProposed, b: AdjustmentProposed) -> bool:
    # A retry carries a later date or another clerk; only the substance must match.
    return (a.payer_agency, a.receiver_agency, a.amount, a.reason) == (
        b.payer_agency,
        b.receiver_agency,
        b.amount,
        b.reason,
    )
