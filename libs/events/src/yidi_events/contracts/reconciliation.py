"""The reconciliation facts other services consume, published on `yidi.reconciliation.events`.

Each fact is a frozen dataclass registered with `@event("reconciliation.<PastTense>", key=...)`; money in
fen (int), ratios as Decimal, dates as `date`. Names follow docs/glossary.md, never the national
field names.

Two families:
- hospital facts (3201 totals, 3202 detail) are keyed by `institution_code`;
- agency facts about one day of one agency pair are keyed by `pair`, written
  "<insured agency region>><visit agency region>" (e.g. "320500>320100": Suzhou's insured persons
  treated in Nanjing), the direction in which the money is owed at clearing. All days of a pair
  therefore stay in order on one partition.

Clearing consumes `DayClosed` (settlements confirmed by both agencies) and
`DisputedSettlementReleased` (a disputed settlement confirmed later, in the month of `month`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from yidi_events.registry import event


@dataclass(frozen=True, kw_only=True)
class FundAmount:
    """One fund's payment in a settlement (`fund_code` 310100, 310200 personal account, ...)."""

    fund_code: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class DaySettlement:
    """A settlement as the day statement holds it; a cancellation has negative amounts."""

    settlement_id: str
    visit_id: str
    person_id: str
    institution_code: str
    clearing_agency: str
    insured_region: str
    visit_region: str
    insurance_type: str
    clearing_category: str
    business_date: date
    total_fee: int
    fund_total: int
    account_paid: int
    cash_paid: int
    is_refund: bool
    original_settlement_id: str | None
    fund_payments: tuple[FundAmount, ...]


@dataclass(frozen=True, kw_only=True)
class Figures:
    """Count of records and their summed amounts (cancellations count as records, negative)."""

    count: int
    total_fee: int
    fund_total: int
    account_paid: int
    cash_paid: int


@dataclass(frozen=True, kw_only=True)
class SchemeTotals:
    """Figures split by scheme: employee (insurance type 310) and resident (390)."""

    employee: Figures
    resident: Figures


@dataclass(frozen=True, kw_only=True)
class ClearingSettlement:
    """What monthly clearing needs of one confirmed settlement."""

    settlement_id: str
    insured_region: str
    visit_region: str
    insurance_type: str
    business_date: date
    fund_total: int
    account_paid: int
    fund_payments: tuple[FundAmount, ...]


# --- agency facts: one day of one pair ---------------------------------------------------------


@event("reconciliation.DaySettlementRecorded", key="pair")
@dataclass(frozen=True, kw_only=True)
class DaySettlementRecorded:
    pair: str
    insured_region: str
    visit_region: str
    business_date: date
    settlement: DaySettlement
    after_issue: bool  # arrived after the day's statement was issued (a late record)
    recorded_at: datetime


@event("reconciliation.DayClosed", key="pair")
@dataclass(frozen=True, kw_only=True)
class DayClosed:
    """Both agencies confirmed. `settlements` are those entering clearing with THIS close (a day
    reopened by a late record closes again with only what is new); open disputes are held out."""

    pair: str
    insured_region: str
    visit_region: str
    business_date: date
    month: str  # YYYY-MM of the business date: the clearing month of these settlements
    close_number: int
    settlements: tuple[ClearingSettlement, ...]
    totals: SchemeTotals
    held_settlement_ids: tuple[str, ...]
    closed_at: datetime


@event("reconciliation.DisputedSettlementReleased", key="pair")
@dataclass(frozen=True, kw_only=True)
class DisputedSettlementReleased:
    """A settlement held out of a closed day, resolved later: it clears in `month` (resolution)."""

    pair: str
    insured_region: str
    visit_region: str
    business_date: date
    month: str
    scheme: str  # "employee" or "resident"
    resolution: str
    settlement: ClearingSettlement
    released_at: datetime
