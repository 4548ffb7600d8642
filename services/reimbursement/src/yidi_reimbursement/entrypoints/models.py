"""What the reimbursement API answers, in domain names (fen amounts). Modelled on what the routes
returned before they were typed: adding a field is compatible, taking one away breaks the clients
(the agency console among them)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class ClaimReceived(BaseModel):
    claim_id: str
    claimed_total: int = Field(description="fen, the invoices' sum")
    acceptance_due: date = Field(description="the day the claim must be accepted (受理) by")


class ClaimView(BaseModel):
    """A claim as the agency (or the person) reads it; the bank account shown masked."""

    claim_id: str
    person_id: str
    insured_region: str = Field(description="six-digit region of the insured place")
    channel: str = Field(description="counter or online")
    institution_code: str = Field(description="where the person was treated")
    admitted_on: date
    discharged_on: date
    claimed_total: int = Field(description="fen")
    step: str = Field(description="received, checked, approved, paid or refused")
    due_on: date | None = Field(description="the current step's deadline; none once closed")
    received_on: date
    filing_kind: str | None = Field(description="the filing the claim was accepted under")
    reviewers: list[str] = Field(description="who approved it on review so far")
    reviewers_needed: int
    policy_year: int | None
    approval: dict[str, Any] | None = Field(
        description="once approved: totals, fund payments, the year's movement, payable (fen)"
    )
    payable: int | None = Field(description="fen paid to the person, once approved")
    bank_account: str = Field(description="masked: the last four digits")
    payment_batch: str | None
    refusal: str | None = Field(description="why it was refused")
    overdue: bool = Field(description="past its step's deadline today")


class ClaimChecked(BaseModel):
    claim_id: str
    step: str = Field(description="checked")
    filing_kind: str = Field(description="the filing the claim was accepted under")


class ClaimReviewed(BaseModel):
    """A review; the last one needed approves and computes the claim (the amounts then given)."""

    claim_id: str
    step: str = Field(description="checked while reviews are missing, then approved")
    approved: bool
    payable: int | None = Field(None, description="fen, once approved")
    fund_total: int | None = Field(None, description="fen the funds pay, once approved")
    account_paid: int | None = Field(None, description="fen from the personal account")
    policy_year: int | None = None


class ClaimRefused(BaseModel):
    claim_id: str
    step: str = Field(description="refused")


class PaymentBatch(BaseModel):
    batch_id: str = Field(description="its bank file is at /payments/batches/{batch_id}/file")


class Notification(BaseModel):
    """What the person was told about a claim."""

    claim_id: str
    kind: str
    message: str
    created_at: str = Field(description="ISO 8601 with its UTC offset, as told")
