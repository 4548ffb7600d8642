"""The audit facts other services consume, published on `yidi.audit.events`.

Each fact is a frozen dataclass registered with `@event("audit.<PastTense>", key=...)`; money in
fen (int), ratios as Decimal, dates as `date`. Names follow docs/glossary.md, never the national
field names.

Who listens:
- filing and settlement: `DirectSettlementSuspended` / `...Ended` (a suspended person cannot
  settle directly), `HospitalSuspended` / `...Ended` (keyed by institution code);
- settlement: `DepartmentSuspended` / `...Ended` (a sanction on one department of a hospital:
  only visits of that department are refused);
- clearing: `ClawbackDecided` — deducted from what the insured place owes the visit place in the
  next clearing statement (recovered fund money returns to the insured place);
  `FeeDeductionDecided` — a routine audit deduction (审核扣款) from the visit place's fee review or
  a 协查 answered 核查有误: deducted like a clawback in the statement of the month it is decided
  in, and from the hospital's payable for that month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yidi_events.registry import event


class SuspensionEndReason(StrEnum):
    LIFTED = "lifted"
    EXPIRED = "expired"


# --- sanctions --------------------------------------------------------------------------------


@event("audit.DirectSettlementSuspended", key="person_id")
@dataclass(frozen=True, kw_only=True)
class DirectSettlementSuspended:
    """No direct settlement for the person from `suspended_from` to `suspended_until`, inclusive."""

    person_id: str
    suspended_from: date
    suspended_until: date
    case_id: str
    insured_region: str
    decided_by: str


@event("audit.DirectSettlementSuspensionEnded", key="person_id")
@dataclass(frozen=True, kw_only=True)
class DirectSettlementSuspensionEnded:
    person_id: str
    case_id: str
    insured_region: str
    ended_on: date  # the first day direct settlement is allowed again
    reason: SuspensionEndReason


@event("audit.HospitalSuspended", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalSuspended:
    """No direct settlement at the institution from `suspended_from` to `suspended_until`."""

    institution_code: str
    visit_region: str
    suspended_from: date
    suspended_until: date
    case_id: str
    decided_by: str


@event("audit.HospitalSuspensionEnded", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalSuspensionEnded:
    institution_code: str
    visit_region: str
    case_id: str
    ended_on: date
    reason: SuspensionEndReason


# --- sanctions on one department (issue 22) ---------------------------------------------------


@event("audit.DepartmentSuspended", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class DepartmentSuspended:
    """No direct settlement of visits of `department` (the department code the visit was
    registered under) at the institution from `suspended_from` to `suspended_until`, inclusive;
    the hospital's other departments settle as before."""

    institution_code: str
    department: str
    visit_region: str
    suspended_from: date
    suspended_until: date
    case_id: str
    decided_by: str


@event("audit.DepartmentSuspensionEnded", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class DepartmentSuspensionEnded:
    institution_code: str
    department: str
    visit_region: str
    case_id: str
    ended_on: date
    reason: SuspensionEndReason


# --- clawbacks and deductions -----------------------------------------------------------------


@event("audit.ClawbackDecided", key="person_id")
@dataclass(frozen=True, kw_only=True)
class ClawbackDecided:
    """Fund money to recover; clearing deducts `amount` in the next statement of the pair."""

    clawback_id: str
    case_id: str
    person_id: str
    settlement_ids: tuple[str, ...]
    insured_region: str
    visit_region: str
    insurance_type: str
    amount: int
    decided_by: str
    decided_on: date


class DeductionSource(StrEnum):
    FEE_REVIEW = "fee_review"  # the visit place's routine fee review (审核扣款)
    ASSIST_CHECK = "assist_check"  # a 协查 answered 核查有误


@dataclass(frozen=True, kw_only=True)
class DeductedLine:
    """One fee line refused in whole or in part; `amount` is the fund money it no longer pays."""

    fee_line_id: str
    amount: int
    reason: str


@event("audit.FeeDeductionDecided", key="person_id")
@dataclass(frozen=True, kw_only=True)
class FeeDeductionDecided:
    """Fund money of one settlement the visit place's agency will not pay the hospital.

    Clearing deducts `amount` (the sum of `lines`) from what the insured place owes the visit place
    in the statement of `decided_on`'s month, and from `institution_code`'s payable for that month.
    `evidence` is what the reviewer relied on (rule, document reference), shown on the statement.
    """

    deduction_id: str
    source: DeductionSource
    settlement_id: str
    person_id: str
    institution_code: str
    department: str | None
    insured_region: str
    visit_region: str
    insurance_type: str
    settled_on: date
    lines: tuple[DeductedLine, ...]
    amount: int
    reason: str
    evidence: str
    decided_by: str
    decided_on: date
