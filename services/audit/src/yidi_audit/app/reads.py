"""What the handlers read of audit's read models, in the unit they run in: the port behind which
PostgreSQL sits (`adapters/lookups.py`), so the handlers are unit tested with a fake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from yidi_audit.domain.events import InvestigationItem
from yidi_audit.domain.facts import Fact, SettledVisit
from yidi_events.application import Unit


@dataclass(frozen=True)
class OpenWork:
    """The streams that may hold a late step: unconfirmed 协查 batches, tickets, complaints."""

    batch_ids: list[str]
    ticket_ids: list[str]
    complaint_ids: list[str]


class AuditReads(Protocol):
    async def cases_with_suspensions_due(self, unit: Unit, today: date) -> list[str]:
        """Cases with a suspension not yet ended whose last day is before `today`."""
        ...

    async def batches_with_unanswered_items(self, unit: Unit, building: str) -> list[str]:
        """Batches other than `building` with items neither answered nor rolled over."""
        ...

    async def pool_candidates(self, unit: Unit, first: date, last: date) -> list[InvestigationItem]:
        """Live high-cost admissions settled from `first` to `last` inclusive."""
        ...

    async def batches_with_answers_due(self, unit: Unit, today: date) -> list[str]:
        """Batches with an answer nobody confirmed by its last confirmation day before `today`."""
        ...

    async def tickets_with_replies_due(self, unit: Unit, today: date) -> list[str]:
        """Replied tickets whose last confirmation day is before `today`."""
        ...

    async def open_work(self, unit: Unit, city: str | None) -> OpenWork:
        """Open items that involve `city`, or every open item when it is None (the centre)."""
        ...

    async def history(self, unit: Unit, person_id: str) -> list[Fact]:
        """The facts the rules reason over for one person."""
        ...

    async def settlement(self, unit: Unit, settlement_id: str) -> tuple[SettledVisit | None, bool]:
        """A settlement as audit holds it, with its fee lines, and whether it was cancelled."""
        ...
