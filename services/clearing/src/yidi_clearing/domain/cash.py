"""Cash of a netted period: remittances from net payers, disbursements to net receivers.

Remittances are recorded by the centre as the bank shows them (partial and late ones allowed and
tracked: outstanding = owed - received; late = received after the remittance deadline).
Disbursements take two people (requested, then approved by someone else) and never pay out more
than has arrived. Policy (settings.disbursement_policy, default PRO_RATA): while cash is
incomplete each net receiver may be paid floor(received x its net / all nets) minus what it was
already paid or requested; once every payer has remitted in full, each receiver is paid in full.
Rounding down means the leftover fen wait until all cash is in, so the centre never overdraws.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from yidi_clearing.domain.actors import (
    Actor,
    require_approver,
    require_centre,
    require_second_person,
)
from yidi_clearing.domain.calendar import ClearingStep, schedule
from yidi_clearing.domain.clearing_period import ClearingPeriod
from yidi_clearing.domain.events import (
    DisbursementRecorded,
    DisbursementRequested,
    RemittanceRecorded,
)
from yidi_clearing.domain.ledger import (
    CENTRE_BANK,
    PREPAID_FUND,
    credit,
    debit,
    make_entry,
    payable,
    receivable,
)
from yidi_clearing.domain.prepaid_fund import PrepaidFund, fund_part
from yidi_clearing.domain.settings import ClearingSettings, DisbursementPolicy
from yidi_events.kernel import Conflict, DomainError, NotFound


def owed(state: ClearingPeriod, agency: str) -> int:
    """What a net payer owes the centre for the period in all; nothing for a net receiver."""
    position = state.position(agency)
    return -position.net if position is not None and position.net < 0 else 0


def outstanding(state: ClearingPeriod, agency: str) -> int:
    """What a net payer still owes the centre for the period; nothing for a net receiver."""
    total = owed(state, agency)
    return total - state.received(agency) if total else 0


def is_late(state: ClearingPeriod, agency: str, today: date, settings: ClearingSettings) -> bool:
    """A net payer is late when money is still outstanding after the remittance deadline."""
    deadline = schedule(_period(state), settings)[ClearingStep.REMITTANCE]
    return today > deadline and outstanding(state, agency) > 0


def late_payers(state: ClearingPeriod, today: date, settings: ClearingSettings) -> tuple[str, ...]:
    """Net payers with money outstanding after the remittance deadline, by agency."""
    return tuple(
        p.agency
        for p in state.positions or ()
        if p.net < 0 and is_late(state, p.agency, today, settings)
    )


def fund_may_pay(state: ClearingPeriod, today: date, settings: ClearingSettings) -> bool:
    """The prepaid fund pays receivers when the disbursement day has come and payers are late."""
    due = schedule(_period(state), settings)[ClearingStep.DISBURSEMENT]
    return today >= due and bool(late_payers(state, today, settings))


def cash_available(state: ClearingPeriod, advanced: int = 0) -> int:
    """The period's cash at the centre not yet paid out: received, less what was disbursed from
    cash (disbursed less what the fund `advanced` and is still owed for the period)."""
    return state.received() - state.disbursed() + advanced


def fund_share(
    state: ClearingPeriod,
    amount: int,
    fund: PrepaidFund | None,
    today: date,
    settings: ClearingSettings,
) -> int:
    """The part of a disbursement of `amount` the prepaid fund pays now (refused if it cannot)."""
    advanced = fund.outstanding.get(_period(state), 0) if fund is not None else 0
    return fund_part(
        fund or PrepaidFund(),
        amount,
        cash_available(state, advanced),
        fund_may_pay(state, today, settings),
    )


def disbursable(
    state: ClearingPeriod,
    agency: str,
    settings: ClearingSettings,
    fund: PrepaidFund | None = None,
    today: date | None = None,
) -> int:
    """The most the centre may pay `agency` now, given the cash that has arrived and, once the
    disbursement day has come with payers late, what the prepaid fund can advance for them."""
    position = state.position(agency)
    if position is None or position.net <= 0:
        return 0
    total_owed = state.total_owed()
    received = state.received()
    if fund is not None and today is not None and fund_may_pay(state, today, settings):
        # The fund stands in for the late cash: what it advanced and still may.
        advanced = fund.outstanding.get(_period(state), 0)
        received = min(total_owed, received + advanced + max(0, fund.level))
    if received >= total_owed:
        entitled = position.net
    elif settings.disbursement_policy == DisbursementPolicy.IN_FULL_ONLY:
        entitled = 0
    else:
        entitled = received * position.net // total_owed
    return max(0, entitled - state.disbursed(agency) - state.requested_unpaid(agency))


def decide_record_remittance(
    state: ClearingPeriod,
    *,
    agency: str,
    bank_reference: str,
    amount: int,
    received_on: date,
    actor: Actor,
    settings: ClearingSettings,
) -> list[Any]:
    period = _period(state)
    require_centre(actor, settings)
    if not bank_reference.strip():
        raise DomainError(
            "clearing.bank_reference_required",
            "a remittance needs the bank reference",
            field="bank_reference",
        )
    previous = state.remittances.get(bank_reference)
    if previous is not None:
        if (previous.agency, previous.amount) == (agency, amount):
            return []
        raise Conflict(
            "clearing.duplicate_bank_reference",
            f"bank reference {bank_reference} was already recorded for {previous.agency} "
            f"({previous.amount} fen)",
            field="bank_reference",
        )
    position = state.position(agency)
    if position is None or position.net >= 0:
        raise Conflict(
            "clearing.not_net_payer",
            f"agency {agency} is not a net payer for {period}",
            field="agency",
        )
    if amount <= 0:
        raise DomainError(
            "clearing.amount_positive",
            f"a remittance must be positive, got {amount}",
            field="amount",
        )
    still_owed = outstanding(state, agency)
    if amount > still_owed:
        raise DomainError(
            "clearing.over_remittance",
            f"agency {agency} owes {still_owed} fen for {period}; {amount} fen is too much",
            field="amount",
        )
    deadline = schedule(period, settings)[ClearingStep.REMITTANCE]
    owed = -position.net
    received_total = state.received(agency) + amount
    return [
        RemittanceRecorded(
            period=period,
            agency=agency,
            bank_reference=bank_reference,
            amount=amount,
            received_on=received_on,
            owed=owed,
            received_total=received_total,
            outstanding=owed - received_total,
            late=received_on > deadline,
        ),
        make_entry(
            period=period,
            entry_id=f"{period}/remittance/{bank_reference}",
            memo=f"remittance from {agency}",
            posted_on=received_on,
            lines=[
                debit(CENTRE_BANK, amount, bank_reference),
                credit(receivable(agency), amount, bank_reference),
            ],
        ),
    ]


def decide_request_disbursement(
    state: ClearingPeriod,
    *,
    disbursement_id: str,
    agency: str,
    amount: int,
    actor: Actor,
    settings: ClearingSettings,
    today: date,
    fund: PrepaidFund | None = None,
) -> list[Any]:
    period = _period(state)
    require_approver(actor, settings)
    existing = state.disbursement_requests.get(disbursement_id)
    if existing is not None:
        if (existing.agency, existing.amount) == (agency, amount):
            return []
        raise Conflict(
            "clearing.disbursement_exists",
            f"disbursement {disbursement_id} exists with other figures",
            field="disbursement_id",
        )
    _check_within_cash(state, agency, amount, disbursable(state, agency, settings, fund, today))
    return [
        DisbursementRequested(
            period=period,
            disbursement_id=disbursement_id,
            agency=agency,
            amount=amount,
            requested_by=actor.user_id,
            requested_on=today,
        )
    ]


def decide_approve_disbursement(
    state: ClearingPeriod,
    disbursement_id: str,
    actor: Actor,
    settings: ClearingSettings,
    today: date,
    fund: PrepaidFund | None = None,
) -> list[Any]:
    """Pay a requested disbursement; with payers late on the disbursement day, the prepaid
    `fund` pays what the cash does not cover (its own side: `prepaid_fund.decide_advance`)."""
    period = _period(state)
    require_approver(actor, settings)
    request = state.disbursement_requests.get(disbursement_id)
    if request is None:
        raise NotFound(
            "clearing.disbursement_unknown",
            f"no disbursement {disbursement_id} was requested in {period}",
            field="disbursement_id",
        )
    if disbursement_id in state.disbursements:
        return []
    require_second_person(request.requested_by, actor, f"disbursement {disbursement_id}")
    # The request already reserved its share; re-check the cash itself (and the fund standing in
    # for late cash), which is the hard limit.
    from_fund = fund_share(state, request.amount, fund, today, settings)
    from_cash = request.amount - from_fund
    paid_total = state.disbursed(request.agency) + request.amount
    position = state.position(request.agency)
    net = position.net if position is not None else 0
    return [
        DisbursementRecorded(
            period=period,
            disbursement_id=disbursement_id,
            agency=request.agency,
            amount=request.amount,
            requested_by=request.requested_by,
            approved_by=actor.user_id,
            paid_on=today,
            disbursed_total=paid_total,
            outstanding=net - paid_total,
        ),
        make_entry(
            period=period,
            entry_id=f"{period}/disbursement/{disbursement_id}",
            memo=f"disbursement to {request.agency}"
            + (f", {from_fund} fen from the prepaid fund" if from_fund else ""),
            posted_on=today,
            lines=[
                debit(payable(request.agency), request.amount, disbursement_id),
                *([credit(CENTRE_BANK, from_cash, disbursement_id)] if from_cash else []),
                *([credit(PREPAID_FUND, from_fund, disbursement_id)] if from_fund else []),
            ],
        ),
    ]


def _check_within_cash(state: ClearingPeriod, agency: str, amount: int, limit: int) -> None:
    position = state.position(agency)
    if position is None or position.net <= 0:
        raise Conflict(
            "clearing.not_net_receiver",
            f"agency {agency} is not a net receiver for {state.period}",
            field="agency",
        )
    if amount <= 0:
        raise DomainError(
            "clearing.amount_positive",
            f"a disbursement must be positive, got {amount}",
            field="amount",
        )
    if amount > limit:
        raise DomainError(
            "clearing.over_disbursement",
            f"agency {agency} may be paid at most {limit} fen now from the cash that has arrived",
            field="amount",
        )


def _period(state: ClearingPeriod) -> str:
    if state.period is None or state.positions is None:
        raise Conflict(
            "clearing.not_netted",
            "net positions must be computed before cash moves",
            field="period",
        )
    return state.period
