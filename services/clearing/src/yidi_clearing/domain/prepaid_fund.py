"""The prepaid fund (预付金) as money: one stream per fund ("prepaid-fund:<fund_id>").

The centre sets the fund aside (`decide_establish`: months_of_q4_average x last year's Q4 monthly
average). When net payers are late on the disbursement day, the fund pays receivers what the
payers' cash does not cover (`fund_part`, `decide_advance`); when a late payer's cash arrives it
first repays what the fund advanced for that period (`decide_repay`). Using 70% of the fund raises
a yellow warning, 90% a red one with an emergency top-up request the centre acts on
(`decide_top_up`).

In the books (ledger.py):
  established / topped up  Dr prepaid_fund            Cr prepaid_fund_capital
  advance (in the period)  Dr payable:receiver        Cr centre_bank (cash part), prepaid_fund
  repayment (the period)   Dr prepaid_fund            Cr centre_bank
so the balance of `prepaid_fund` is always the fund's level, and the trial balance stays zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from yidi_clearing.domain.actors import Actor, require_approver, require_centre
from yidi_clearing.domain.events import (
    PrepaidFundAdvanced,
    PrepaidFundEstablished,
    PrepaidFundRepaid,
    PrepaidFundToppedUp,
    PrepaidFundTopUpRequested,
    PrepaidFundWarningRaised,
)
from yidi_clearing.domain.ledger import CENTRE_BANK, PREPAID_FUND, credit, debit, make_entry
from yidi_clearing.domain.prepaid import WarningLevel, prepaid_fund_amount, usage, warning_level
from yidi_clearing.domain.settings import ClearingSettings
from yidi_events.kernel import Conflict, DomainError, NotFound

PREPAID_FUND_CAPITAL = "prepaid_fund_capital"  # what the fund owes those who paid into it
_RANK = {WarningLevel.GREEN: 0, WarningLevel.YELLOW: 1, WarningLevel.RED: 2}


@dataclass(frozen=True)
class PrepaidFund:
    fund_id: str | None = None
    established_amount: int = 0
    size: int = 0  # established plus every top-up
    outstanding: dict[str, int] = field(default_factory=dict)  # advanced, not repaid, by period
    warned: WarningLevel = WarningLevel.GREEN  # the highest warning since the fund was green
    top_ups: dict[str, PrepaidFundTopUpRequested] = field(default_factory=dict)
    topped_up: frozenset[str] = frozenset()

    @property
    def established(self) -> bool:
        return self.fund_id is not None

    @property
    def in_use(self) -> int:
        return sum(self.outstanding.values())

    @property
    def level(self) -> int:
        """The fund's money now: the balance of the `prepaid_fund` account."""
        return self.size - self.in_use

    def open_top_up(self) -> PrepaidFundTopUpRequested | None:
        return next((r for i, r in self.top_ups.items() if i not in self.topped_up), None)


def evolve(state: PrepaidFund, event: Any) -> PrepaidFund:
    match event:
        case PrepaidFundEstablished():
            return replace(
                state, fund_id=event.fund_id, established_amount=event.amount, size=event.amount
            )
        case PrepaidFundAdvanced():
            owed = state.outstanding.get(event.period, 0) + event.amount
            return replace(state, outstanding={**state.outstanding, event.period: owed})
        case PrepaidFundRepaid():
            owed = state.outstanding.get(event.period, 0) - event.amount
            outstanding = {**state.outstanding, event.period: owed}
            back = replace(state, outstanding={p: a for p, a in outstanding.items() if a})
            return replace(back, warned=WarningLevel.GREEN) if back.in_use == 0 else back
        case PrepaidFundWarningRaised():
            return replace(state, warned=WarningLevel(event.level))
        case PrepaidFundTopUpRequested():
            return replace(state, top_ups={**state.top_ups, event.request_id: event})
        case PrepaidFundToppedUp():
            return replace(
                state,
                size=state.size + event.amount,
                topped_up=state.topped_up | {event.request_id},
                warned=WarningLevel.GREEN,
            )
    return state


def label(fund_id: str) -> str:
    """The journal's period label of a fund's own entries (establishment, top-ups)."""
    return f"prepaid-fund:{fund_id}"


def fund_usage(state: PrepaidFund) -> Decimal:
    return usage(state.in_use, state.size) if state.size > 0 else Decimal(0)


def fund_warning(state: PrepaidFund, settings: ClearingSettings) -> WarningLevel:
    if state.size <= 0:
        return WarningLevel.GREEN
    return warning_level(state.in_use, state.size, settings.prepaid_fund)


def decide_establish(
    state: PrepaidFund,
    *,
    fund_id: str,
    q4_monthly_amounts: tuple[int, int, int],
    actor: Actor,
    settings: ClearingSettings,
    today: date,
) -> list[Any]:
    require_approver(actor, settings)
    amount = prepaid_fund_amount(q4_monthly_amounts, settings.prepaid_fund)
    if state.established:
        if state.established_amount == amount:
            return []  # a retry
        raise Conflict(
            "clearing.prepaid_fund_exists",
            f"prepaid fund {fund_id} is already established; top it up instead",
            field="fund_id",
        )
    if amount <= 0:
        raise DomainError(
            "clearing.prepaid_fund_empty", "the prepaid fund must be positive", field="amount"
        )
    return [
        PrepaidFundEstablished(
            fund_id=fund_id,
            amount=amount,
            q4_monthly_amounts=q4_monthly_amounts,
            established_by=actor.user_id,
            established_on=today,
        ),
        make_entry(
            period=label(fund_id),
            entry_id=f"{label(fund_id)}/established",
            memo=f"prepaid fund {fund_id} set aside",
            posted_on=today,
            lines=[
                debit(PREPAID_FUND, amount, fund_id),
                credit(PREPAID_FUND_CAPITAL, amount, fund_id),
            ],
        ),
    ]


def fund_part(state: PrepaidFund, amount: int, cash_available: int, late: bool) -> int:
    """How much of a disbursement of `amount` the fund pays: what the period's cash does not
    cover, only while payers are late, never more than the fund holds. Refused otherwise."""
    shortfall = max(0, amount - max(0, cash_available))
    if shortfall == 0:
        return 0
    if not late or not state.established:
        raise DomainError(
            "clearing.over_disbursement",
            f"only {max(0, cash_available)} fen has arrived and not been paid out; cannot pay "
            f"{amount}",
            field="amount",
        )
    if shortfall > state.level:
        raise DomainError(
            "clearing.prepaid_fund_short",
            f"the prepaid fund holds {state.level} fen; it cannot advance {shortfall}",
            field="amount",
            values={"level": state.level, "shortfall": shortfall},
        )
    return shortfall


def decide_advance(
    state: PrepaidFund,
    *,
    period: str,
    disbursement_id: str,
    agency: str,
    amount: int,
    late_agencies: tuple[str, ...],
    settings: ClearingSettings,
    today: date,
) -> list[Any]:
    """The fund's side of a disbursement it helps pay, with the warnings the use brings."""
    assert state.fund_id is not None
    assert amount > 0
    advanced = PrepaidFundAdvanced(
        fund_id=state.fund_id,
        period=period,
        disbursement_id=disbursement_id,
        agency=agency,
        amount=amount,
        late_agencies=late_agencies,
        level=state.level - amount,
        advanced_on=today,
    )
    after = evolve(state, advanced)
    return [advanced, *_warnings(after, period, settings, today)]


def decide_repay(
    state: PrepaidFund,
    *,
    period: str,
    bank_reference: str,
    agency: str,
    amount: int,
    today: date,
) -> tuple[list[Any], list[Any]]:
    """A remittance of `amount` for `period`: (the fund's events, the period's journal entry)
    repaying what the fund advanced for the period, as far as the remittance goes."""
    owed = state.outstanding.get(period, 0)
    repaid = min(owed, amount)
    if repaid <= 0 or state.fund_id is None:
        return [], []
    fund_events = [
        PrepaidFundRepaid(
            fund_id=state.fund_id,
            period=period,
            bank_reference=bank_reference,
            agency=agency,
            amount=repaid,
            level=state.level + repaid,
            repaid_on=today,
        )
    ]
    entry = make_entry(
        period=period,
        entry_id=f"{period}/prepaid-fund-repaid/{bank_reference}",
        memo=f"{agency}'s cash repays the prepaid fund {state.fund_id}",
        posted_on=today,
        lines=[
            debit(PREPAID_FUND, repaid, bank_reference),
            credit(CENTRE_BANK, repaid, bank_reference),
        ],
    )
    return fund_events, [entry]


def decide_top_up(
    state: PrepaidFund,
    *,
    request_id: str,
    amount: int,
    bank_reference: str,
    actor: Actor,
    settings: ClearingSettings,
    today: date,
) -> list[Any]:
    """The centre acts on a top-up request: the money is in the fund."""
    require_centre(actor, settings)
    request = state.top_ups.get(request_id)
    if request is None or state.fund_id is None:
        raise NotFound(
            "clearing.top_up_unknown", f"no top-up request {request_id}", field="request_id"
        )
    if request_id in state.topped_up:
        return []
    if amount <= 0:
        raise DomainError(
            "clearing.amount_positive", f"a top-up must be positive, got {amount}", field="amount"
        )
    if not bank_reference.strip():
        raise DomainError(
            "clearing.bank_reference_required",
            "a top-up needs the bank reference",
            field="bank_reference",
        )
    return [
        PrepaidFundToppedUp(
            fund_id=state.fund_id,
            request_id=request_id,
            amount=amount,
            bank_reference=bank_reference,
            topped_up_by=actor.user_id,
            topped_up_on=today,
        ),
        make_entry(
            period=label(state.fund_id),
            entry_id=f"{label(state.fund_id)}/top-up/{request_id}",
            memo=f"emergency top-up of prepaid fund {state.fund_id}",
            posted_on=today,
            lines=[
                debit(PREPAID_FUND, amount, bank_reference),
                credit(PREPAID_FUND_CAPITAL, amount, bank_reference),
            ],
        ),
    ]


def _warnings(
    state: PrepaidFund, period: str, settings: ClearingSettings, today: date
) -> list[Any]:
    """A warning when the use reaches a higher level than already warned of; at red, a top-up
    request for what is in use (unless one is still open)."""
    assert state.fund_id is not None
    level = fund_warning(state, settings)
    if _RANK[level] <= _RANK[state.warned]:
        return []
    events: list[Any] = [
        PrepaidFundWarningRaised(
            period=period,
            fund_id=state.fund_id,
            fund_amount=state.size,
            clearing_amount=state.in_use,
            usage=fund_usage(state),
            level=str(level),
            raised_on=today,
        )
    ]
    if level == WarningLevel.RED and state.open_top_up() is None:
        events.append(
            PrepaidFundTopUpRequested(
                fund_id=state.fund_id,
                request_id=f"top-up-{len(state.top_ups) + 1}",
                period=period,
                amount=state.in_use,
                size=state.size,
                level=state.level,
                requested_on=today,
            )
        )
    return events
