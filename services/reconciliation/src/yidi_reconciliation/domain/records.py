"""The reconciliation service's own view of a settlement, and the figures it sums.

The app layer fills a `SettlementRecord` from each settlement fact (a settlement or a
cancellation) it consumes; everything else in the domain works on these records. A cancellation is
a record of its own with negative amounts, `is_refund=True` and the id of the settlement it cancels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from yidi_events.contracts.reconciliation import (
    ClearingSettlement,
    DaySettlement,
    Figures,
    FundAmount,
)
from yidi_events.kernel import DomainError, Fen, validate_region


class Scheme(StrEnum):
    EMPLOYEE = "employee"
    RESIDENT = "resident"


@dataclass(frozen=True)
class ReconciliationSettings:
    """Thresholds and code lists that vary by province; defaults from DOMAIN.md section 3."""

    month_close_day: int = 3  # the last month must be closed by this day of the next month
    employee_insurance_types: frozenset[str] = frozenset({"310"})
    resident_insurance_types: frozenset[str] = frozenset({"390"})

    def scheme_of(self, insurance_type: str) -> Scheme:
        if insurance_type in self.employee_insurance_types:
            return Scheme.EMPLOYEE
        if insurance_type in self.resident_insurance_types:
            return Scheme.RESIDENT
        raise DomainError(
            "reconciliation.insurance_type_unknown",
            f"Insurance type {insurance_type!r} is neither an employee nor a resident scheme;"
            " it cannot be reconciled between agencies.",
            field="insurance_type",
        )


DEFAULT_SETTINGS = ReconciliationSettings()


@dataclass(frozen=True)
class FundPayment:
    fund_code: str
    amount: Fen


@dataclass(frozen=True, kw_only=True)
class SettlementRecord:
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
    total_fee: Fen
    fund_total: Fen
    account_paid: Fen
    cash_paid: Fen
    is_refund: bool = False
    original_settlement_id: str | None = None
    fund_payments: tuple[FundPayment, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.settlement_id:
            raise DomainError(
                "reconciliation.record_invalid", "A settlement has no id.", field="settlement_id"
            )
        for name in ("insured_region", "visit_region", "clearing_agency"):
            try:
                validate_region(getattr(self, name))
            except ValueError as exc:
                raise DomainError("reconciliation.record_invalid", str(exc), field=name) from None
        if self.is_refund and not self.original_settlement_id:
            raise DomainError(
                "reconciliation.record_invalid",
                f"Cancellation {self.settlement_id} does not name the settlement it cancels.",
                field="original_settlement_id",
            )
        if not self.is_refund and self.original_settlement_id is not None:
            raise DomainError(
                "reconciliation.record_invalid",
                f"Settlement {self.settlement_id} names an original settlement but is not a"
                " cancellation.",
                field="original_settlement_id",
            )


@dataclass(frozen=True)
class Totals:
    """Count and summed amounts of a set of records; adding is commutative and associative."""

    count: int = 0
    total_fee: Fen = 0
    fund_total: Fen = 0
    account_paid: Fen = 0
    cash_paid: Fen = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.count + other.count,
            self.total_fee + other.total_fee,
            self.fund_total + other.fund_total,
            self.account_paid + other.account_paid,
            self.cash_paid + other.cash_paid,
        )

    @staticmethod
    def of(record: SettlementRecord | DaySettlement) -> Totals:
        return Totals(1, record.total_fee, record.fund_total, record.account_paid, record.cash_paid)

    @staticmethod
    def sum(records: Iterable[SettlementRecord | DaySettlement]) -> Totals:
        total = Totals()
        for record in records:
            total = total + Totals.of(record)
        return total

    def as_figures(self) -> Figures:
        return Figures(
            count=self.count,
            total_fee=self.total_fee,
            fund_total=self.fund_total,
            account_paid=self.account_paid,
            cash_paid=self.cash_paid,
        )


def to_day_settlement(record: SettlementRecord) -> DaySettlement:
    return DaySettlement(
        settlement_id=record.settlement_id,
        visit_id=record.visit_id,
        person_id=record.person_id,
        institution_code=record.institution_code,
        clearing_agency=record.clearing_agency,
        insured_region=record.insured_region,
        visit_region=record.visit_region,
        insurance_type=record.insurance_type,
        clearing_category=record.clearing_category,
        business_date=record.business_date,
        total_fee=record.total_fee,
        fund_total=record.fund_total,
        account_paid=record.account_paid,
        cash_paid=record.cash_paid,
        is_refund=record.is_refund,
        original_settlement_id=record.original_settlement_id,
        fund_payments=tuple(
            FundAmount(fund_code=p.fund_code, amount=p.amount) for p in record.fund_payments
        ),
    )


def to_clearing_settlement(settlement: DaySettlement) -> ClearingSettlement:
    return ClearingSettlement(
        settlement_id=settlement.settlement_id,
        insured_region=settlement.insured_region,
        visit_region=settlement.visit_region,
        insurance_type=settlement.insurance_type,
        business_date=settlement.business_date,
        fund_total=settlement.fund_total,
        account_paid=settlement.account_paid,
        fund_payments=settlement.fund_payments,
    )
