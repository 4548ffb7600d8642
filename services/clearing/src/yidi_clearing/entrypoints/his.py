"""`POST /internal/his`: the HIS transactions clearing owns (3203, 3204, 3205A), forwarded by the
settlement gateway (docs/integration.md). It only translates: wire -> handler -> wire."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_clearing.adapters import queries, wire
from yidi_clearing.app.hospitals import HospitalHandlers
from yidi_events.auth.agency import CurrentPrincipal
from yidi_events.kernel import DomainError, Forbidden


class HisRequest(BaseModel):
    infno: str
    institution_code: str
    message_id: str
    visit_region: str
    insured_region: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)


def his_router(handlers: HospitalHandlers, engine: AsyncEngine) -> APIRouter:
    router = APIRouter(tags=["his"])

    @router.post("/internal/his")
    async def his(body: HisRequest, principal: CurrentPrincipal) -> Any:
        if principal.kind != "service" or not principal.has("his"):
            raise Forbidden(
                "auth.service_only", "only the HIS gateway may call this endpoint", field="kind"
            )
        infno = body.infno.upper()
        if infno in ("3203", "3203A"):
            key, totals = wire.application_from_3203(
                body.input, body.institution_code, body.visit_region
            )
            application_id = await handlers.apply(key, totals)
            return {"output": {"result": {"clr_appy_evt_id": application_id}}}
        if infno in ("3204", "3204A"):
            application_id = wire.application_id_from(body.input)
            await handlers.withdraw(body.institution_code, application_id)
            return {"output": {"result": {"clr_appy_evt_id": application_id}}}
        if infno == "3205A":
            filters = wire.status_query_from(body.input)
            async with engine.connect() as conn:
                rows = await queries.applications(
                    conn, institution_code=body.institution_code, **filters
                )
            return {"output": {"data": [wire.application_row(r) for r in rows]}}
        raise DomainError(
            "his.infno_unknown", f"clearing does not handle transaction {body.infno}", field="infno"
        )

    return router
