"""What clearing is fed by other services, as clearing's own value types.

Adapters map reconciliation's confirmed settlements and audit's clawbacks / deductions onto these;
the domain never sees another service's event classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yidi_clearing.domain.period import parse_period
from yidi_events.contracts.policy import InsuranceType
from yidi_events.kernel import DomainError, validate_region


class DeductionKind(StrEnum):
    CLAWBACK = "clawback"  # recovered fund money, returns to the insured place
    AUDIT_DEDUCTION = "audit_deduction"  # 审核扣款


@dataclass(frozen=True, kw_only=True)
class ConfirmedSettlement:
    """A settlement reconciliation confirmed; the insured agency owes the visit agency for it.

    `confirmed_in_month` is the month whose clearing it enters: its own month when confirmed at the
    day close, the month of resolution when it was disputed (None while the dispute is open).
    Amounts may be negative: a cancellation is a negative record.
    """

    settlement_id: str
    insured_agency: str
    visit_agency: str
    insurance_type: InsuranceType
    business_date: date
    fund_total: int
    account_paid: int
    confirmed_in_month: str | None


@dataclass(frozen=True, kw_only=True)
class Deduction:
    """An audit deduction or a clawback that reduces what the insured agency owes the visit agency.

    `applies_in_month` is the clearing month it was decided in (None while it is not final).
    """

    deduction_id: str
    kind: DeductionKind
    insured_agency: str
    visit_agency: str
    insurance_type: InsuranceType
    amount: int
    reason: str
    case_id: str
    applies_in_month: str | None


def check_pair(insured_agency: str, visit_agency: str, item_id: str) -> None:
    for name, code in (("insured_agency", insured_agency), ("visit_agency", visit_agency)):
        try:
            validate_region(code)
        except ValueError:
            raise DomainError(
                "clearing.agency_invalid",
                f"{item_id}: {code!r} is not an agency region code",
                field=name,
            ) from None
    if insured_agency == visit_agency:
        raise DomainError(
            "clearing.same_agency",
            f"{item_id}: insured and visit agency are both {insured_agency}; local settlements are "
            "not cleared between agencies",
            field="visit_agency",
        )


def check_settlement(item: ConfirmedSettlement) -> None:
    check_pair(item.insured_agency, item.visit_agency, item.settlement_id)
    _check_insurance_type(item.insurance_type, item.settlement_id)
    if item.confirmed_in_month is not None:
        parse_period(item.confirmed_in_month, field="confirmed_in_month")


def check_deduction(item: Deduction) -> None:
    check_pair(item.insured_agency, item.visit_agency, item.deduction_id)
    _check_insurance_type(item.insurance_type, item.deduction_id)
    if item.amount <= 0:
        raise DomainError(
            "clearing.deduction_amount",
            f"deduction {item.deduction_id} must be a positive amount in fen, got {item.amount}",
            field="amount",
        )
    if item.applies_in_month is not None:
        parse_period(item.applies_in_month, field="applies_in_month")


_INSURANCE_TYPES = frozenset(t.value for t in InsuranceType)


def _check_insurance_type(value: str, item_id: str) -> None:
    if value not in _INSURANCE_TYPES:
        raise DomainError(
            "clearing.insurance_type",
            f"{item_id}: insurance type {value!r} is neither 310 (employee) nor 390 (resident)",
            field="insurance_type",
        )
