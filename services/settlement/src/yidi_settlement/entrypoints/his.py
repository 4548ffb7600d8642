"""The HIS gateway routes: translate HTTP to the gateway and back (always HTTP 200, as HIS
expects), on the single service path and on the per-transaction paths (his/paths.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request, Response

from yidi_events.auth.routes import public
from yidi_settlement.his.envelope import DESCRIPTION, MAX_BODY, SUMMARY
from yidi_settlement.his.files import download_of
from yidi_settlement.his.gateway import Gateway, Reply
from yidi_settlement.his.openapi import with_schemas
from yidi_settlement.his.owned import OWNED
from yidi_settlement.his.paths import (
    RESPONSES,
    SERVICE_OPENAPI,
    SERVICE_PATH,
    TRANSACTION_OPENAPI,
    path_transaction,
    transaction_paths,
)


def _http(reply: Reply) -> Response | dict[str, Any]:
    """9102 answers its file as the zip itself; everything else, and a refusal, the envelope."""
    download = download_of(reply)
    if download is None:
        return reply.answer
    return Response(
        download.content,
        media_type="application/octet-stream",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(download.filename)}"},
    )


def router(gateway: Gateway, hgs_prefixes: Sequence[str]) -> APIRouter:
    # No bearer token here: each request is authenticated by the hospital's signature.
    signed = Depends(public("HIS: authenticated by the hospital's signature"))
    api = APIRouter(tags=["HIS gateway"], dependencies=[signed])

    async def read(request: Request) -> bytes:
        """At most MAX_BODY + 1 bytes, however the body comes (declared or chunked): one byte
        over is enough for the authenticator to refuse it, before anything is verified."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            return bytes(MAX_BODY + 1)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk[: MAX_BODY + 1 - len(body)]
            if len(body) > MAX_BODY:
                break  # the rest is never read into memory
        return bytes(body)

    @api.post(
        SERVICE_PATH,
        summary=SUMMARY,
        description=DESCRIPTION,
        response_model=None,
        responses=RESPONSES,
        openapi_extra=SERVICE_OPENAPI,
    )
    async def call_service(request: Request) -> Response | dict[str, Any]:
        return _http(await gateway.call(request.headers, await read(request)))

    async def call_transaction(request: Request) -> Response | dict[str, Any]:
        return _http(
            await gateway.call(
                request.headers, await read(request), path_transaction(request.path_params)
            )
        )

    for path in transaction_paths(hgs_prefixes):
        api.add_api_route(
            path,
            call_transaction,
            methods=["POST"],
            response_model=None,
            responses=RESPONSES,
            summary=f"{SUMMARY}, per transaction",
            description=DESCRIPTION,
            openapi_extra=TRANSACTION_OPENAPI,
        )
    return api


def document(app: FastAPI, gateway: Gateway) -> None:
    """The app's OpenAPI with a request and a response schema for every transaction served, read
    from the served table itself (his/openapi.py)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            served = [*gateway.transactions.by_infno(), *OWNED]
            app.openapi_schema = with_schemas(generate(), served)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
