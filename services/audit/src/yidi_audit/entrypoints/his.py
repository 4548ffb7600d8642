"""`POST /internal/his`: the settlement gateway forwards 3101/3102 here (docs/integration.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from yidi_audit.app.analysis import analyse_3101
from yidi_audit.entrypoints.deps import audit_of
from yidi_events.auth.agency import CurrentPrincipal
from yidi_events.kernel import DomainError, Forbidden

router = APIRouter(tags=["his"])

OWNED = frozenset({"3101", "3102"})


class Forwarded(BaseModel):
    infno: str
    institution_code: str
    message_id: str
    visit_region: str
    insured_region: str | None = None
    input: dict[str, Any]


@router.post("/internal/his")
async def his(body: Forwarded, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    if principal.kind != "service" or not principal.has("his"):
        raise Forbidden("audit.his.caller", "only the HIS gateway may call this", field="kind")
    if body.infno not in OWNED:
        raise DomainError(
            "audit.his.infno", f"audit answers 3101/3102, not {body.infno}", field="infno"
        )
    data = body.input.get("data", body.input)
    if not isinstance(data, dict):
        raise DomainError("audit.analysis.bad_request", "data must be an object", field="data")
    return {"output": await analyse_3101(audit_of(request), data)}
