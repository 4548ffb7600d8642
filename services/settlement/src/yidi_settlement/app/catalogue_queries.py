"""The paged catalogue queries (the catalogue entries, their caps and self-pay ratios, and a
hospital's item mappings): reads of the hospital's regional catalogue and of its own mapping
stream, answered inside the message's unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from yidi_events.application import Unit, WritePath
from yidi_events.kernel import business_date
from yidi_settlement.adapters.queries import Hospital
from yidi_settlement.domain import catalogue_pages as cp
from yidi_settlement.domain.events import CatalogueItemPublished
from yidi_settlement.domain.reference import items_stream


class CatalogueReads(Protocol):
    async def hospital(self, unit: Unit, institution_code: str, on: date) -> Hospital: ...

    async def catalogue_history(
        self, unit: Unit, visit_region: str
    ) -> list[tuple[CatalogueItemPublished, datetime]]: ...


@dataclass(frozen=True, kw_only=True)
class CatalogueSeen:
    hospital: Hospital
    entries: list[cp.EntryVersions]


@dataclass(frozen=True, kw_only=True)
class MappingSeen:
    mapping: cp.ItemMapping
    entry: CatalogueItemPublished | None  # the code's latest entry; None if no longer held


@dataclass
class CatalogueQueryService:
    write: WritePath
    reads: CatalogueReads

    async def catalogue(self, unit: Unit, institution: str, now: datetime) -> CatalogueSeen:
        """The entries of the catalogue of the hospital's region."""
        hospital = await self.reads.hospital(unit, institution, business_date(now))
        history = await self.reads.catalogue_history(unit, hospital.region)
        return CatalogueSeen(hospital=hospital, entries=cp.entries(history))

    async def mappings(
        self, unit: Unit, institution: str, now: datetime
    ) -> tuple[Hospital, list[MappingSeen]]:
        """The hospital's item mappings as they stand, by hospital item code, each with the
        latest entry of the code it maps to."""
        seen = await self.catalogue(unit, institution, now)
        latest = {e.entry.catalogue_code: e.entry for e in seen.entries}  # by date: last wins
        loaded = await self.write.load(unit, items_stream(institution), cp.MAPPINGS_SEEN)
        return seen.hospital, [
            MappingSeen(mapping=m, entry=latest.get(m.catalogue_code))
            for _, m in sorted(loaded.state.items())
        ]
