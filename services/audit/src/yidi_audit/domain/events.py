"""The audit service's own facts: no other service consumes them, so their contracts live here, not
in `yidi_events.contracts.audit`, and may change with the service alone (compatibly: its stored
events stay readable; schemas in services/audit/schemas). They are still published on
`yidi.audit.events`, where consumers without these contracts skip them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yidi_events.registry import event


class InvestigationResult(StrEnum):
    NO_ISSUE = "no_issue"  # 核查无误
    ISSUE_FOUND = "issue_found"  # 核查有误 (a reason is required)


class TicketKind(StrEnum):
    FILING = "filing"
    SYSTEM_FAULT = "system_fault"
    OTHER = "other"


@dataclass(frozen=True, kw_only=True)
class EvidenceSettlement:
    """One settlement behind a flag, with what a clawback needs to route the money back."""

    event_id: str
    settlement_id: str
    visit_id: str
    institution_code: str
    visit_region: str
    insured_region: str
    insurance_type: str
    fund_total: int


# --- flags and cases ---------------------------------------------------------------------------


@event("audit.FlagRaised", key="person_id")
@dataclass(frozen=True, kw_only=True)
class FlagRaised:
    flag_id: str  # stable fingerprint of (rule id, evidence): the same evidence never flags twice
    rule_id: str
    rule_version: int
    person_id: str
    institution_code: str
    evidence_event_ids: tuple[str, ...]
    settlement_ids: tuple[str, ...]
    evidence: tuple[EvidenceSettlement, ...]
    amount_at_issue: int
    detail: str
    raised_on: date


@event("audit.CaseOpened", key="person_id")
@dataclass(frozen=True, kw_only=True)
class CaseOpened:
    case_id: str
    rule_id: str
    person_id: str
    institution_code: str
    visit_region: str
    insured_region: str
    flag_id: str
    evidence: tuple[EvidenceSettlement, ...]
    opened_on: date


@event("audit.FlagAddedToCase", key="person_id")
@dataclass(frozen=True, kw_only=True)
class FlagAddedToCase:
    case_id: str
    person_id: str
    flag_id: str
    evidence: tuple[EvidenceSettlement, ...]
    added_on: date


@event("audit.CaseConfirmed", key="person_id")
@dataclass(frozen=True, kw_only=True)
class CaseConfirmed:
    case_id: str
    person_id: str
    reviewer_id: str
    agency_region: str
    reason: str
    confirmed_on: date


@event("audit.CaseDismissed", key="person_id")
@dataclass(frozen=True, kw_only=True)
class CaseDismissed:
    case_id: str
    person_id: str
    reviewer_id: str
    agency_region: str
    reason: str
    dismissed_on: date


@event("audit.SuspicionReported", key="person_id")
@dataclass(frozen=True, kw_only=True)
class SuspicionReported:
    """The visit place suspects a person of a violation, suspends their direct settlement at once
    pending the case (seed 003 §七, seed 000 §六(二)), and reports it to the provincial centre and
    the insured place: who (person, institution), what (rule, the reviewer's account), on what
    (the case's evidence), until when the case must be reviewed."""

    case_id: str
    person_id: str
    rule_id: str
    institution_code: str
    visit_region: str
    insured_region: str
    centre_region: str  # the provincial centre reported to ("320000")
    suspicion: str
    evidence: tuple[EvidenceSettlement, ...]
    reported_by: str
    reported_on: date
    review_by: date  # last working day to confirm or dismiss; the interim suspension ends then


# --- fee investigation (协查) -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InvestigationItem:
    settlement_id: str
    visit_id: str
    person_id: str
    institution_code: str
    visit_region: str
    insured_region: str
    admitted_on: date
    discharged_on: date
    settled_on: date
    total_fee: int
    rolled_from_batch: str | None = None


@event("audit.InvestigationBatchBuilt", key="batch_id")
@dataclass(frozen=True, kw_only=True)
class InvestigationBatchBuilt:
    batch_id: str  # the build month, "YYYY-MM"
    window_from: date
    window_to: date
    built_on: date
    answer_by: date  # last day the visit place may answer (the day before the next build)
    items: tuple[InvestigationItem, ...]
    rolled_over_count: int


@event("audit.InvestigationRolledOver", key="batch_id")
@dataclass(frozen=True, kw_only=True)
class InvestigationRolledOver:
    """An item not answered in time left this batch for `to_batch_id`; monitoring counts it."""

    batch_id: str
    settlement_id: str
    to_batch_id: str
    rolled_on: date


@event("audit.InvestigationAnswered", key="batch_id")
@dataclass(frozen=True, kw_only=True)
class InvestigationAnswered:
    batch_id: str
    settlement_id: str
    result: InvestigationResult
    reason: str
    answered_by: str
    answered_on: date
    confirm_by: date  # last working day for the insured place to confirm
    late: bool


@event("audit.InvestigationConfirmed", key="batch_id")
@dataclass(frozen=True, kw_only=True)
class InvestigationConfirmed:
    batch_id: str
    settlement_id: str
    confirmed_on: date
    confirmed_by: str  # empty when automatic
    automatic: bool


# --- problem-collaboration tickets (问题协同) ---------------------------------------------------


@event("audit.TicketRaised", key="ticket_id")
@dataclass(frozen=True, kw_only=True)
class TicketRaised:
    ticket_id: str
    kind: TicketKind
    requester_region: str
    receiver_region: str
    subject: str
    person_id: str | None
    raised_on: date
    reply_by: date


@event("audit.TicketExtensionRequested", key="ticket_id")
@dataclass(frozen=True, kw_only=True)
class TicketExtensionRequested:
    ticket_id: str
    reply_by: date
    reason: str
    requested_on: date


@event("audit.TicketExtensionAgreed", key="ticket_id")
@dataclass(frozen=True, kw_only=True)
class TicketExtensionAgreed:
    ticket_id: str
    reply_by: date
    agreed_on: date


@event("audit.TicketReplied", key="ticket_id")
@dataclass(frozen=True, kw_only=True)
class TicketReplied:
    ticket_id: str
    answer: str
    replied_on: date
    confirm_by: date
    late: bool


@event("audit.TicketConfirmed", key="ticket_id")
@dataclass(frozen=True, kw_only=True)
class TicketConfirmed:
    ticket_id: str
    confirmed_on: date
    automatic: bool


# --- complaints --------------------------------------------------------------------------------


@event("audit.ComplaintReceived", key="complaint_id")
@dataclass(frozen=True, kw_only=True)
class ComplaintReceived:
    complaint_id: str
    agency_region: str
    person_id: str | None
    channel: str
    summary: str
    received_on: date
    acknowledge_by: date


@event("audit.ComplaintAcknowledged", key="complaint_id")
@dataclass(frozen=True, kw_only=True)
class ComplaintAcknowledged:
    complaint_id: str
    acknowledged_on: date
    resolve_by: date


@event("audit.ComplaintResolved", key="complaint_id")
@dataclass(frozen=True, kw_only=True)
class ComplaintResolved:
    complaint_id: str
    outcome: str
    resolved_on: date
    notify_by: date


@event("audit.ComplainantNotified", key="complaint_id")
@dataclass(frozen=True, kw_only=True)
class ComplainantNotified:
    complaint_id: str
    channel: str
    notified_on: date
