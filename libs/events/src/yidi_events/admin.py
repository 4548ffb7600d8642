"""The operator's API of every service (`/admin/...`, the provincial centre's `operator` role):
what `yidi lag`, `yidi republish` and `yidi rebuild` do, done inside the service, so the operator
needs a login and the services' URLs, never their database URLs or passwords.

Rebuilding answers when the rebuild is done (the client waits): a rebuild builds beside the live
tables and swaps, so the service keeps answering meanwhile; two at once of the same projection
would fight over the shadow tables, and the second is refused.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from yidi_events.auth.agency import Principal, admit
from yidi_events.db import is_unavailable
from yidi_events.kernel.errors import Conflict, NotFound, Unavailable
from yidi_events.runtime.lag import consumer_lag
from yidi_events.runtime.rebuilds import find, projections, rebuild

if TYPE_CHECKING:  # the service module includes this router
    from yidi_events.service import Runtime

Operator = Annotated[Principal, Depends(admit("centre", roles=["operator"]))]


class ProjectionView(BaseModel):
    name: str
    kind: Literal["own", "consumed"]
    sources: list[str]


class Rebuilt(BaseModel):
    projection: str
    kind: Literal["own", "consumed"]
    read: int  # events from the store, or records from the topics


class Republished(BaseModel):
    service: str
    topic: str
    to_publish: int


class LagRow(BaseModel):
    service: str
    what: Literal["relay", "consumer"]
    name: str  # the relay's topic, or the consumer group
    topic: str | None = None
    committed: int | None = None
    end: int | None = None
    behind: int


def admin_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["operations"])
    running: set[str] = set()

    @router.get("/projections")
    async def list_projections(_: Operator) -> list[ProjectionView]:
        return [
            ProjectionView(name=f.name, kind=f.kind, sources=list(f.sources))
            for f in projections(runtime)
        ]

    @router.post("/projections/{name}/rebuild")
    async def rebuild_projection(name: str, _: Operator) -> Rebuilt:
        try:
            found = find(runtime, name)
        except LookupError as exc:
            raise NotFound("admin.no_projection", str(exc), field="name") from exc
        if found.name in running:
            raise Conflict(
                "admin.rebuild_running", f"{found.name} is being rebuilt already", field="name"
            )
        running.add(found.name)
        try:
            read = await rebuild(runtime, found)
        finally:
            running.discard(found.name)
        return Rebuilt(projection=found.name, kind=found.kind, read=read)

    @router.post("/relay/republish")
    async def republish(_: Operator) -> Republished:
        relay = runtime.relay
        await relay.ensure_checkpoint()
        await relay.rewind()
        return Republished(
            service=runtime.name, topic=relay.topic, to_publish=await relay.backlog()
        )

    @router.get("/lag")
    async def lag(_: Operator) -> list[LagRow]:
        kafka = runtime.settings.kafka()
        rows = [
            LagRow(
                service=runtime.name,
                what="relay",
                name=runtime.relay.topic,
                behind=await runtime.relay.backlog(),
            )
        ]
        try:
            found = await asyncio.gather(*(consumer_lag(kafka, c) for c in runtime.consumers))
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            raise Unavailable(
                "admin.broker_unavailable", f"the broker cannot be reached: {exc}"
            ) from exc
        rows += [
            LagRow(
                service=runtime.name,
                what="consumer",
                name=lag.group,
                topic=lag.topic,
                committed=lag.committed,
                end=lag.end,
                behind=lag.behind,
            )
            for lags in found
            for lag in lags
        ]
        return rows

    return router
