"""The HIS gateway route: translate HTTP to the gateway and back (always HTTP 200, as HIS expects)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from yidi_settlement.his.envelope import DESCRIPTION, MAX_BODY, SUMMARY
from yidi_settlement.his.gateway import Gateway


def router(gateway: Gateway) -> APIRouter:
    api = APIRouter(tags=["HIS gateway"])

    @api.post("/fsi/api/rsfComIfsService/callService", summary=SUMMARY, description=DESCRIPTION)
    async def call_service(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            body = b"x" * (MAX_BODY + 1)  # refused by the envelope parser without reading it all
        else:
            body = await request.body()
        return await gateway.call(request.headers, body)

    return api
