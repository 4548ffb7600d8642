"""Internal endpoint the settlement service's HIS gateway forwards filing transactions to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from yidi_events.auth.agency import CurrentPrincipal
from yidi_events.kernel import DomainError
from yidi_filing.adapters import wire
from yidi_filing.app import his as handlers
from yidi_filing.entrypoints.deps import Ctx
from yidi_filing.entrypoints.models import HisRequest

router = APIRouter(prefix="/internal", tags=["internal"])


@router.post("/his", summary="2501/2502 referral filing by a hospital (2503/2504 refused)")
async def his(body: HisRequest, principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
    handlers.require_his(principal)
    if body.infno == wire.REFERRAL:
        filing_id = handlers.hospital_filing_id(body.institution_code, body.message_id)
        upload = wire.referral_upload(body.input, body.institution_code, filing_id)
        return {"output": wire.filing_output(await handlers.upload_referral(ctx, upload))}
    if body.infno == wire.REFERRAL_CANCEL:
        cancel = wire.referral_cancel(body.input)
        filing_id = await handlers.cancel_referral(ctx, cancel, body.institution_code)
        return {"output": wire.filing_output(filing_id)}
    if body.infno in (wire.CHRONIC, wire.CHRONIC_CANCEL):
        raise wire.chronic_out_of_scope(body.infno)
    raise DomainError(
        "his.infno", f"transaction {body.infno} is not handled by the filing service", field="infno"
    )
