"""Agency API: the insured place's benefit policies (the document format of
shared/vectors/settlement.json, national keys inside the document as agencies exchange it)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from yidi_events.paging import LINK_HEADER, Paging, announce
from yidi_filing.adapters import queries
from yidi_filing.app import policies as handlers
from yidi_filing.app.common import require_agency
from yidi_filing.entrypoints.deps import Agency, Ctx
from yidi_filing.entrypoints.models import PolicyDocumentIn, PolicyView, Published

router = APIRouter(prefix="/policies", tags=["policies"])


@router.post(
    "",
    status_code=201,
    summary="Publish a policy version of the caller's region (supersedes from its date)",
)
async def publish(
    principal: Agency,
    ctx: Ctx,
    document: PolicyDocumentIn,
) -> Published:
    # As sent: a key left out stays out (the parser tells a missing part from a null one).
    version = await handlers.publish(ctx, principal, document.model_dump(exclude_unset=True))
    return Published(version=version, published=version is not None)


@router.get(
    "",
    summary="Published versions of the caller's region, by scheme then version, a page at a time",
    responses={200: {"headers": LINK_HEADER}},
)
async def list_policies(
    principal: Agency,
    ctx: Ctx,
    page: Paging,
    request: Request,
    response: Response,
    insurance_type: str | None = Query(None, description="310 or 390"),
) -> list[PolicyView]:
    require_agency(principal)
    found = await queries.policies_of(ctx.runtime.engine, principal.region, insurance_type, page)
    announce(request, response, found)
    return [PolicyView.model_validate(row) for row in found.rows]
