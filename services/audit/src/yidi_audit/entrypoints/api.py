"""The agency API: flags, cases, sanctions (and suspicion reports), the visit place's fee review,
协查, tickets, complaints, overdue items.

Every read is scoped to the caller's city (the provincial centre sees all); every command names
the acting agency, and the domain refuses an agency that is not the one the step belongs to.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from yidi_audit.adapters import history as stored
from yidi_audit.adapters import tables as t
from yidi_audit.app import cases as case_app
from yidi_audit.app import collaboration as collab
from yidi_audit.app import fee_review as review_app
from yidi_audit.domain import fee_review as fr
from yidi_audit.domain.cases import SuspensionKind
from yidi_audit.domain.events import InvestigationResult, TicketKind
from yidi_audit.entrypoints.deps import actor, audit_of, is_centre, read_engine
from yidi_audit.entrypoints.models import (
    AutoConfirmed,
    BatchDetail,
    BatchView,
    CaseDetail,
    CaseView,
    ComplaintView,
    FeeDeductionView,
    FlagView,
    ItemStep,
    OverdueItem,
    SettlementUnderReview,
    SuspensionsEnded,
    SuspensionView,
    SuspicionReportView,
    TicketView,
)
from yidi_events.auth.agency import Agency, Principal, admit
from yidi_events.kernel import NotFound, city_of
from yidi_events.paging import LINK_HEADER, Keyset, PageRequest, Paging, keyset_query, paged

router = APIRouter(tags=["agency"])


# --- request models ----------------------------------------------------------------------------


class Suspend(BaseModel):
    kind: SuspensionKind = SuspensionKind.PERSON
    months: int
    starts_on: date | None = None
    department: str | None = Field(
        default=None, description="kind department: the department code visits register under"
    )

    def command(self) -> case_app.SuspendCommand:
        return case_app.SuspendCommand(self.kind, self.months, self.starts_on, self.department)


class Clawback(BaseModel):
    amount: int = Field(description="fen")
    settlement_ids: list[str] = Field(default_factory=list)

    def command(self) -> case_app.ClawbackCommand:
        return case_app.ClawbackCommand(self.amount, tuple(self.settlement_ids))


class Confirm(BaseModel):
    reason: str
    suspend: Suspend | None = None
    clawback: Clawback | None = None


class Dismiss(BaseModel):
    reason: str


class Suspect(BaseModel):
    suspicion: str = Field(description="what the person is suspected of, and on what grounds")


class Sanction(BaseModel):
    suspend: Suspend | None = None
    clawback: Clawback | None = None


class LineToDeduct(BaseModel):
    fee_line_id: str = Field(description="the fee line's number in the settlement")
    amount: int | None = Field(
        default=None, description="fen of the fund money the line carried; all of it when absent"
    )
    reason: str = Field(default="", description="this line's reason; the deduction's when empty")

    def command(self) -> fr.LineDeduction:
        return fr.LineDeduction(self.fee_line_id, self.amount, self.reason)


class Deduct(BaseModel):
    reference: str = Field(
        min_length=1,
        max_length=64,
        description="the officer's reference for this decision: sent again, it changes nothing",
    )
    lines: list[LineToDeduct]
    reason: str
    evidence: str = Field(description="what the decision relies on: rule, document reference")


class Answer(BaseModel):
    result: InvestigationResult
    reason: str = ""
    deductions: list[LineToDeduct] = Field(
        default_factory=list,
        description="核查有误 only: lines whose fund money is not paid (source assist_check)",
    )
    evidence: str = ""


class RaiseTicket(BaseModel):
    kind: TicketKind
    receiver_region: str = Field(pattern=r"^\d{6}$")
    subject: str
    person_id: str | None = None
    ticket_id: str | None = None


class Reply(BaseModel):
    answer: str


class Extension(BaseModel):
    reply_by: date
    reason: str


class ReceiveComplaint(BaseModel):
    summary: str
    channel: str
    person_id: str | None = None
    complaint_id: str | None = None


class Resolve(BaseModel):
    outcome: str


class Notify(BaseModel):
    channel: str


# --- helpers -----------------------------------------------------------------------------------


def _scope(principal: Principal, column: Any) -> Any:
    """Rows whose cities include the caller's; the centre sees every row."""
    return (
        sa.true()
        if is_centre(principal)
        else sa.literal(city_of(principal.region)) == sa.any_(column)
    )


Reviewer = Annotated[Principal, Depends(admit("agency", "centre", roles=["auditor", "reviewer"]))]
"""Who decides a case: the agency's auditor (the sandbox's `xx.auditor` logins), or a reviewer
as before."""
Scheduler = Annotated[
    Principal,
    Depends(
        admit(
            "centre",
            "service",
            refusal=("audit.schedule.caller", "scheduled jobs run for the centre or a scheduler"),
        )
    ),
]
"""Scheduled jobs (expiries, 协查 batches, auto-confirmation): the centre or a scheduler."""


async def _rows(request: Request, query: Any) -> list[dict[str, Any]]:
    async with read_engine(request).connect() as conn:
        return [dict(r._mapping) for r in (await conn.execute(query)).all()]


# The lists' orders (each ends in the row's unique key), walked a page at a time.
FLAGS = Keyset((t.flags.c.raised_on, t.flags.c.flag_id))
CASES = Keyset((t.cases.c.opened_on, t.cases.c.case_id))
SUSPENSIONS = Keyset(
    (t.suspensions.c.suspended_from, t.suspensions.c.case_id, t.suspensions.c.kind)
)
SUSPICION_REPORTS = Keyset((t.suspicion_reports.c.reported_on, t.suspicion_reports.c.case_id))
FEE_DEDUCTIONS = Keyset((t.fee_deductions.c.decided_on, t.fee_deductions.c.deduction_id))
TICKETS = Keyset((t.tickets.c.raised_on, t.tickets.c.ticket_id))
COMPLAINTS = Keyset((t.complaints.c.received_on, t.complaints.c.complaint_id))
PAGED: dict[int | str, dict[str, Any]] = {200: {"headers": LINK_HEADER}}


async def _page(
    request: Request, response: Response, query: Any, keyset: Keyset, page: PageRequest
) -> list[dict[str, Any]]:
    """One page of a list in its keyset's order, the next page announced in `Link`."""
    rows = await _rows(request, keyset_query(query, keyset, page))
    return paged(rows, keyset, page, request, response)


async def _visible_case(request: Request, principal: Principal, case_id: str) -> dict[str, Any]:
    rows = await _rows(
        request,
        sa.select(t.cases).where(t.cases.c.case_id == case_id, _scope(principal, t.cases.c.cities)),
    )
    if not rows:
        # Another region's case is as absent as a missing one: its existence is not disclosed.
        raise NotFound(
            "audit.case.not_found", f"no case {case_id} for your agency", field="case_id"
        )
    return rows[0]


# --- flags and cases ---------------------------------------------------------------------------


@router.get("/flags", responses=PAGED)
async def list_flags(
    request: Request,
    response: Response,
    principal: Agency,
    page: Paging,
    rule_id: str | None = None,
) -> list[FlagView]:
    query = sa.select(t.flags).where(_scope(principal, t.flags.c.cities))
    if rule_id:
        query = query.where(t.flags.c.rule_id == rule_id)
    rows = await _page(request, response, query, FLAGS, page)
    return [FlagView.model_validate(r) for r in rows]


@router.get("/cases", responses=PAGED)
async def list_cases(
    request: Request,
    response: Response,
    principal: Agency,
    page: Paging,
    status: str | None = None,
) -> list[CaseView]:
    query = sa.select(t.cases).where(_scope(principal, t.cases.c.cities))
    if status:
        query = query.where(t.cases.c.status == status)
    rows = await _page(request, response, query, CASES, page)
    return [CaseView.model_validate(r) for r in rows]


@router.get("/cases/{case_id}")
async def get_case(request: Request, principal: Agency, case_id: str) -> CaseDetail:
    case = await _visible_case(request, principal, case_id)
    case["flags"] = await _rows(request, sa.select(t.flags).where(t.flags.c.case_id == case_id))
    case["suspensions"] = await _rows(
        request, sa.select(t.suspensions).where(t.suspensions.c.case_id == case_id)
    )
    case["clawbacks"] = await _rows(
        request, sa.select(t.clawbacks).where(t.clawbacks.c.case_id == case_id)
    )
    case["suspicion_reports"] = await _rows(
        request, sa.select(t.suspicion_reports).where(t.suspicion_reports.c.case_id == case_id)
    )
    return CaseDetail.model_validate(case)


@router.post("/cases/{case_id}/suspicion")
async def suspect_case(
    request: Request, principal: Reviewer, case_id: str, body: Suspect
) -> CaseDetail:
    """Suspend the person's direct settlement at once, pending the case, and report it to the
    provincial centre and the insured place."""
    await _visible_case(request, principal, case_id)
    await case_app.suspect(audit_of(request), case_id, actor(principal), body.suspicion)
    return await get_case(request, principal, case_id)


@router.post("/cases/{case_id}/confirm")
async def confirm_case(
    request: Request, principal: Reviewer, case_id: str, body: Confirm
) -> CaseDetail:
    await _visible_case(request, principal, case_id)
    await case_app.review(
        audit_of(request),
        case_id,
        actor(principal),
        confirm=True,
        reason=body.reason,
        suspend=body.suspend.command() if body.suspend else None,
        clawback=body.clawback.command() if body.clawback else None,
    )
    return await get_case(request, principal, case_id)


@router.post("/cases/{case_id}/dismiss")
async def dismiss_case(
    request: Request, principal: Reviewer, case_id: str, body: Dismiss
) -> CaseDetail:
    await _visible_case(request, principal, case_id)
    await case_app.review(
        audit_of(request), case_id, actor(principal), confirm=False, reason=body.reason
    )
    return await get_case(request, principal, case_id)


@router.post("/cases/{case_id}/sanctions")
async def sanction_case(
    request: Request, principal: Reviewer, case_id: str, body: Sanction
) -> CaseDetail:
    await _visible_case(request, principal, case_id)
    await case_app.sanction(
        audit_of(request),
        case_id,
        actor(principal),
        suspend=body.suspend.command() if body.suspend else None,
        clawback=body.clawback.command() if body.clawback else None,
    )
    return await get_case(request, principal, case_id)


@router.post("/cases/{case_id}/suspensions/{kind}/lift")
async def lift_suspension(
    request: Request, principal: Reviewer, case_id: str, kind: SuspensionKind
) -> CaseDetail:
    await _visible_case(request, principal, case_id)
    await case_app.lift(audit_of(request), case_id, kind, actor(principal))
    return await get_case(request, principal, case_id)


@router.get("/suspensions", responses=PAGED)
async def list_suspensions(
    request: Request, response: Response, principal: Agency, page: Paging, active: bool = False
) -> list[SuspensionView]:
    query = sa.select(t.suspensions).where(_scope(principal, t.suspensions.c.cities))
    if active:
        query = query.where(t.suspensions.c.ended_on.is_(None))
    rows = await _page(request, response, query, SUSPENSIONS, page)
    return [SuspensionView.model_validate(r) for r in rows]


@router.get("/suspicion-reports", responses=PAGED)
async def list_suspicion_reports(
    request: Request,
    response: Response,
    principal: Agency,
    page: Paging,
    person_id: str | None = None,
) -> list[SuspicionReportView]:
    """What the visit places reported: the insured place sees its persons', the centre all."""
    query = sa.select(t.suspicion_reports).where(_scope(principal, t.suspicion_reports.c.cities))
    if person_id:
        query = query.where(t.suspicion_reports.c.person_id == person_id)
    rows = await _page(request, response, query, SUSPICION_REPORTS, page)
    return [SuspicionReportView.model_validate(r) for r in rows]


@router.post("/suspensions/expire")
async def expire_suspensions(request: Request, principal: Scheduler) -> SuspensionsEnded:
    return SuspensionsEnded(ended=await case_app.expire(audit_of(request)))


# --- the visit place's fee review (审核扣款) -------------------------------------------------------

FeeReviewer = Annotated[Principal, Depends(admit("agency", roles=["auditor", "reviewer"]))]
"""Who reviews a settlement's fees: the visit place's agency officer (the domain checks the city)."""


def _deductions_of(settlement_id: str) -> Any:
    return (
        sa.select(t.fee_deductions)
        .where(t.fee_deductions.c.settlement_id == settlement_id)
        .order_by(t.fee_deductions.c.decided_on, t.fee_deductions.c.deduction_id)
    )


@router.get("/fee-review/settlements/{settlement_id}")
async def fee_review_settlement(
    request: Request, principal: Agency, settlement_id: str
) -> SettlementUnderReview:
    """A settlement line by line: the fund money each line carried and what was deducted."""
    async with read_engine(request).connect() as conn:
        visit, cancelled = await stored.settlement_fact(conn, settlement_id)
    mine = visit is not None and (
        is_centre(principal)
        or city_of(principal.region) in {city_of(visit.visit_region), city_of(visit.insured_region)}
    )
    if visit is None or not mine:
        raise NotFound(
            "audit.fee_review.settlement_unknown",
            f"no settlement {settlement_id} for your agency",
            field="settlement_id",
        )
    deductions = await _rows(request, _deductions_of(settlement_id))
    deducted = {line["fee_line_id"]: line["amount"] for d in deductions for line in d["lines"]}
    carried = fr.fund_carried(visit)
    view = {
        "settlement_id": visit.settlement_id,
        "person_id": visit.person_id,
        "institution_code": visit.institution_code,
        "visit_region": visit.visit_region,
        "insured_region": visit.insured_region,
        "settled_on": visit.settled_on,
        "total_fee": visit.total_fee,
        "fund_total": visit.fund_total,
        "cancelled": cancelled,
        "lines": [
            {
                "fee_line_id": line.fee_line_no,
                "catalogue_code": line.catalogue_code,
                "fee_date": line.fee_date,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "amount": line.amount,
                "in_policy": line.in_policy,
                "returned_line": line.returned_line,
                "fund_carried": carried.get(line.fee_line_no, 0),
                "deducted": deducted.get(line.fee_line_no, 0),
            }
            for line in visit.fee_lines
        ],
        "deductions": deductions,
    }
    return SettlementUnderReview.model_validate(view)


@router.post("/fee-review/settlements/{settlement_id}/deductions", status_code=201)
async def deduct_fees(
    request: Request, principal: FeeReviewer, settlement_id: str, body: Deduct
) -> FeeDeductionView:
    """Deduct the fund money of some lines, in whole or in part (published as
    `audit.FeeDeductionDecided`, source fee_review, for the statement of this month)."""
    await review_app.deduct(
        audit_of(request),
        actor(principal),
        fr.DeductionCommand(
            reference=body.reference,
            settlement_id=settlement_id,
            lines=tuple(line.command() for line in body.lines),
            reason=body.reason,
            evidence=body.evidence,
        ),
    )
    rows = await _rows(
        request,
        sa.select(t.fee_deductions).where(
            t.fee_deductions.c.deduction_id == fr.deduction_id(settlement_id, body.reference)
        ),
    )
    return FeeDeductionView.model_validate(rows[0])


@router.get("/fee-deductions", responses=PAGED)
async def list_fee_deductions(
    request: Request,
    response: Response,
    principal: Agency,
    page: Paging,
    settlement_id: str | None = None,
) -> list[FeeDeductionView]:
    query = sa.select(t.fee_deductions).where(_scope(principal, t.fee_deductions.c.cities))
    if settlement_id:
        query = query.where(t.fee_deductions.c.settlement_id == settlement_id)
    rows = await _page(request, response, query, FEE_DEDUCTIONS, page)
    return [FeeDeductionView.model_validate(r) for r in rows]


# --- 协查 ---------------------------------------------------------------------------------------


@router.post("/investigations/build")
async def build_batch(request: Request, principal: Scheduler) -> BatchView:
    batch_id = await collab.build_batch(audit_of(request))
    rows = await _rows(request, sa.select(t.batches).where(t.batches.c.batch_id == batch_id))
    return BatchView.model_validate(rows[0])


@router.get("/investigations/{batch_id}")
async def get_batch(request: Request, principal: Agency, batch_id: str) -> BatchDetail:
    rows = await _rows(request, sa.select(t.batches).where(t.batches.c.batch_id == batch_id))
    if not rows:
        raise NotFound("audit.investigation.not_found", f"no batch {batch_id}", field="batch_id")
    batch = rows[0]
    batch["items"] = await _rows(
        request,
        sa.select(t.batch_items)
        .where(t.batch_items.c.batch_id == batch_id, _scope(principal, t.batch_items.c.cities))
        .order_by(t.batch_items.c.settlement_id),
    )
    return BatchDetail.model_validate(batch)


@router.post("/investigations/{batch_id}/items/{settlement_id}/answer")
async def answer_item(
    request: Request, principal: Agency, batch_id: str, settlement_id: str, body: Answer
) -> ItemStep:
    await collab.answer_item(
        audit_of(request),
        batch_id,
        settlement_id,
        actor(principal),
        body.result,
        body.reason,
        tuple(line.command() for line in body.deductions),
        body.evidence,
    )
    return ItemStep(batch_id=batch_id, settlement_id=settlement_id, status="answered")


@router.post("/investigations/{batch_id}/items/{settlement_id}/confirm")
async def confirm_item(
    request: Request, principal: Agency, batch_id: str, settlement_id: str
) -> ItemStep:
    await collab.confirm_item(audit_of(request), batch_id, settlement_id, actor(principal))
    return ItemStep(batch_id=batch_id, settlement_id=settlement_id, status="confirmed")


@router.post("/auto-confirm")
async def auto_confirm(request: Request, principal: Scheduler) -> AutoConfirmed:
    """The daily job: 协查 answers and ticket replies past their confirmation day."""
    return AutoConfirmed(confirmed=await collab.auto_confirm(audit_of(request)))


# --- tickets -----------------------------------------------------------------------------------


@router.post("/tickets", status_code=201)
async def raise_ticket(request: Request, principal: Agency, body: RaiseTicket) -> TicketView:
    ticket_id = await collab.raise_ticket(
        audit_of(request),
        actor(principal),
        body.kind,
        body.receiver_region,
        body.subject,
        body.person_id,
        body.ticket_id,
    )
    return await get_ticket(request, principal, ticket_id)


@router.get("/tickets", responses=PAGED)
async def list_tickets(
    request: Request, response: Response, principal: Agency, page: Paging
) -> list[TicketView]:
    query = sa.select(t.tickets).where(_scope(principal, t.tickets.c.cities))
    rows = await _page(request, response, query, TICKETS, page)
    return [TicketView.model_validate(r) for r in rows]


@router.get("/tickets/{ticket_id}")
async def get_ticket(request: Request, principal: Agency, ticket_id: str) -> TicketView:
    rows = await _rows(
        request,
        sa.select(t.tickets).where(
            t.tickets.c.ticket_id == ticket_id, _scope(principal, t.tickets.c.cities)
        ),
    )
    if not rows:
        raise NotFound("audit.ticket.not_found", f"no ticket {ticket_id}", field="ticket_id")
    return TicketView.model_validate(rows[0])


@router.post("/tickets/{ticket_id}/extension")
async def request_extension(
    request: Request, principal: Agency, ticket_id: str, body: Extension
) -> TicketView:
    await collab.request_extension(
        audit_of(request), ticket_id, actor(principal), body.reply_by, body.reason
    )
    return await get_ticket(request, principal, ticket_id)


@router.post("/tickets/{ticket_id}/extension/agree")
async def agree_extension(request: Request, principal: Agency, ticket_id: str) -> TicketView:
    await collab.agree_extension(audit_of(request), ticket_id, actor(principal))
    return await get_ticket(request, principal, ticket_id)


@router.post("/tickets/{ticket_id}/reply")
async def reply_ticket(
    request: Request, principal: Agency, ticket_id: str, body: Reply
) -> TicketView:
    await collab.reply_ticket(audit_of(request), ticket_id, actor(principal), body.answer)
    return await get_ticket(request, principal, ticket_id)


@router.post("/tickets/{ticket_id}/confirm")
async def confirm_ticket(request: Request, principal: Agency, ticket_id: str) -> TicketView:
    await collab.confirm_ticket(audit_of(request), ticket_id, actor(principal))
    return await get_ticket(request, principal, ticket_id)


# --- complaints --------------------------------------------------------------------------------


@router.post("/complaints", status_code=201)
async def receive_complaint(
    request: Request, principal: Agency, body: ReceiveComplaint
) -> ComplaintView:
    complaint_id = await collab.receive_complaint(
        audit_of(request),
        actor(principal),
        body.person_id,
        body.channel,
        body.summary,
        body.complaint_id,
    )
    return await get_complaint(request, principal, complaint_id)


@router.get("/complaints", responses=PAGED)
async def list_complaints(
    request: Request, response: Response, principal: Agency, page: Paging
) -> list[ComplaintView]:
    mine = sa.true() if is_centre(principal) else t.complaints.c.city == city_of(principal.region)
    query = sa.select(t.complaints).where(mine)
    rows = await _page(request, response, query, COMPLAINTS, page)
    return [ComplaintView.model_validate(r) for r in rows]


@router.get("/complaints/{complaint_id}")
async def get_complaint(request: Request, principal: Agency, complaint_id: str) -> ComplaintView:
    mine = sa.true() if is_centre(principal) else t.complaints.c.city == city_of(principal.region)
    rows = await _rows(
        request,
        sa.select(t.complaints).where(t.complaints.c.complaint_id == complaint_id, mine),
    )
    if not rows:
        raise NotFound(
            "audit.complaint.not_found", f"no complaint {complaint_id}", field="complaint_id"
        )
    return ComplaintView.model_validate(rows[0])


@router.post("/complaints/{complaint_id}/acknowledge")
async def acknowledge(request: Request, principal: Agency, complaint_id: str) -> ComplaintView:
    await collab.acknowledge_complaint(audit_of(request), complaint_id, actor(principal))
    return await get_complaint(request, principal, complaint_id)


@router.post("/complaints/{complaint_id}/resolve")
async def resolve(
    request: Request, principal: Agency, complaint_id: str, body: Resolve
) -> ComplaintView:
    await collab.resolve_complaint(audit_of(request), complaint_id, actor(principal), body.outcome)
    return await get_complaint(request, principal, complaint_id)


@router.post("/complaints/{complaint_id}/notify")
async def notify(
    request: Request, principal: Agency, complaint_id: str, body: Notify
) -> ComplaintView:
    await collab.notify_complainant(audit_of(request), complaint_id, actor(principal), body.channel)
    return await get_complaint(request, principal, complaint_id)


# --- monitoring --------------------------------------------------------------------------------


@router.get("/overdue")
async def list_overdue(request: Request, principal: Agency) -> list[OverdueItem]:
    found = await collab.overdue_for(audit_of(request), principal.region, is_centre(principal))
    return [
        OverdueItem(
            kind=str(o.kind), item_id=o.item_id, step=o.step, due=o.due, waiting_on=o.waiting_on
        )
        for o in found
    ]
