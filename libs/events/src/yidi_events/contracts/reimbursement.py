"""The manual-reimbursement facts (手工报销, DOMAIN.md section 6), published on
`yidi.reimbursement.events`.

A claim is one stream (`claim-{claim_id}`), keyed by `person_id` on the topic so one person's
claims arrive in order. Filing's person-year consumes `ClaimApproved` (its `movement` moves the
person's year and account like a direct settlement, counted once per `claim_id`); audit may read
the invoices of `ClaimReceived`. Money in fen, dates as `date`, domain names only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from yidi_events.contracts.settlement import AccumulatorMovement, FundPayment, SettlementTotals
from yidi_events.kernel.money import Fen
from yidi_events.registry import event


@dataclass(frozen=True, kw_only=True)
class ClaimInvoice:
    """A medical e-invoice (医疗电子票据) as the person handed it in and the verification
    service confirmed it."""

    invoice_code: str
    invoice_number: str
    amount: Fen
    issued_on: date
    issuing_institution: str  # the institution code printed on the invoice


@dataclass(frozen=True, kw_only=True)
class ClaimFeeLine:
    """One line of the fee detail list (费用明细清单) handed in with the invoices."""

    line_no: str
    catalogue_code: str
    item_name: str
    quantity: str  # a decimal as written in the list: kept exact, never a float
    unit_price: str  # yuan per unit, as written
    amount: Fen
    fee_date: date | None


@dataclass(frozen=True, kw_only=True)
class LedgerEntry:
    """One side of the payment's ledger movement: debits equal credits in every ClaimPaid."""

    account: str  # "fund:310100", "personal_account", "bank_payable"
    debit: Fen
    credit: Fen


@event("reimbursement.ClaimReceived", key="person_id")
@dataclass(frozen=True, kw_only=True)
class ClaimReceived:
    """A claim handed in (at the counter or online) whose invoices were verified as valid, none
    claimed before, no visit of it settled directly, and whose detail list sums to them."""

    claim_id: str
    person_id: str
    insured_region: str
    channel: str  # "counter" / "online"
    institution_code: str
    institution_name: str
    visit_region: str
    hospital_level: str
    medical_type: str
    emergency: bool
    admitted_on: date
    discharged_on: date
    invoices: tuple[ClaimInvoice, ...]
    fee_lines: tuple[ClaimFeeLine, ...]
    claimed_total: Fen
    discharge_summary_ref: str
    bank_account: str
    use_account: bool
    received_by: str  # the officer's user id, or the person's own for an online claim
    received_on: date
    acceptance_due: date  # working days from received_on (the configured acceptance term)
    received_at: datetime


@event("reimbursement.ClaimChecked", key="person_id")
@dataclass(frozen=True, kw_only=True)
class ClaimChecked:
    """Accepted (受理) by an officer who checked the materials; the filing it claims under is
    named here (an emergency, a filing the person held, or one filed afterwards: 补办)."""

    claim_id: str
    person_id: str
    filing_kind: str
    checked_by: str
    checked_on: date
    review_due: date
    reviewers_needed: int  # two above the configured amount
    checked_at: datetime


@event("reimbursement.ClaimRefused", key="person_id")
@dataclass(frozen=True, kw_only=True)
class ClaimRefused:
    """The claim ends unpaid: refused at acceptance or on review; the person is told why."""

    claim_id: str
    person_id: str
    rule: str
    reason: str
    refused_by: str
    refused_on: date
    refused_at: datetime


@event("reimbursement.ClaimReviewed", key="person_id")
@dataclass(frozen=True, kw_only=True)
class ClaimReviewed:
    """One reviewer's approval; a large claim needs two different reviewers."""

    claim_id: str
    person_id: str
    reviewer: str
    note: str
    reviewed_on: date
    reviewed_at: datetime


@event("reimbursement.ClaimApproved", key="person_id")
@dataclass(frozen=True, kw_only=True)
class ClaimApproved:
    """The claim computed by the benefit engine under the insured place's policy: `movement`
    moves the person's year and account like a direct settlement (counted once per claim_id)."""

    claim_id: str
    person_id: str
    insured_region: str
    insurance_type: str
    policy_year: int
    policy_version: int
    totals: SettlementTotals
    fund_payments: tuple[FundPayment, ...]
    movement: AccumulatorMovement
    payable: Fen  # to the person's bank account: the funds' payments and the account's
    approved_on: date
    payment_due: date
    approved_at: datetime


@event("reimbursement.ClaimPaid", key="person_id")
@dataclass(frozen=True, kw_only=True)
class ClaimPaid:
    claim_id: str
    person_id: str
    insured_region: str
    amount: Fen
    payment_batch: str
    entries: tuple[LedgerEntry, ...]  # balanced: sum of debits == sum of credits
    paid_on: date
    paid_at: datetime
