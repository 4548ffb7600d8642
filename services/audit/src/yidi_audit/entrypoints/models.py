"""What the audit API answers, in domain names, modelled on the read-model rows the routes
returned before they were typed: every column stays in the body (a unit test holds each model to
its table), adding a field is compatible, taking one away breaks the agencies' clients."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class TicketView(BaseModel):
    """A 协查 ticket between two agencies, and where it stands."""

    ticket_id: str
    kind: str = Field(description="what the requester needs checked (filing, settlement, ...)")
    requester_region: str = Field(description="six-digit region of the agency that raised it")
    receiver_region: str = Field(description="six-digit region of the agency that answers")
    cities: list[str] = Field(description="the two agencies' cities: who may see it")
    subject: str
    person_id: str | None
    status: str
    raised_on: date
    reply_by: date = Field(description="working-day deadline of the reply (extended if agreed)")
    answer: str | None
    replied_on: date | None
    confirm_by: date | None = Field(description="the requester confirms the reply by then")
    late: bool | None = Field(description="whether the reply came after reply_by")
    confirmed_on: date | None
    automatic: bool | None = Field(description="confirmed by the deadline passing, not a person")


class ComplaintView(BaseModel):
    """A complaint an agency received, and how it was handled."""

    complaint_id: str
    agency_region: str = Field(description="six-digit region of the agency that received it")
    city: str
    person_id: str | None
    channel: str = Field(description="how it came in (e.g. the 12393 hotline)")
    summary: str
    status: str
    received_on: date
    due: date | None = Field(description="the deadline of its current step")
    outcome: str | None
    notified_on: date | None = Field(description="when the complainant was told the outcome")
    notified_channel: str | None


Evidence = list[dict[str, Any]]
"""The settlements a finding rests on, as the audit event carried them."""


class FlagView(BaseModel):
    """A rule's finding on a person's settlements, and the case it joined."""

    flag_id: str
    rule_id: str
    rule_version: int
    person_id: str
    institution_code: str
    cities: list[str] = Field(description="the visit and insured cities: who may see it")
    amount_at_issue: int = Field(description="fen")
    detail: str
    raised_on: date
    settlement_ids: list[str]
    evidence_event_ids: list[str]
    evidence: Evidence
    case_id: str | None


class CaseView(BaseModel):
    """An audit case: the open findings of one rule on one person, and the decision on them."""

    case_id: str
    rule_id: str
    person_id: str
    institution_code: str
    visit_region: str
    insured_region: str
    cities: list[str]
    status: str
    opened_on: date
    decided_on: date | None
    decided_by: str | None
    reason: str | None
    flag_ids: list[str]
    evidence: Evidence


class SuspensionView(BaseModel):
    """Direct settlement suspended for a person, a hospital or a department of one."""

    case_id: str
    kind: str = Field(description="person, hospital or department")
    subject: str = Field(description="the person's id or the institution's code")
    department: str | None = Field(description="the department's code (kind department)")
    region: str = Field(description="the person's insured region, or the hospital's region")
    cities: list[str]
    suspended_from: date
    suspended_until: date
    ended_on: date | None
    end_reason: str | None
    decided_by: str
    interim: bool = Field(description="on suspicion, pending the case")
    review_by: date | None


class SuspicionReportView(BaseModel):
    """A visit place's report of a suspicion to the centre and the insured place."""

    case_id: str
    person_id: str
    rule_id: str
    institution_code: str
    visit_region: str
    insured_region: str
    centre_region: str
    cities: list[str]
    suspicion: str
    evidence: Evidence
    reported_by: str
    reported_on: date
    review_by: date


class ClawbackView(BaseModel):
    """Fund money a confirmed case claws back (fen)."""

    clawback_id: str
    case_id: str
    person_id: str
    settlement_ids: list[str]
    insured_region: str
    visit_region: str
    insurance_type: str
    amount: int = Field(description="fen")
    decided_by: str
    decided_on: date


class CaseDetail(CaseView):
    """A case with its flags, suspensions, clawbacks and suspicion reports."""

    flags: list[FlagView]
    suspensions: list[SuspensionView]
    clawbacks: list[ClawbackView]
    suspicion_reports: list[SuspicionReportView]


class FeeDeductionView(BaseModel):
    """Fund money deducted from a settlement's fee lines (fen)."""

    deduction_id: str
    source: str = Field(description="fee_review or assist_check")
    settlement_id: str
    person_id: str
    institution_code: str
    visit_region: str
    insured_region: str
    cities: list[str]
    insurance_type: str
    settled_on: date
    lines: list[dict[str, Any]] = Field(description="[{fee_line_id, amount, reason}], fen")
    amount: int = Field(description="fen, the lines' sum")
    reason: str
    evidence: str
    decided_by: str
    decided_on: date


class SuspensionsEnded(BaseModel):
    ended: int = Field(description="suspensions past their last day, ended by this run")


class ItemStep(BaseModel):
    """A 协查 item answered or confirmed."""

    batch_id: str
    settlement_id: str
    status: str = Field(description="answered or confirmed")


class AutoConfirmed(BaseModel):
    confirmed: int = Field(description="answers and replies confirmed by their deadline passing")


class OverdueItem(BaseModel):
    """A step an agency is late with."""

    kind: str = Field(description="investigation, ticket or complaint")
    item_id: str = Field(description="'batch/settlement', the ticket's or the complaint's id")
    step: str = Field(description="what is awaited")
    due: date = Field(description="its last allowed day")
    waiting_on: str = Field(description="six-digit region of the agency that must act")


class BatchView(BaseModel):
    """A 协查 batch: the high-cost admissions of a window sent to the visit places to answer."""

    batch_id: str
    window_from: date
    window_to: date
    built_on: date
    answer_by: date
    rolled_over_count: int = Field(description="items carried over from earlier batches")


class BatchItemView(BaseModel):
    """One settlement of a batch, and its answer."""

    batch_id: str
    settlement_id: str
    visit_region: str
    insured_region: str
    cities: list[str]
    item: dict[str, Any] = Field(description="the settlement as it was sent to be checked")
    result: str | None
    reason: str | None
    answered_on: date | None
    confirm_by: date | None
    late: bool | None
    confirmed_on: date | None
    automatic: bool | None
    rolled_to: str | None = Field(description="the batch it was carried over to, unanswered")


class BatchDetail(BatchView):
    items: list[BatchItemView] = Field(description="the items the caller's agency is party to")


class ReviewedLine(BaseModel):
    """A fee line of a settlement under review (fen; quantities and prices as decimal text)."""

    fee_line_id: str
    catalogue_code: str
    fee_date: date
    quantity: str = Field(description="decimal text")
    unit_price: str = Field(description="decimal text, yuan per unit")
    amount: int = Field(description="fen")
    in_policy: int = Field(description="fen within the policy's scope")
    returned_line: str | None = Field(description="the line a returned (negative) line undoes")
    fund_carried: int = Field(description="fen of fund money the line carried")
    deducted: int = Field(description="fen deducted from it so far")


class SettlementUnderReview(BaseModel):
    """A settlement line by line: the fund money each line carried and what was deducted."""

    settlement_id: str
    person_id: str
    institution_code: str
    visit_region: str
    insured_region: str
    settled_on: date
    total_fee: int = Field(description="fen")
    fund_total: int = Field(description="fen")
    cancelled: bool
    lines: list[ReviewedLine]
    deductions: list[FeeDeductionView]
