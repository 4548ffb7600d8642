"""Hospital totals reconciliation (3201): the hospital's claimed totals against the platform's.

A handler sums the platform's figures for the claim's scope (`claim.scope.covers` says which
records count), calls `compare_claim(claim, platform)` (or `compare_totals(claim, records)` on the
records themselves) and, to publish the outcome, `totals_reconciled(claim,
result, now)`. Nothing is stored by the comparison itself; calling it twice gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from yidi_events.kernel import DomainError, Fen, fen_to_yuan
from yidi_reconciliation.domain.events import FigureDifference, HospitalTotalsReconciled
from yidi_reconciliation.domain.records import SettlementRecord, Totals


@dataclass(frozen=True, kw_only=True)
class StatementScope:
    """Which platform records a hospital reconciles against."""

    institution_code: str
    clearing_agency: str
    start_date: date
    end_date: date
    include_refunds: bool = True
    insurance_type: str | None = None  # None: every insurance type (3202 may omit it)
    clearing_category: str | None = None

    def __post_init__(self) -> None:
        if self.start_date > self.end_date:
            raise DomainError(
                "reconciliation.date_range",
                f"The statement period starts on {self.start_date} after it ends on"
                f" {self.end_date}.",
                field="end_date",
            )

    def covers(self, record: SettlementRecord) -> bool:
        return (
            record.institution_code == self.institution_code
            and record.clearing_agency == self.clearing_agency
            and self.start_date <= record.business_date <= self.end_date
            and (self.include_refunds or not record.is_refund)
            and self.insurance_type in (None, record.insurance_type)
            and self.clearing_category in (None, record.clearing_category)
        )

    def select(self, records: Iterable[SettlementRecord]) -> list[SettlementRecord]:
        # Deduplicated by id, so a record loaded twice is still counted once.
        chosen = {r.settlement_id: r for r in records if self.covers(r)}
        return list(chosen.values())


@dataclass(frozen=True, kw_only=True)
class TotalsClaim:
    scope: StatementScope
    count: int
    total_fee: Fen
    fund_total: Fen
    account_paid: Fen

    def __post_init__(self) -> None:
        # 3201 is asked per insurance type and clearing category, never across them.
        for name in ("insurance_type", "clearing_category"):
            if not getattr(self.scope, name):
                raise DomainError(
                    "reconciliation.scope_incomplete",
                    f"A totals reconciliation must name the {name.replace('_', ' ')}.",
                    field=name,
                )
        if self.count < 0:
            raise DomainError(
                "reconciliation.count_negative",
                f"The settlement count cannot be negative (got {self.count}).",
                field="count",
            )


@dataclass(frozen=True)
class TotalsComparison:
    balanced: bool
    description: str
    platform: Totals
    differences: tuple[FigureDifference, ...]


# Order of the figures in the description: money first, then the count, as a clerk reads a slip.
_FIGURES = ("total_fee", "fund_total", "account_paid", "count")


def compare_totals(claim: TotalsClaim, records: Iterable[SettlementRecord]) -> TotalsComparison:
    return compare_claim(claim, Totals.sum(claim.scope.select(records)))


def compare_claim(claim: TotalsClaim, platform: Totals) -> TotalsComparison:
    """The claim against the platform's figures of its scope, however they were summed (the
    handler reads them from the daily totals; `compare_totals` sums the records)."""
    differences = tuple(
        FigureDifference(
            figure=name, platform=getattr(platform, name), hospital=getattr(claim, name)
        )
        for name in _FIGURES
        if getattr(platform, name) != getattr(claim, name)
    )
    return TotalsComparison(
        balanced=not differences,
        description=_describe(claim.scope, platform, differences),
        platform=platform,
        differences=differences,
    )


def _amount(figure: str, value: int) -> str:
    return str(value) if figure == "count" else fen_to_yuan(value)


def _describe(
    scope: StatementScope, platform: Totals, differences: tuple[FigureDifference, ...]
) -> str:
    period = f"{scope.start_date} to {scope.end_date}"
    refunds = "including" if scope.include_refunds else "excluding"
    if not differences:
        return (
            f"Balanced for {period} ({refunds} cancellations): {platform.count} settlements,"
            f" total_fee {fen_to_yuan(platform.total_fee)}, fund_total"
            f" {fen_to_yuan(platform.fund_total)}, account_paid"
            f" {fen_to_yuan(platform.account_paid)} yuan."
        )
    parts = "; ".join(
        f"{d.figure}: platform {_amount(d.figure, d.platform)},"
        f" hospital {_amount(d.figure, d.hospital)}"
        for d in differences
    )
    return (
        f"Not balanced for {period} ({refunds} cancellations), amounts in yuan: {parts}."
        " Reconcile the detail to find the settlements that differ."
    )


def totals_reconciled(
    claim: TotalsClaim, result: TotalsComparison, now: datetime
) -> HospitalTotalsReconciled:
    scope = claim.scope
    return HospitalTotalsReconciled(
        institution_code=scope.institution_code,
        clearing_agency=scope.clearing_agency,
        insurance_type=scope.insurance_type or "",
        clearing_category=scope.clearing_category or "",
        start_date=scope.start_date,
        end_date=scope.end_date,
        include_refunds=scope.include_refunds,
        balanced=result.balanced,
        description=result.description,
        platform=result.platform.as_figures(),
        differences=result.differences,
        reconciled_at=now,
    )
