"""The one forwarded-HIS endpoint: only the gateway calls it, a name the owner lacks is refused
once for all owners, and a handler answers a domain result or a field-named refusal."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from yidi_events.auth.agency import TokenVerifier, issue_token
from yidi_events.forwarded import ForwardedCommand, forwarded_router
from yidi_events.kernel import DomainError

SECRET = "forwarded-test-secret-of-thirty-two-bytes"


class Claim(BaseModel):
    count: int


async def _count(call: ForwardedCommand, request: Request) -> dict[str, Any]:
    return {"count": Claim.model_validate(call.command).count, "by": call.institution_code}


def _app() -> FastAPI:
    app = FastAPI()
    app.state.verifier = TokenVerifier.sandbox(SECRET)
    app.include_router(forwarded_router("clearing", {"claim.count": _count}))

    @app.exception_handler(DomainError)
    async def refused(_: Request, exc: DomainError) -> JSONResponse:
        error = {"rule": exc.rule, "field": exc.field, "message": exc.message}
        return JSONResponse(status_code=exc.status, content={"error": error})

    return app


def _headers(kind: str, roles: list[str]) -> dict[str, str]:
    token = issue_token(SECRET, user_id="u", region="320100", roles=roles, kind=kind)
    return {"Authorization": f"Bearer {token}"}


def _call(name: str, command: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "institution_code": "H1",
        "message_id": "M1",
        "visit_region": "320100",
        "command": command,
    }


async def test_only_the_gateway_is_answered_and_only_with_names_the_owner_has() -> None:
    gateway = _headers("service", ["his"])
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://owner") as client:
        done = await client.post(
            "/internal/his", json=_call("claim.count", {"count": 3}), headers=gateway
        )
        assert (done.status_code, done.json()) == (200, {"result": {"count": 3, "by": "H1"}})

        agency = _headers("agency", ["his"])
        refused = await client.post("/internal/his", json=_call("claim.count", {}), headers=agency)
        assert refused.status_code == 403
        assert refused.json()["error"]["rule"] == "his.gateway_only"

        other = await client.post(
            "/internal/his", json=_call("referral.upload", {}), headers=gateway
        )
        assert other.status_code == 422
        assert (other.json()["error"]["rule"], other.json()["error"]["field"]) == (
            "his.not_owned",
            "name",
        )

        bad = await client.post(
            "/internal/his", json=_call("claim.count", {"count": "x"}), headers=gateway
        )
        assert bad.status_code == 422
        assert (bad.json()["error"]["rule"], bad.json()["error"]["field"]) == (
            "his.command_invalid",
            "count",
        )
