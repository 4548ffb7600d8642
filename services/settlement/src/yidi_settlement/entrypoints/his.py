"""The HIS gateway routes: translate HTTP to the gateway and back (always HTTP 200, as HIS
expects). One service path where the envelope's infno chooses, and per-transaction paths as
provincial gateways publish them, whose infno must agree with the envelope's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request

from yidi_settlement.his.envelope import DESCRIPTION, MAX_BODY, SUMMARY
from yidi_settlement.his.gateway import Gateway

SERVICE_PATH = "/fsi/api/rsfComIfsService/callService"
CSB_PATH = "/CSB/hsa-fsi-{infno}"
HGS_PATH = "/hsa/hgs/{infno}"
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "object", "description": "the national envelope"}}
            for media in ("application/json", "text/plain")
        },
    }
}


def router(gateway: Gateway, hgs_prefixes: Sequence[str]) -> APIRouter:
    api = APIRouter(tags=["HIS gateway"])

    async def read(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            return b"x" * (MAX_BODY + 1)  # refused by the envelope parser without reading it all
        return await request.body()

    @api.post(SERVICE_PATH, summary=SUMMARY, description=DESCRIPTION, openapi_extra=_BODY)
    async def call_service(request: Request) -> dict[str, Any]:
        return await gateway.call(request.headers, await read(request))

    async def call_transaction(infno: str, request: Request) -> dict[str, Any]:
        return await gateway.call(request.headers, await read(request), infno)

    for path in (CSB_PATH, *(f"{prefix.rstrip('/')}{HGS_PATH}" for prefix in hgs_prefixes)):
        api.add_api_route(
            path,
            call_transaction,
            methods=["POST"],
            summary=f"{SUMMARY}, per transaction",
            description=DESCRIPTION,
            openapi_extra=_BODY,
        )
    return api
