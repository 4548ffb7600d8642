"""A manual-reimbursement claim (手工报销, DOMAIN.md section 6): one stream, `claim-{claim_id}`.

received (invoices verified, none claimed before, no visit settled directly, detail list = the
invoices) -> checked (accepted by an officer, who names the filing it claims under) -> reviewed
(once, or by two different reviewers above the configured amount) -> approved (computed by the
benefit engine: it moves the person's year) -> paid (a balanced ledger movement in a payment
batch). Before approval an officer or reviewer may refuse it; a refused or paid claim is closed.

Every refusal of a command here names its rule and field and changes nothing; a refused claim
(`ClaimRefused`) is a different thing: the business outcome the person is told about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from yidi_benefits.filings import FilingSnapshot, in_force, most_favourable
from yidi_events.application import Aggregate
from yidi_events.contracts.policy import FilingKind, HospitalLevel
from yidi_events.contracts.reimbursement import (
    ClaimApproved,
    ClaimChecked,
    ClaimFeeLine,
    ClaimInvoice,
    ClaimPaid,
    ClaimReceived,
    ClaimRefused,
    ClaimReviewed,
    LedgerEntry,
)
from yidi_events.contracts.settlement import FundCode, FundPayment
from yidi_events.kernel import Conflict, DomainError, Fen, Forbidden, NotFound, business_date
from yidi_reimbursement.domain.terms import ClaimTerms
from yidi_reimbursement.domain.verification import Verdict, Verification

ClaimEvent = ClaimReceived | ClaimChecked | ClaimRefused | ClaimReviewed | ClaimApproved | ClaimPaid

CHANNELS = ("counter", "online")


class Step(StrEnum):
    RECEIVED = "received"  # waiting for acceptance
    CHECKED = "checked"  # waiting for review
    APPROVED = "approved"  # waiting for payment
    PAID = "paid"
    REFUSED = "refused"


@dataclass(frozen=True, kw_only=True)
class Claim:
    received: ClaimReceived
    step: Step
    filing_kind: str | None = None
    checked_by: str | None = None
    reviewers_needed: int = 1
    reviewers: tuple[str, ...] = ()
    approved: ClaimApproved | None = None
    due: date | None = None  # the current step's deadline; None when closed


def evolve(state: Claim | None, event: Any) -> Claim | None:
    if isinstance(event, ClaimReceived):
        return Claim(received=event, step=Step.RECEIVED, due=event.acceptance_due)
    assert state is not None, "a claim's first event is ClaimReceived"
    if isinstance(event, ClaimChecked):
        return replace(
            state,
            step=Step.CHECKED,
            filing_kind=event.filing_kind,
            checked_by=event.checked_by,
            reviewers_needed=event.reviewers_needed,
            due=event.review_due,
        )
    if isinstance(event, ClaimReviewed):
        return replace(state, reviewers=(*state.reviewers, event.reviewer))
    if isinstance(event, ClaimApproved):
        return replace(state, step=Step.APPROVED, approved=event, due=event.payment_due)
    if isinstance(event, ClaimPaid):
        return replace(state, step=Step.PAID, due=None)
    if isinstance(event, ClaimRefused):
        return replace(state, step=Step.REFUSED, due=None)
    return state


CLAIM: Aggregate[Claim | None] = Aggregate(lambda: None, evolve)


def claim_stream(claim_id: str) -> str:
    return f"claim-{claim_id}"


# --- intake -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Intake:
    """A claim as handed in, before any check."""

    claim_id: str
    person_id: str
    insured_region: str
    channel: str
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
    discharge_summary_ref: str
    bank_account: str
    use_account: bool


@dataclass(frozen=True, kw_only=True)
class SettledVisit:
    """A visit the person settled directly (settlement.VisitSettled, not cancelled)."""

    settlement_id: str
    institution_code: str
    admitted_on: date
    discharged_on: date


def invoice_field(index: int, name: str) -> str:
    return f"invoices[{index}].{name}"


def check_intake(intake: Intake, today: date) -> None:
    """What the claim itself must hold, before anything is asked of another service."""
    if intake.channel not in CHANNELS:
        raise DomainError(
            "reimbursement.channel", f"channel must be one of {CHANNELS}", field="channel"
        )
    try:
        HospitalLevel(intake.hospital_level)
    except ValueError:
        raise DomainError(
            "reimbursement.hospital_level",
            f"hospital_level {intake.hospital_level!r} is not one of "
            f"{', '.join(v.value for v in HospitalLevel)}",
            field="hospital_level",
        ) from None
    if intake.admitted_on > intake.discharged_on:
        raise DomainError(
            "reimbursement.dates",
            "the admission cannot be after the discharge",
            field="admitted_on",
        )
    if intake.discharged_on > today:
        raise DomainError(
            "reimbursement.future_date",
            f"discharged_on {intake.discharged_on.isoformat()} is in the future",
            field="discharged_on",
        )
    if not intake.invoices:
        raise DomainError(
            "reimbursement.no_invoice", "a claim needs at least one invoice", field="invoices"
        )
    if not intake.bank_account.isdigit() or not 8 <= len(intake.bank_account) <= 32:
        raise DomainError(
            "reimbursement.bank_account",
            "bank_account must be 8 to 32 digits",
            field="bank_account",
        )
    if not intake.discharge_summary_ref.strip():
        raise DomainError(
            "reimbursement.discharge_summary",
            "the discharge summary (or outpatient record) must be referenced",
            field="discharge_summary_ref",
        )
    seen: set[tuple[str, str]] = set()
    for i, invoice in enumerate(intake.invoices):
        key = (invoice.invoice_code, invoice.invoice_number)
        if key in seen:
            raise Conflict(
                "reimbursement.invoice_repeated",
                f"invoice {invoice.invoice_code}/{invoice.invoice_number} is listed twice",
                field=invoice_field(i, "invoice_number"),
            )
        seen.add(key)
        if invoice.amount <= 0:
            raise DomainError(
                "reimbursement.invoice_amount",
                "an invoice's amount must be positive",
                field=invoice_field(i, "amount"),
            )
        if invoice.issuing_institution != intake.institution_code:
            raise DomainError(
                "reimbursement.invoice_institution",
                f"invoice {invoice.invoice_number} was issued by {invoice.issuing_institution}, "
                f"not by the claim's institution {intake.institution_code}",
                field=invoice_field(i, "issuing_institution"),
            )
        if not intake.admitted_on <= invoice.issued_on <= today:
            raise DomainError(
                "reimbursement.invoice_date",
                f"invoice {invoice.invoice_number} is dated {invoice.issued_on.isoformat()}, "
                "before the admission or in the future",
                field=invoice_field(i, "issued_on"),
            )
    invoiced = sum(i.amount for i in intake.invoices)
    listed = sum(line.amount for line in intake.fee_lines)
    if listed != invoiced:
        raise DomainError(
            "reimbursement.detail_mismatch",
            f"the detail list sums to {listed} fen but the invoices to {invoiced} fen",
            field="detail_file",
            values={"detail_total": listed, "invoice_total": invoiced},
        )


_VERDICT_RULES = {
    Verdict.VOIDED: ("reimbursement.invoice_voided", "was voided (作废) by its issuer"),
    Verdict.RED_FLUSHED: (
        "reimbursement.invoice_red_flushed",
        "was red-flushed (红冲): its amount was reversed by its issuer",
    ),
    Verdict.UNKNOWN: (
        "reimbursement.invoice_unknown",
        "is unknown to the e-invoice verification service",
    ),
}


def check_verifications(
    invoices: Sequence[ClaimInvoice], verifications: Sequence[Verification]
) -> None:
    """Each invoice must be valid and as the verification service records it (a forged copy of
    a real invoice with another amount is refused: seed 003 §六)."""
    for i, (invoice, found) in enumerate(zip(invoices, verifications, strict=True)):
        if found.verdict is not Verdict.VALID:
            rule, what = _VERDICT_RULES[found.verdict]
            raise DomainError(
                rule,
                f"invoice {invoice.invoice_code}/{invoice.invoice_number} {what}",
                field=invoice_field(i, "invoice_number"),
            )
        for name, recorded in (
            ("amount", found.amount),
            ("issued_on", found.issued_on),
            ("issuing_institution", found.issuing_institution),
        ):
            if getattr(invoice, name) != recorded:
                raise DomainError(
                    "reimbursement.invoice_mismatch",
                    f"invoice {invoice.invoice_number}'s {name} is not what its issuer recorded",
                    field=invoice_field(i, name),
                )


def check_not_settled_directly(intake: Intake, settled: Sequence[SettledVisit]) -> None:
    """A visit the person settled directly at that institution, on dates overlapping the claim,
    was paid already: claiming it again is refused."""
    for visit in settled:
        if (
            visit.institution_code == intake.institution_code
            and visit.admitted_on <= intake.discharged_on
            and intake.admitted_on <= visit.discharged_on
        ):
            raise Conflict(
                "reimbursement.settled_directly",
                f"the visit at {visit.institution_code} from {visit.admitted_on.isoformat()} to "
                f"{visit.discharged_on.isoformat()} was settled directly "
                f"({visit.settlement_id})",
                field="admitted_on",
                values={"settlement_id": visit.settlement_id},
            )


def decide_receive(
    state: Claim | None,
    intake: Intake,
    verifications: Sequence[Verification],
    settled: Sequence[SettledVisit],
    *,
    received_by: str,
    terms: ClaimTerms,
    now: datetime,
) -> list[ClaimEvent]:
    if state is not None:
        raise Conflict(
            "reimbursement.duplicate_claim",
            f"claim {intake.claim_id} was handed in already",
            field="claim_id",
        )
    today = business_date(now)
    check_intake(intake, today)
    check_verifications(intake.invoices, verifications)
    check_not_settled_directly(intake, settled)
    return [
        ClaimReceived(
            claim_id=intake.claim_id,
            person_id=intake.person_id,
            insured_region=intake.insured_region,
            channel=intake.channel,
            institution_code=intake.institution_code,
            institution_name=intake.institution_name,
            visit_region=intake.visit_region,
            hospital_level=intake.hospital_level,
            medical_type=intake.medical_type,
            emergency=intake.emergency,
            admitted_on=intake.admitted_on,
            discharged_on=intake.discharged_on,
            invoices=intake.invoices,
            fee_lines=intake.fee_lines,
            claimed_total=sum(i.amount for i in intake.invoices),
            discharge_summary_ref=intake.discharge_summary_ref,
            bank_account=intake.bank_account,
            use_account=intake.use_account,
            received_by=received_by,
            received_on=today,
            acceptance_due=terms.due(today, terms.acceptance_days),
            received_at=now,
        )
    ]


# --- the workflow -------------------------------------------------------------------------------


def existing(state: Claim | None, claim_id: str) -> Claim:
    if state is None:
        raise NotFound("reimbursement.unknown_claim", f"no claim {claim_id}", field="claim_id")
    return state


def _at(claim: Claim, step: Step, action: str) -> None:
    if claim.step is not step:
        raise Conflict(
            "reimbursement.step",
            f"claim {claim.received.claim_id} is {claim.step.value}: it cannot be {action}",
            field="claim_id",
            values={"step": claim.step.value},
        )


def filing_kind_for(
    received: ClaimReceived,
    filings: Sequence[FilingSnapshot],
    cut_points: Mapping[FilingKind, Decimal] | None,
) -> FilingKind:
    """The filing a claim is paid under, chosen as direct settlement chooses (yidi_benefits):
    an emergency at the emergency level; otherwise, of the person's filings covering the visit
    on its admission day (one filed afterwards, 补办, included), the most favourable. A visit no
    filing covers is not claimable until the person files."""
    if received.emergency:
        return FilingKind.EMERGENCY
    covering = [
        f
        for f in in_force(filings, received.admitted_on)
        if f.covers(
            visit_region=received.visit_region,
            institution_code=received.institution_code,
            began=received.admitted_on,
        )
    ]
    chosen = most_favourable(covering, cut_points)
    if chosen is None:
        raise DomainError(
            "reimbursement.no_filing",
            f"no filing of the person covers {received.visit_region} on "
            f"{received.admitted_on.isoformat()}: the person files first (补办 after a self-paid "
            "discharge is allowed), then the claim is accepted",
            field="admitted_on",
        )
    return chosen.kind


def decide_check(
    state: Claim | None,
    claim_id: str,
    *,
    filing_kind: FilingKind,
    officer: str,
    terms: ClaimTerms,
    now: datetime,
) -> list[ClaimEvent]:
    """Accept the claim under the filing chosen for it (`filing_kind_for`)."""
    claim = existing(state, claim_id)
    _at(claim, Step.RECEIVED, "accepted")
    kind = filing_kind
    today = business_date(now)
    return [
        ClaimChecked(
            claim_id=claim_id,
            person_id=claim.received.person_id,
            filing_kind=kind.value,
            checked_by=officer,
            checked_on=today,
            review_due=terms.due(today, terms.review_days),
            reviewers_needed=terms.reviewers_needed(claim.received.claimed_total),
            checked_at=now,
        )
    ]


def decide_refuse(
    state: Claim | None, claim_id: str, *, reason: str, officer: str, now: datetime
) -> list[ClaimEvent]:
    claim = existing(state, claim_id)
    if claim.step not in (Step.RECEIVED, Step.CHECKED):
        _at(claim, Step.CHECKED, "refused")
    if not reason.strip():
        raise DomainError(
            "reimbursement.reason", "a refusal must say why: the person is told", field="reason"
        )
    return [
        ClaimRefused(
            claim_id=claim_id,
            person_id=claim.received.person_id,
            rule="reimbursement.refused_on_review"
            if claim.step is Step.CHECKED
            else "reimbursement.refused_at_acceptance",
            reason=reason.strip(),
            refused_by=officer,
            refused_on=business_date(now),
            refused_at=now,
        )
    ]


def decide_review(
    state: Claim | None, claim_id: str, *, reviewer: str, note: str, now: datetime
) -> list[ClaimEvent]:
    """One reviewer's approval. Whoever accepted the claim does not review it, and nobody
    reviews it twice: a large claim's two reviews are two people's."""
    claim = existing(state, claim_id)
    _at(claim, Step.CHECKED, "reviewed")
    if reviewer == claim.checked_by or reviewer in claim.reviewers:
        raise Forbidden(
            "reimbursement.four_eyes",
            "the officer who accepted a claim, or reviewed it already, cannot review it",
            field="reviewer",
        )
    return [
        ClaimReviewed(
            claim_id=claim_id,
            person_id=claim.received.person_id,
            reviewer=reviewer,
            note=note,
            reviewed_on=business_date(now),
            reviewed_at=now,
        )
    ]


def reviews_complete(claim: Claim, new: Sequence[ClaimEvent]) -> bool:
    added = sum(1 for e in new if isinstance(e, ClaimReviewed))
    return len(claim.reviewers) + added >= claim.reviewers_needed


def decide_pay(
    state: Claim | None, claim_id: str, *, batch: str, now: datetime
) -> list[ClaimEvent]:
    claim = existing(state, claim_id)
    _at(claim, Step.APPROVED, "paid")
    approved = claim.approved
    assert approved is not None
    entries = payment_entries(approved.fund_payments, approved.payable)
    return [
        ClaimPaid(
            claim_id=claim_id,
            person_id=claim.received.person_id,
            insured_region=claim.received.insured_region,
            amount=approved.payable,
            payment_batch=batch,
            entries=entries,
            paid_on=business_date(now),
            paid_at=now,
        )
    ]


def payment_entries(payments: Sequence[FundPayment], payable: Fen) -> tuple[LedgerEntry, ...]:
    """Each fund (and the personal account) is debited what it pays; what the bank owes the
    person is credited: the movement balances by construction, and is checked to."""
    entries = [
        LedgerEntry(
            account="personal_account"
            if p.fund_code is FundCode.PERSONAL_ACCOUNT
            else f"fund:{p.fund_code.value}",
            debit=p.amount,
            credit=0,
        )
        for p in payments
        if p.amount
    ]
    entries.append(LedgerEntry(account="bank_payable", debit=0, credit=payable))
    if sum(e.debit for e in entries) != sum(e.credit for e in entries):
        raise DomainError(
            "reimbursement.unbalanced",
            "the payment's debits do not equal what is paid",
            field="payable",
        )
    return tuple(entries)


def overdue(due: date | None, today: date) -> bool:
    """Past its deadline: the deadline day itself is still in time."""
    return due is not None and today > due
