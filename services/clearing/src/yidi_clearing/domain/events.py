"""Facts the clearing service publishes on `yidi.clearing.events`, none of which another
service consumes: they are clearing's own, not in `yidi_events.contracts`.

Each fact is a frozen dataclass registered with `@event("clearing.<PastTense>", key=...)`; money in
fen (int), ratios as Decimal, dates as `date`. Names follow docs/glossary.md, never the national
field names.

Period facts (statement, confirmations, approvals, netting, cash, ledger) are keyed by the
clearing period "YYYY-MM" (the month being cleared, not the month the work happens in). Hospital
clearing applications are keyed by the institution code so one hospital's history stays ordered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from yidi_events.registry import event

# --- value types carried inside the facts -------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StatementPart:
    """One insurance type's figures on a statement line, with the ids behind every figure."""

    insurance_type: str  # "310" employee basic, "390" resident basic
    fund_paid: int  # all funds (basic, large-amount/critical-illness, subsidy, assistance)
    account_paid: int  # personal account
    audit_deducted: int  # audit deductions, positive
    clawed_back: int  # recovered fund money returning to the insured place, positive
    amount: int  # fund_paid + account_paid - audit_deducted - clawed_back
    settlement_ids: tuple[str, ...]  # behind fund_paid and account_paid
    audit_deduction_ids: tuple[str, ...]  # behind audit_deducted
    clawback_ids: tuple[str, ...]  # behind clawed_back


@dataclass(frozen=True, kw_only=True)
class StatementLine:
    """What the payer (insured-place agency) owes the receiver (visit-place agency) for the month.

    One line per ORDERED pair: the two directions of a pair are separate lines, never netted here.
    The amount may be negative when deductions exceed the month's payments.
    """

    line_id: str  # "<payer>><receiver>", e.g. "320100>320200"
    payer_agency: str
    receiver_agency: str
    parts: tuple[StatementPart, ...]  # sorted by insurance type
    amount: int


@dataclass(frozen=True, kw_only=True)
class HeldItem:
    """An input left out of this period's statement and why; it enters a later period."""

    item_id: str  # settlement id or deduction id
    kind: str  # "settlement" | "deduction"
    payer_agency: str
    receiver_agency: str
    amount: int  # what it would have contributed to the line (deductions negative)
    reason: str


@dataclass(frozen=True, kw_only=True)
class NetPosition:
    agency: str
    receivable: int  # sum over confirmed obligations where the agency receives
    payable: int  # sum over confirmed obligations where the agency pays
    net: int  # receivable - payable; > 0 net receiver, < 0 net payer


@dataclass(frozen=True, kw_only=True)
class JournalLine:
    account: str  # "receivable:<agency>", "payable:<agency>", "centre_bank", "prepaid_fund"
    debit: int  # exactly one of debit / credit is positive, the other zero
    credit: int
    reference: str  # what the amount came from (line id, bank reference, adjustment id, ...)


# --- the period's statement ---------------------------------------------------------------------


@event("clearing.StatementGenerated", key="period")
@dataclass(frozen=True, kw_only=True)
class StatementGenerated:
    period: str
    input_hash: str  # sha256 over the canonical, sorted inputs; same inputs -> same hash
    generated_on: date
    lines: tuple[StatementLine, ...]
    held: tuple[HeldItem, ...]


@event("clearing.LineConfirmed", key="period")
@dataclass(frozen=True, kw_only=True)
class LineConfirmed:
    period: str
    line_id: str
    agency: str  # the party agency that confirmed
    confirmed_by: str  # user id
    confirmed_on: date


@event("clearing.LineDisputed", key="period")
@dataclass(frozen=True, kw_only=True)
class LineDisputed:
    period: str
    line_id: str
    agency: str
    disputed_by: str
    reason: str
    disputed_on: date


@event("clearing.StatementApprovalGiven", key="period")
@dataclass(frozen=True, kw_only=True)
class StatementApprovalGiven:
    """The first of the two approvals a statement needs (four eyes)."""

    period: str
    input_hash: str
    approver: str
    approved_on: date


@event("clearing.StatementApproved", key="period")
@dataclass(frozen=True, kw_only=True)
class StatementApproved:
    period: str
    input_hash: str
    approvers: tuple[str, str]  # two different people, first and second
    approved_on: date


@event("clearing.AdjustmentProposed", key="period")
@dataclass(frozen=True, kw_only=True)
class AdjustmentProposed:
    period: str
    adjustment_id: str
    payer_agency: str
    receiver_agency: str
    amount: int  # positive: the payer owes the receiver this much more
    reason: str
    proposed_by: str
    proposed_on: date


@event("clearing.AdjustmentApproved", key="period")
@dataclass(frozen=True, kw_only=True)
class AdjustmentApproved:
    period: str
    adjustment_id: str
    payer_agency: str
    receiver_agency: str
    amount: int
    proposed_by: str
    approved_by: str  # never the proposer
    approved_on: date


@event("clearing.NetPositionsComputed", key="period")
@dataclass(frozen=True, kw_only=True)
class NetPositionsComputed:
    period: str
    positions: tuple[NetPosition, ...]  # sorted by agency; nets sum to exactly zero
    line_ids: tuple[str, ...]  # the confirmed lines netted
    held_line_ids: tuple[str, ...]  # disputed lines, held out of netting
    adjustment_ids: tuple[str, ...]
    computed_on: date


# --- cash ---------------------------------------------------------------------------------------


@event("clearing.RemittanceRecorded", key="period")
@dataclass(frozen=True, kw_only=True)
class RemittanceRecorded:
    """A net payer's money arrived at the provincial centre."""

    period: str
    agency: str
    bank_reference: str
    amount: int
    received_on: date
    owed: int  # the agency's net payable for the period
    received_total: int  # including this remittance
    outstanding: int  # owed - received_total
    late: bool  # received after the remittance deadline


@event("clearing.DisbursementRequested", key="period")
@dataclass(frozen=True, kw_only=True)
class DisbursementRequested:
    """The first of the two people a disbursement needs (four eyes)."""

    period: str
    disbursement_id: str
    agency: str
    amount: int
    requested_by: str
    requested_on: date


@event("clearing.DisbursementRecorded", key="period")
@dataclass(frozen=True, kw_only=True)
class DisbursementRecorded:
    """The centre paid a net receiver."""

    period: str
    disbursement_id: str
    agency: str
    amount: int
    requested_by: str
    approved_by: str
    paid_on: date
    disbursed_total: int  # paid to this agency for the period, including this one
    outstanding: int  # the agency's net receivable not yet paid


@event("clearing.PrepaidFundWarningRaised", key="period")
@dataclass(frozen=True, kw_only=True)
class PrepaidFundWarningRaised:
    period: str
    fund_id: str
    fund_amount: int
    clearing_amount: int
    usage: Decimal  # clearing_amount / fund_amount, 4 places
    level: str  # "yellow" | "red"
    raised_on: date


# --- the prepaid fund (预付金), one stream per fund ------------------------------------------------


@event("clearing.PrepaidFundEstablished", key="fund_id")
@dataclass(frozen=True, kw_only=True)
class PrepaidFundEstablished:
    """The centre set the fund aside: months_of_q4_average x last year's Q4 monthly average."""

    fund_id: str
    amount: int
    q4_monthly_amounts: tuple[int, int, int]
    established_by: str
    established_on: date


@event("clearing.PrepaidFundAdvanced", key="fund_id")
@dataclass(frozen=True, kw_only=True)
class PrepaidFundAdvanced:
    """The fund paid part of a disbursement because net payers of the period were late."""

    fund_id: str
    period: str
    disbursement_id: str
    agency: str  # the net receiver paid
    amount: int  # the part of the disbursement the fund paid
    late_agencies: tuple[str, ...]  # the net payers whose cash was outstanding
    level: int  # the fund's money after the advance
    advanced_on: date


@event("clearing.PrepaidFundRepaid", key="fund_id")
@dataclass(frozen=True, kw_only=True)
class PrepaidFundRepaid:
    """A late payer's cash arrived and went back to the fund, up to what the fund advanced."""

    fund_id: str
    period: str
    bank_reference: str  # of the remittance that repaid it
    agency: str  # the payer
    amount: int
    level: int  # the fund's money after the repayment
    repaid_on: date


@event("clearing.PrepaidFundTopUpRequested", key="fund_id")
@dataclass(frozen=True, kw_only=True)
class PrepaidFundTopUpRequested:
    """A red warning: the centre is asked to top the fund up by `amount` (what is in use)."""

    fund_id: str
    request_id: str
    period: str  # the period whose advance turned the fund red
    amount: int
    size: int
    level: int
    requested_on: date


@event("clearing.PrepaidFundToppedUp", key="fund_id")
@dataclass(frozen=True, kw_only=True)
class PrepaidFundToppedUp:
    fund_id: str
    request_id: str
    amount: int
    bank_reference: str
    topped_up_by: str
    topped_up_on: date


@event("clearing.JournalEntryPosted", key="period")
@dataclass(frozen=True, kw_only=True)
class JournalEntryPosted:
    period: str
    entry_id: str  # deterministic: "<period>/<kind>/<id>"
    memo: str
    posted_on: date
    lines: tuple[JournalLine, ...]  # debits equal credits


# --- hospital clearing (3203 / 3204 / 3205A) ----------------------------------------------------


@event("clearing.ClearingApplied", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class ClearingApplied:
    institution_code: str
    clearing_application_id: str
    clearing_agency: str
    month: str  # "YYYY-MM"
    clearing_category: str  # "11", "21", "41", "99"
    count: int
    total_fee: int
    fund_total: int
    account_paid: int
    cash_paid: int
    applied_on: date


@event("clearing.ClearingApplicationWithdrawn", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class ClearingApplicationWithdrawn:
    institution_code: str
    clearing_application_id: str
    withdrawn_on: date


@event("clearing.ClearingStatusChanged", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class ClearingStatusChanged:
    institution_code: str
    clearing_application_id: str
    from_status: str  # "10".."70"
    to_status: str
    changed_by: str
    reason: str
    changed_on: date


@event("clearing.HospitalPayableComputed", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalPayableComputed:
    """What the clearing agency owes the hospital for the month and category, fixed at review
    (status 40): the reconciled fund and account payments less the deductions decided in the
    month against the hospital's settlements."""

    institution_code: str
    clearing_application_id: str
    clearing_agency: str
    month: str
    clearing_category: str
    reimbursable: int  # reconciled fund_total + account_paid
    audit_deducted: int  # routine audit deductions (审核扣款), positive
    clawed_back: int  # clawbacks, positive
    amount: int  # reimbursable - audit_deducted - clawed_back
    deduction_ids: tuple[str, ...]
    computed_on: date


@event("clearing.HospitalPaymentRecorded", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalPaymentRecorded:
    """The clearing agency paid the hospital its payable (status 60)."""

    institution_code: str
    clearing_application_id: str
    clearing_agency: str
    amount: int
    bank_reference: str
    paid_by: str
    paid_on: date
    late: bool  # after the calendar's hospital payment deadline
