"""The settlement facts other services consume, published on `yidi.settlement.events`.

Each fact is a frozen dataclass registered with `@event("settlement.<PastTense>", key=...)`;
money in fen (int), ratios as Decimal, dates as `date`. Names follow docs/glossary.md, never the
national field names.

Person-centred facts (visits, settlements) are keyed by `person_id`, so one person's history is
ordered for audit (split hospitalisation, two cities the same day) and the accumulators.

What the consumers need:
- reconciliation: per (institution, clearing agency, insurance type, clearing category, business
  date) counts and totals; a cancellation is its own negative record (`SettlementCancelled`).
- clearing: insured region owes visit region; employee vs resident from `insurance_type`; the
  ordered fund payments and the account.
- audit: admission/discharge dates, principal diagnosis, fee lines with dates and charge
  category (bed-only days, duplicates), visit regions and times (two cities the same day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from yidi_events.kernel.money import Fen
from yidi_events.registry import event

# --- value types shared by the settlement domain and its facts ---------------------------------


class FundCode(StrEnum):
    """National fund payment codes, in the order a settlement lists them."""

    EMPLOYEE_BASIC = "310100"
    RESIDENT_BASIC = "390100"
    LARGE_AMOUNT = "330100"  # 职工大额医疗费用补助 (employees)
    CRITICAL_ILLNESS = "390200"  # 居民大病保险 (residents)
    CIVIL_SERVANT = "320100"
    MEDICAL_ASSISTANCE = "610100"
    MATERNITY = "510100"  # 生育基金: maternity admissions
    PERSONAL_ACCOUNT = "310200"  # listed with the funds on the wire, never counted in fund_total


class ItemClass(StrEnum):
    A = "01"  # 甲类: fully in policy
    B = "02"  # 乙类: a self-pay ratio first
    C = "03"  # 丙类: fully self-paid


@dataclass(frozen=True, kw_only=True)
class FundPayment:
    fund_code: FundCode
    amount: Fen


@dataclass(frozen=True, kw_only=True)
class FeeLineSplit:
    """One uploaded fee line and how the visit-place catalogue split it."""

    fee_line_no: str
    catalogue_code: str
    hospital_item_code: str | None
    charge_category: str | None  # e.g. "01" bed fee: audit's bed-only days
    fee_date: date | None
    quantity: Decimal
    unit_price: Decimal  # yuan per unit, as the hospital charged it
    amount: Fen
    item_class: ItemClass | None  # None: not in the catalogue
    fully_self_paid: Fen
    over_limit: Fen
    pre_self_paid: Fen
    in_policy: Fen
    # The hospital's charge batch (收费批次): 2205 cancels a batch's unsettled lines.
    charge_batch: str | None = None
    # A return (退费) names the line it returns; its quantity, amount and parts are negative and
    # net the original's down, never below zero.
    returned_line: str | None = None


@dataclass(frozen=True, kw_only=True)
class SettlementTotals:
    """Figures of a settlement: total_fee = fund_total + account_paid + cash + hospital_borne."""

    total_fee: Fen
    fully_self_paid: Fen
    over_limit: Fen
    pre_self_paid: Fen
    in_policy: Fen
    deductible_applied: Fen
    basic_fund: Fen
    large_amount_fund: Fen
    critical_illness_fund: Fen
    civil_servant_subsidy: Fen
    medical_assistance: Fen
    fund_total: Fen
    account_paid: Fen
    cash_paid: Fen
    personal_total: Fen
    hospital_borne: Fen
    maternity_fund: Fen = 0  # in fund_total; paid for maternity admissions only

    def negated(self) -> SettlementTotals:
        return SettlementTotals(
            **{name: -getattr(self, name) for name in self.__dataclass_fields__}
        )


@dataclass(frozen=True, kw_only=True)
class ChronicUse:
    """What a person used of one chronic disease's terms in one cap period (门诊慢特病): the
    deductible paid and the fund's payments. `period` is the policy year ('2026') or a month of
    it ('2026-03'), as the disease's terms count its cap."""

    disease_code: str
    period: str
    deductible_used: Fen = 0
    fund_paid: Fen = 0


def merged_chronic(
    left: tuple[ChronicUse, ...], right: tuple[ChronicUse, ...]
) -> tuple[ChronicUse, ...]:
    """Two sets of chronic figures as one, summed by (disease, period), in a stable order; a
    (disease, period) that sums to nothing is dropped, so a cancelled settlement leaves none."""
    totals: dict[tuple[str, str], tuple[Fen, Fen]] = {}
    for use in (*left, *right):
        key = (use.disease_code, use.period)
        deductible, paid = totals.get(key, (0, 0))
        totals[key] = (deductible + use.deductible_used, paid + use.fund_paid)
    return tuple(
        ChronicUse(disease_code=code, period=period, deductible_used=d, fund_paid=p)
        for (code, period), (d, p) in sorted(totals.items())
        if d or p
    )


_SCALAR_SKIP = ("policy_year", "chronic")


@dataclass(frozen=True, kw_only=True)
class AccumulatorMovement:
    """How one settlement moved the person-year figures; a cancellation moves them back by this."""

    policy_year: int
    inpatient_admissions: int
    outpatient_deductible_used: Fen
    eligible_cum: Fen
    basic_paid_cum: Fen
    supplementary_base_cum: Fen
    supplementary_paid_cum: Fen
    assistance_paid_cum: Fen
    account_balance: Fen  # change to the personal-account balance (negative when it paid)
    # ordinary outpatient pooling paid this year: its own cap, apart from the inpatient one
    outpatient_pooling_paid_cum: Fen = 0
    # chronic diseases (14): per disease and cap period, apart from every other figure
    chronic: tuple[ChronicUse, ...] = ()

    def negated(self) -> AccumulatorMovement:
        values: dict[str, Any] = {
            name: -getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in _SCALAR_SKIP
        }
        return AccumulatorMovement(
            policy_year=self.policy_year,
            chronic=tuple(
                replace(u, deductible_used=-u.deductible_used, fund_paid=-u.fund_paid)
                for u in self.chronic
            ),
            **values,
        )

    def plus(self, other: AccumulatorMovement) -> AccumulatorMovement:
        """Two movements of one year as one (a year's totals are the sum of its movements)."""
        values: dict[str, Any] = {
            name: getattr(self, name) + getattr(other, name)
            for name in self.__dataclass_fields__
            if name not in _SCALAR_SKIP
        }
        return AccumulatorMovement(
            policy_year=self.policy_year,
            chronic=merged_chronic(self.chronic, other.chronic),
            **values,
        )

    @classmethod
    def zero(cls, policy_year: int) -> AccumulatorMovement:
        values: dict[str, Any] = dict.fromkeys(
            (n for n in cls.__dataclass_fields__ if n not in _SCALAR_SKIP), 0
        )
        return cls(policy_year=policy_year, **values)

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> AccumulatorMovement:
        """A movement as a JSON column holds it (`dataclasses.asdict`)."""
        values = dict(row)
        values["chronic"] = tuple(ChronicUse(**u) for u in values.get("chronic", ()))
        return cls(**values)


# --- visits ------------------------------------------------------------------------------------


@event("settlement.FeeLinesUploaded", key="person_id")
@dataclass(frozen=True, kw_only=True)
class FeeLinesUploaded:
    visit_id: str
    person_id: str
    institution_code: str
    lines: tuple[FeeLineSplit, ...]
    uploaded_at: datetime
    message_id: str | None = None


@event("settlement.FeeLinesCancelled", key="person_id")
@dataclass(frozen=True, kw_only=True)
class FeeLinesCancelled:
    """2205/2302: lines withdrawn before settlement; an empty tuple is never sent."""

    visit_id: str
    person_id: str
    institution_code: str
    fee_line_nos: tuple[str, ...]
    cancelled_at: datetime


# --- settlements -------------------------------------------------------------------------------


@event("settlement.VisitSettled", key="person_id")
@dataclass(frozen=True, kw_only=True)
class VisitSettled:
    settlement_id: str
    visit_id: str
    person_id: str
    insured_region: str
    visit_region: str
    institution_code: str
    clearing_agency: str  # the visit-place agency that clears this settlement
    clearing_category: str  # "11" outpatient, "21" inpatient, "41" pharmacy, "99" other
    insurance_type: str
    medical_type: str
    filing_kind: str
    admitted_on: date
    discharged_on: date
    principal_diagnosis: str | None
    totals: SettlementTotals
    fund_payments: tuple[FundPayment, ...]  # ordered as the national setldetail, account last
    account_balance_after: Fen | None  # None for residents (no personal account)
    movement: AccumulatorMovement
    message_id: str
    settled_at: datetime


@event("settlement.SettlementCancelled", key="person_id")
@dataclass(frozen=True, kw_only=True)
class SettlementCancelled:
    """2208/2305: a negative record with its own id; totals and payments negate the original."""

    settlement_id: str  # the negative record's own id
    original_settlement_id: str
    visit_id: str
    person_id: str
    insured_region: str
    visit_region: str
    institution_code: str
    clearing_agency: str
    clearing_category: str
    insurance_type: str
    medical_type: str
    totals: SettlementTotals  # negative
    fund_payments: tuple[FundPayment, ...]  # negative
    account_balance_after: Fen | None
    movement: AccumulatorMovement  # the original's movement, negated
    message_id: str
    cancelled_at: datetime


@event("settlement.SettlementReversed", key="person_id")
@dataclass(frozen=True, kw_only=True)
class SettlementReversed:
    """2601: the hospital never received the outcome of `original_message_id`; it is undone."""

    person_id: str
    institution_code: str
    original_message_id: str
    reversed_transaction: str  # the transaction code reversed, e.g. "2207"
    settlement_id: str | None  # the settlement undone, when the reversed call settled one
    message_id: str
    reversed_at: datetime
    # A reversed cancellation (2208/2305; settlement_id is then the cancellation's negative
    # record): the settlement that stands again.
    reinstated_settlement_id: str | None = None


# --- the person's ledger at the visit place ----------------------------------------------------


@event("settlement.PersonLedgerMoved", key="person_id")
@dataclass(frozen=True, kw_only=True)
class PersonLedgerMoved:
    """One movement of a person's year and account made at the visit place: a settlement, its
    cancellation or its reversal (2601 cancels).

    Appended to the person's one ledger stream (`person-ledger-{person_id}`) at the version the
    settling handler loaded, so all the person's account spending here, in any year at any
    hospital, is serialised. `sequence` is the stream version: the insured place counts each
    sequence once, in order, and states up to which one it has counted (`visit_ledger_counted`).
    """

    person_id: str
    insured_region: str
    sequence: int  # 1, 2, ... the ledger stream's version of this movement
    policy_year: int
    movement: AccumulatorMovement  # account_balance: the account's change (negative: it paid)
    reason: str  # "settlement" / "cancellation"
    settlement_id: str  # the settlement, or the cancellation's negative record
    visit_id: str
    moved_at: datetime
