"""Agency API for filings (counter, review queue, changes) and the online channel for persons."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from yidi_events.auth.agency import Principal
from yidi_events.contracts.filing import FilingChannel
from yidi_events.kernel import Forbidden, NotFound
from yidi_events.paging import LINK_HEADER, Paging, announce
from yidi_filing.adapters import queries
from yidi_filing.app import filings as handlers
from yidi_filing.app.common import Context, require_agency, require_own_region
from yidi_filing.domain.filing import ChangeFiling, SubmitFiling
from yidi_filing.entrypoints.deps import (
    Agency,
    AgencyOrPerson,
    Ctx,
    OnlineFiler,
    Person,
    Reviewer,
)
from yidi_filing.entrypoints.models import (
    CancelRequest,
    ChangeRequest,
    CounterFilingRequest,
    FilingRequest,
    FilingView,
    RejectRequest,
)

router = APIRouter(prefix="/filings", tags=["filings"])
online = APIRouter(prefix="/online", tags=["online filing (persons)"])


async def _view(ctx: Context, principal: Principal, filing_id: str) -> FilingView:
    filing = await queries.filing(ctx.runtime.engine, filing_id)
    if filing is None:
        raise NotFound("filing.not_found", "no such filing", field="filing_id")
    if principal.kind == "person":
        if filing["person_id"] != principal.user_id:
            raise Forbidden(
                "filing.online_self_only", "a person sees only their own filings", field="filing_id"
            )
    else:
        require_own_region(principal, filing["insured_region"], field="filing_id")
    return FilingView.model_validate(filing)


@router.post(
    "", status_code=201, summary="File at the agency counter (approved at once if the rules pass)"
)
async def submit_at_counter(body: CounterFilingRequest, principal: Agency, ctx: Ctx) -> FilingView:
    command = SubmitFiling(
        filing_id=handlers.new_filing_id(), channel=FilingChannel.COUNTER, **body.model_dump()
    )
    filing_id = await handlers.submit(ctx, principal, command)
    return await _view(ctx, principal, filing_id)


@router.get(
    "",
    summary="Filings of the caller's region, review due date first; status=pending is the queue",
    responses={200: {"headers": LINK_HEADER}},
)
async def list_filings(
    principal: Agency,
    ctx: Ctx,
    page: Paging,
    request: Request,
    response: Response,
    status: str | None = Query(None, description="pending, approved, rejected, cancelled"),
    person_id: str | None = None,
) -> list[FilingView]:
    require_agency(principal)
    found = await queries.filings_of(
        ctx.runtime.engine, principal.region, status=status, person_id=person_id, page=page
    )
    announce(request, response, found)
    return [FilingView.model_validate(row) for row in found.rows]


@router.get("/{filing_id}", summary="One filing")
async def get_filing(filing_id: str, principal: AgencyOrPerson, ctx: Ctx) -> FilingView:
    return await _view(ctx, principal, filing_id)


@router.post("/{filing_id}/approve", summary="A reviewer of the insured agency approves")
async def approve(filing_id: str, principal: Reviewer, ctx: Ctx) -> FilingView:
    await handlers.approve(ctx, principal, filing_id)
    return await _view(ctx, principal, filing_id)


@router.post("/{filing_id}/reject", summary="A reviewer of the insured agency rejects")
async def reject(filing_id: str, body: RejectRequest, principal: Reviewer, ctx: Ctx) -> FilingView:
    await handlers.reject(ctx, principal, filing_id, body.reason)
    return await _view(ctx, principal, filing_id)


@router.post("/{filing_id}/change", summary="New residence city, or re-referral (再次转院)")
async def change(
    filing_id: str, body: ChangeRequest, principal: AgencyOrPerson, ctx: Ctx
) -> FilingView:
    await handlers.change(ctx, principal, filing_id, ChangeFiling(**body.model_dump()))
    return await _view(ctx, principal, filing_id)


@router.post("/{filing_id}/cancel", summary="Cancel (promise-based filings: after 6 months)")
async def cancel(
    filing_id: str, body: CancelRequest, principal: AgencyOrPerson, ctx: Ctx
) -> FilingView:
    await handlers.cancel(ctx, principal, filing_id, body.reason)
    return await _view(ctx, principal, filing_id)


@online.post("/filings", status_code=201, summary="The insured person files online, for themselves")
async def submit_online(body: FilingRequest, principal: OnlineFiler, ctx: Ctx) -> FilingView:
    command = SubmitFiling(
        filing_id=handlers.new_filing_id(),
        person_id=principal.user_id,
        channel=FilingChannel.ONLINE,
        **body.model_dump(),
    )
    filing_id = await handlers.submit(ctx, principal, command)
    return await _view(ctx, principal, filing_id)


@online.get("/filings", summary="The person's own filings")
async def my_filings(principal: Person, ctx: Ctx) -> list[FilingView]:
    rows = await queries.filings_of_person(ctx.runtime.engine, principal.user_id)
    return [FilingView.model_validate(row) for row in rows]
