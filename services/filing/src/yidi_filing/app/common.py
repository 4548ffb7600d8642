"""What every handler of the filing service shares: streams, the append-then-project step, scoping.

The write path of docs/integration.md: load the stream, fold, decide (pure), append as the first
write of the transaction, then the write-side tables and the read models, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.auth.agency import Principal
from yidi_events.envelope import Envelope
from yidi_events.kernel import Forbidden, business_date
from yidi_events.runtime.projection import Projection
from yidi_events.service import Runtime
from yidi_events.store import NewEvent
from yidi_filing.adapters.projection import read_models
from yidi_filing.app.settings import SettingsBook

AGENCY_KINDS = frozenset({"agency", "centre"})


def person_stream(person_id: str) -> str:
    return f"person-{person_id}"


def filing_stream(filing_id: str) -> str:
    return f"filing-{filing_id}"


def policy_stream(insured_region: str, insurance_type: str) -> str:
    return f"policy-{insured_region}-{insurance_type}"


class Context:
    """The runtime pieces a handler needs, built once by the composition root.

    It is bound to the runtime after the runtime exists, because the runtime's subscriptions
    (the audit policy) need the context first."""

    def __init__(self, settings: SettingsBook | None = None) -> None:
        self.settings = settings or SettingsBook()
        self.projection: Projection = read_models()
        self._runtime: Runtime | None = None

    def bind(self, runtime: Runtime) -> Context:
        self._runtime = runtime
        return self

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the filing context is not bound to a runtime yet")
        return self._runtime

    def now(self) -> datetime:
        return self.runtime.clock.now()

    async def load(self, conn: AsyncConnection, stream_id: str) -> list[Envelope]:
        return await self.runtime.store.load(conn, stream_id)

    async def append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        loaded: int,
        payloads: Sequence[Any],
        now: datetime,
    ) -> list[Envelope]:
        """Append what a decision produced (the first write), then project it inline."""
        day = business_date(now)
        envelopes = await self.runtime.store.append(
            conn, stream_id, loaded, [NewEvent(p, day) for p in payloads]
        )
        for envelope in envelopes:
            await self.projection.apply(conn, envelope)
        return envelopes


def require_agency(principal: Principal) -> None:
    if principal.kind not in AGENCY_KINDS:
        raise Forbidden(
            "auth.kind",
            f"this action is for agency staff; a {principal.kind} principal may not take it",
            field="Authorization",
        )


def require_own_region(principal: Principal, region: str, *, field: str) -> None:
    """Agency staff act on their own insured region only (the provincial centre on any)."""
    require_agency(principal)
    principal.require_region(region, field=field)
