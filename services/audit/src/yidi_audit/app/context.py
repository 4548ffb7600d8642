"""What every audit handler needs: the configuration of every rule and deadline, the write path
(which projects audit's own events inline), and the read models it consults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_audit.app.reads import AuditReads
from yidi_audit.domain.cases import SanctionSettings
from yidi_audit.domain.complaints import ComplaintSettings
from yidi_audit.domain.engine import AuditConfig
from yidi_audit.domain.investigation import InvestigationSettings
from yidi_audit.domain.tickets import TicketSettings
from yidi_events.application import Unit, WritePath
from yidi_events.kernel import WorkingCalendar
from yidi_events.runtime.projection import Projection


@dataclass(frozen=True)
class AuditSettings:
    """Every threshold and deadline of the service; the defaults are DOMAIN.md section 5's."""

    rules: AuditConfig = field(default_factory=AuditConfig)
    sanctions: SanctionSettings = field(default_factory=SanctionSettings)
    investigation: InvestigationSettings = field(default_factory=InvestigationSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    complaints: ComplaintSettings = field(default_factory=ComplaintSettings)
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar.official)


UnitOn = Callable[[AsyncConnection], Unit]
"""A unit inside a transaction a consumer opened for another service's fact."""


@dataclass(frozen=True)
class Ports:
    """What the runtime gives the handlers: PostgreSQL in the service, in memory in unit tests."""

    write: WritePath
    reads: AuditReads
    unit_on: UnitOn


class Audit:
    """Late-bound: the consumed projections are built before the runtime that runs them exists.
    `own` is the projection of audit's own events the runtime's write path keeps inline."""

    def __init__(self, settings: AuditSettings, own: Projection) -> None:
        self.settings = settings
        self.own = own
        self._ports_bound: Ports | None = None

    def bind(self, write: WritePath, reads: AuditReads, unit_on: UnitOn) -> None:
        self._ports_bound = Ports(write, reads, unit_on)

    def _ports(self) -> Ports:
        if self._ports_bound is None:
            raise RuntimeError("the audit runtime is not bound yet")
        return self._ports_bound

    @property
    def write(self) -> WritePath:
        return self._ports().write

    @property
    def reads(self) -> AuditReads:
        return self._ports().reads

    def unit_on(self, conn: AsyncConnection) -> Unit:
        return self._ports().unit_on(conn)

    def today(self) -> date:
        return self.write.today()
