"""The reconciliation service's own facts: no other service consumes them, so their contracts live
here, not in `yidi_events.contracts.reconciliation`, and may change with the service alone
(compatibly: its stored events stay readable; schemas in services/reconciliation/schemas). They are
still published on `yidi.reconciliation.events`, where consumers without these contracts skip them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from yidi_events.contracts.reconciliation import Figures
from yidi_events.registry import event

# --- agency facts: one day of one pair ---------------------------------------------------------


@event("reconciliation.DayStatementIssued", key="pair")
@dataclass(frozen=True, kw_only=True)
class DayStatementIssued:
    pair: str
    insured_region: str
    visit_region: str
    business_date: date
    totals: Figures
    issued_at: datetime


@event("reconciliation.DayConfirmed", key="pair")
@dataclass(frozen=True, kw_only=True)
class DayConfirmed:
    pair: str
    insured_region: str
    visit_region: str
    business_date: date
    agency_region: str
    totals: Figures  # what the agency confirmed: the day without its open disputes
    confirmed_at: datetime


@event("reconciliation.DayReopened", key="pair")
@dataclass(frozen=True, kw_only=True)
class DayReopened:
    pair: str
    insured_region: str
    visit_region: str
    business_date: date
    settlement_id: str  # the late settlement that changed the day
    previously_confirmed_by: tuple[str, ...]
    was_closed: bool
    reopened_at: datetime


@event("reconciliation.SettlementDisputed", key="pair")
@dataclass(frozen=True, kw_only=True)
class SettlementDisputed:
    pair: str
    insured_region: str
    visit_region: str
    business_date: date
    settlement_id: str
    agency_region: str
    reason: str
    disputed_at: datetime


@event("reconciliation.DisputeResolved", key="pair")
@dataclass(frozen=True, kw_only=True)
class DisputeResolved:
    pair: str
    insured_region: str
    visit_region: str
    business_date: date
    settlement_id: str
    resolution: str  # "accepted" (confirmed as is) or "reversed" (a cancellation arrived)
    resolved_by: str | None  # the agency that accepted it; None for a reversal
    reversal_settlement_id: str | None
    month: str  # YYYY-MM of the resolution
    resolved_at: datetime


# --- hospital facts ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FigureDifference:
    figure: str  # count, total_fee, fund_total, account_paid
    platform: int
    hospital: int


@event("reconciliation.HospitalTotalsReconciled", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalTotalsReconciled:
    institution_code: str
    clearing_agency: str
    insurance_type: str
    clearing_category: str
    start_date: date
    end_date: date
    include_refunds: bool
    balanced: bool
    description: str
    platform: Figures
    differences: tuple[FigureDifference, ...]
    reconciled_at: datetime


@dataclass(frozen=True, kw_only=True)
class DetailDiscrepancy:
    settlement_id: str
    outcome: str  # missing_on_platform, missing_at_hospital, amount_mismatch
    fields: tuple[str, ...]


@event("reconciliation.HospitalDetailReconciled", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalDetailReconciled:
    institution_code: str
    clearing_agency: str
    start_date: date
    end_date: date
    include_refunds: bool
    matched: int
    missing_on_platform: int
    missing_at_hospital: int
    amount_mismatch: int
    discrepancies: tuple[DetailDiscrepancy, ...]
    reconciled_at: datetime
