"""The HIS gateway route: translate HTTP to the gateway and back (always HTTP 200, as HIS expects)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from yidi_settlement.adapters.wire import MAX_BODY
from yidi_settlement.app.gateway import Gateway


def router(gateway: Gateway) -> APIRouter:
    api = APIRouter(tags=["HIS gateway"])

    @api.post(
        "/fsi/api/rsfComIfsService/callService",
        summary="National HIS envelope (infno, msgid, ..., input) signed with x-yidi-* headers",
        description=(
            "Answers infcode 0 with output, or infcode -1 with err_msg naming the field and rule. "
            "A repeated msgid from the same institution returns the stored answer; a different "
            "body under the same msgid is refused."
        ),
    )
    async def call_service(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            body = b"x" * (MAX_BODY + 1)  # refused by the envelope parser without reading it all
        else:
            body = await request.body()
        return await gateway.call(request.headers, body)

    return api
