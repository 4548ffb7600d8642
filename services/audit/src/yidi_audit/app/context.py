"""What every audit handler needs: the runtime (engine, store, clock), the configuration of every
rule and deadline, and the projection of audit's own events applied after each append."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_audit.domain.cases import SanctionSettings
from yidi_audit.domain.complaints import ComplaintSettings
from yidi_audit.domain.engine import AuditConfig
from yidi_audit.domain.investigation import InvestigationSettings
from yidi_audit.domain.tickets import TicketSettings
from yidi_events.decider import fold
from yidi_events.kernel import WorkingCalendar, business_date
from yidi_events.runtime.projection import Projection
from yidi_events.service import Runtime
from yidi_events.store import NewEvent


@dataclass(frozen=True)
class AuditSettings:
    """Every threshold and deadline of the service; the defaults are DOMAIN.md section 5's."""

    rules: AuditConfig = field(default_factory=AuditConfig)
    sanctions: SanctionSettings = field(default_factory=SanctionSettings)
    investigation: InvestigationSettings = field(default_factory=InvestigationSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    complaints: ComplaintSettings = field(default_factory=ComplaintSettings)
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)


class Audit:
    """Late-bound: projections are built before the runtime that will run them exists."""

    def __init__(self, settings: AuditSettings, own: Projection) -> None:
        self.settings = settings
        self.own = own
        self._runtime: Runtime | None = None

    def bind(self, runtime: Runtime) -> None:
        self._runtime = runtime

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the audit runtime is not bound yet")
        return self._runtime

    def today(self) -> date:
        return business_date(self.runtime.clock.now())

    async def load(
        self, conn: AsyncConnection, stream_id: str, evolve: Any, initial: Any
    ) -> tuple[Any, int]:
        """The folded state of a stream and its version."""
        stored = await self.runtime.store.load(conn, stream_id)
        return fold(evolve, initial, [e.payload for e in stored]), len(stored)

    async def append(
        self, conn: AsyncConnection, stream_id: str, version: int, payloads: Sequence[Any]
    ) -> None:
        """Append audit's own facts and project them in the same transaction."""
        today = self.today()
        envelopes = await self.runtime.store.append(
            conn, stream_id, version, [NewEvent(p, today) for p in payloads]
        )
        for envelope in envelopes:
            await self.own.apply(conn, envelope)
