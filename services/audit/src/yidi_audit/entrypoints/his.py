"""`POST /v1/internal/his`: the settlement gateway forwards 3101/3102 here as `encounters.analyse`
(docs/integration.md)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from yidi_audit.app.analysis import analyse_encounters
from yidi_audit.entrypoints.deps import audit_of
from yidi_events.forwarded import ForwardedCommand, forwarded_router


async def _analyse(call: ForwardedCommand, request: Request) -> dict[str, Any]:
    return await analyse_encounters(audit_of(request), call.command)


router = forwarded_router("audit", {"encounters.analyse": _analyse})
