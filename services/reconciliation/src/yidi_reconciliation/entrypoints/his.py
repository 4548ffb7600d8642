"""`POST /internal/his`: the transactions the settlement service's HIS gateway forwards here
(3201, 3202, 9101, 9102). It only translates: national input -> handler -> national output."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from yidi_events.auth.agency import CurrentPrincipal
from yidi_events.kernel import DomainError, Forbidden
from yidi_reconciliation.adapters import wire
from yidi_reconciliation.app.hospital import Hospitals


class HisCall(BaseModel):
    infno: str
    institution_code: str = Field(min_length=1)
    message_id: str = ""
    visit_region: str | None = None
    insured_region: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)


def his_router(hospitals: Hospitals) -> APIRouter:
    router = APIRouter(prefix="/internal", tags=["his"])

    @router.post("/his")
    async def call(body: HisCall, principal: CurrentPrincipal) -> dict[str, Any]:
        if principal.kind != "service" or not principal.has("his"):
            raise Forbidden(
                "auth.his_gateway",
                "only the HIS gateway (a service token with the 'his' role) may call this",
                field="Authorization",
            )
        institution = body.institution_code
        if body.infno == "3201":
            claim = wire.totals_claim(institution, body.input)
            return {"output": wire.totals_output(claim, await hospitals.reconcile_totals(claim))}
        if body.infno == "9101":
            upload = wire.upload_request(body.input)
            stored = await hospitals.upload(institution, upload.filename, upload.content)
            return {
                "output": wire.file_info(
                    stored.file_query_no, stored.filename, stored.download_until
                )
            }
        if body.infno == "3202":
            request = wire.detail_request(institution, body.input)
            outcome = await hospitals.reconcile_details(
                request.scope, request.file_query_no, request.rows
            )
            f = outcome.file
            return {"output": wire.detail_output(f.file_query_no, f.filename, f.download_until)}
        if body.infno == "9102":
            number = wire.download_request(body.input)
            stored = await hospitals.download(institution, number)
            return {
                "output": wire.download_output(
                    stored.file_query_no, stored.filename, stored.content
                )
            }
        raise DomainError(
            "his.infno_unknown",
            f"Transaction {body.infno} is not served by reconciliation (3201, 3202, 9101, 9102).",
            field="infno",
        )

    return router
