"""The agency counter API (`/claims`, role `reimbursement`, scoped to the officer's insured region)
and the person's online API (`/online/claims`, kind `person`, their own claims only). Money is
integer fen, as in the other agency APIs; the fee detail list travels as the CSV file's text."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from yidi_events.auth.agency import Principal, admit
from yidi_events.contracts.reimbursement import ClaimInvoice
from yidi_events.kernel import NotFound, business_date
from yidi_events.paging import LINK_HEADER, Paging, announce
from yidi_reimbursement.adapters import queries
from yidi_reimbursement.app.claims import AGENCY_ROLE, Claims
from yidi_reimbursement.domain.claim import Intake
from yidi_reimbursement.domain.detail_list import parse_detail_list
from yidi_reimbursement.entrypoints.models import (
    ClaimChecked,
    ClaimReceived,
    ClaimRefused,
    ClaimReviewed,
    ClaimView,
    Notification,
    PaymentBatch,
)

Officer = Annotated[Principal, Depends(admit("agency", roles=[AGENCY_ROLE]))]
Person = Annotated[Principal, Depends(admit("person"))]


def claims_of(request: Request) -> Claims:
    handlers: Claims = request.app.state.claims
    return handlers


Handlers = Annotated[Claims, Depends(claims_of)]


class InvoiceIn(BaseModel):
    invoice_code: str = Field(min_length=1, max_length=50)
    invoice_number: str = Field(min_length=1, max_length=50)
    amount: int = Field(description="fen, positive")
    issued_on: date
    issuing_institution: str = Field(min_length=1, max_length=30)


class ClaimIn(BaseModel):
    claim_id: str | None = Field(
        None,
        min_length=4,
        max_length=40,
        pattern=r"^[A-Za-z0-9-]+$",
        description="the caller's id for the claim (a retry with it is refused, never doubled)",
    )
    person_id: str = Field(min_length=1, max_length=40)
    institution_code: str = Field(min_length=1, max_length=30)
    institution_name: str = Field(min_length=1, max_length=200)
    visit_region: str = Field(pattern=r"^[0-9]{6}$")
    hospital_level: str = Field(description="1, 2, 3, 1t (township) or 3a")
    medical_type: str = Field(min_length=2, max_length=6, description="e.g. 21 inpatient")
    emergency: bool = False
    admitted_on: date
    discharged_on: date
    invoices: list[InvoiceIn] = Field(min_length=1, max_length=50)
    detail_file: str = Field(
        min_length=1, max_length=2_000_000, description="the fee detail list, CSV text"
    )
    discharge_summary_ref: str = Field(min_length=1, max_length=200)
    bank_account: str = Field(min_length=1, max_length=40)
    use_account: bool = False


class ReviewIn(BaseModel):
    note: str = Field("", max_length=2000)


class RefuseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


def _intake(body: ClaimIn, claim_id: str, insured_region: str, channel: str) -> Intake:
    return Intake(
        claim_id=claim_id,
        person_id=body.person_id,
        insured_region=insured_region,
        channel=channel,
        institution_code=body.institution_code,
        institution_name=body.institution_name,
        visit_region=body.visit_region,
        hospital_level=body.hospital_level,
        medical_type=body.medical_type,
        emergency=body.emergency,
        admitted_on=body.admitted_on,
        discharged_on=body.discharged_on,
        invoices=tuple(
            ClaimInvoice(
                invoice_code=i.invoice_code,
                invoice_number=i.invoice_number,
                amount=i.amount,
                issued_on=i.issued_on,
                issuing_institution=i.issuing_institution,
            )
            for i in body.invoices
        ),
        fee_lines=parse_detail_list(body.detail_file),
        discharge_summary_ref=body.discharge_summary_ref,
        bank_account=body.bank_account,
        use_account=body.use_account,
    )


async def _received(claims: Claims, principal: Principal, intake: Intake) -> ClaimReceived:
    received = await claims.receive(principal, intake)
    return ClaimReceived(
        claim_id=received.claim_id,
        claimed_total=received.claimed_total,
        acceptance_due=received.acceptance_due,
    )


async def _view(request: Request, claims: Claims, claim_id: str) -> ClaimView:
    async with claims_engine(request).connect() as conn:
        view = await queries.claim_view(conn, claim_id, business_date(claims.now()))
    if view is None:
        raise NotFound("reimbursement.unknown_claim", f"no claim {claim_id}", field="claim_id")
    return ClaimView.model_validate(view)


def claims_engine(request: Request) -> Any:
    return request.app.state.engine


agency = APIRouter(prefix="/claims", tags=["claims (agency)"])


@agency.post(
    "", status_code=201, summary="Take a claim at the counter (checks refuse, change nothing)"
)
async def receive(body: ClaimIn, principal: Officer, claims: Handlers) -> ClaimReceived:
    claim_id = body.claim_id or claims.new_claim_id()
    return await _received(claims, principal, _intake(body, claim_id, principal.region, "counter"))


@agency.get(
    "",
    summary="Claims of the officer's region by deadline, a page at a time; `overdue=true`: past "
    "their step's deadline",
    responses={200: {"headers": LINK_HEADER}},
)
async def list_claims(
    request: Request,
    response: Response,
    principal: Officer,
    claims: Handlers,
    page: Paging,
    step: str | None = Query(None, pattern="^(received|checked|approved|paid|refused)$"),
    overdue: bool = False,
) -> list[ClaimView]:
    today = business_date(claims.now())
    async with claims_engine(request).connect() as conn:
        found = await queries.claims_of_region(
            conn, principal.region, today, page, step=step, overdue_only=overdue
        )
    announce(request, response, found)
    return [ClaimView.model_validate(c) for c in found.rows]


@agency.get("/{claim_id}", summary="One claim of the officer's region")
async def get_claim(
    request: Request, claim_id: str, principal: Officer, claims: Handlers
) -> ClaimView:
    view = await _view(request, claims, claim_id)
    principal.require_region(view.insured_region, field="claim_id")
    return view


@agency.post(
    "/{claim_id}/check",
    summary="Accept (受理) the claim under the filing covering it (emergency, or most favourable)",
)
async def check(claim_id: str, principal: Officer, claims: Handlers) -> ClaimChecked:
    kind = await claims.check(principal, claim_id)
    return ClaimChecked(claim_id=claim_id, step="checked", filing_kind=kind)


# Unset, not null: a review still waiting for others answers the three fields it always did.
@agency.post(
    "/{claim_id}/review",
    summary="Approve on review; the last review needed computes it",
    response_model_exclude_unset=True,
)
async def review(
    claim_id: str, body: ReviewIn, principal: Officer, claims: Handlers
) -> ClaimReviewed:
    approved = await claims.review(principal, claim_id, body.note)
    if approved is None:
        return ClaimReviewed(claim_id=claim_id, step="checked", approved=False)
    return ClaimReviewed(
        claim_id=claim_id,
        step="approved",
        approved=True,
        payable=approved.payable,
        fund_total=approved.totals.fund_total,
        account_paid=approved.totals.account_paid,
        policy_year=approved.policy_year,
    )


@agency.post("/{claim_id}/refuse", summary="Refuse the claim (the person is told why)")
async def refuse(
    claim_id: str, body: RefuseIn, principal: Officer, claims: Handlers
) -> ClaimRefused:
    await claims.refuse(principal, claim_id, body.reason)
    return ClaimRefused(claim_id=claim_id, step="refused")


payments = APIRouter(prefix="/payments", tags=["payments (agency)"])


@payments.post("/batches", status_code=201, summary="Pay every approved claim of the region")
async def pay(principal: Officer, claims: Handlers) -> PaymentBatch:
    batch_id = await claims.pay(principal, principal.region)
    return PaymentBatch(batch_id=batch_id)


@payments.get(
    "/batches/{batch_id}/file",
    response_class=PlainTextResponse,
    summary="The batch's bank payment file (CSV, yuan)",
)
async def bank_file(batch_id: str, request: Request, principal: Officer) -> str:
    async with claims_engine(request).connect() as conn:
        batch = await queries.payment_batch(conn, batch_id)
    if batch is None:
        raise NotFound("reimbursement.unknown_batch", f"no batch {batch_id}", field="batch_id")
    principal.require_region(batch["insured_region"], field="batch_id")
    return str(batch["file"])


online = APIRouter(prefix="/online", tags=["online (the person)"])


@online.post("/claims", status_code=201, summary="Claim online from uploaded invoices and details")
async def claim_online(body: ClaimIn, principal: Person, claims: Handlers) -> ClaimReceived:
    claim_id = body.claim_id or claims.new_claim_id()
    region = await claims.region_of(body.person_id)
    return await _received(claims, principal, _intake(body, claim_id, region, "online"))


@online.get(
    "/claims",
    summary="The person's own claims as received, a page at a time",
    responses={200: {"headers": LINK_HEADER}},
)
async def my_claims(
    request: Request, response: Response, principal: Person, claims: Handlers, page: Paging
) -> list[ClaimView]:
    today = business_date(claims.now())
    async with claims_engine(request).connect() as conn:
        found = await queries.claims_of_person(conn, principal.user_id, today, page)
    announce(request, response, found)
    return [ClaimView.model_validate(c) for c in found.rows]


@online.get("/notifications", summary="What the person was told about their claims")
async def my_notifications(request: Request, principal: Person) -> list[Notification]:
    async with claims_engine(request).connect() as conn:
        told = await queries.notifications_of(conn, principal.user_id)
    return [Notification.model_validate(n) for n in told]
