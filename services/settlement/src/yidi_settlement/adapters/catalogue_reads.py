"""What the paged catalogue queries read: the hospital, and its region's catalogue publications
with when each was published (the catalogue_items read model keeps no times)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from yidi_events import registry
from yidi_events.application import Unit
from yidi_events.store.schema import events
from yidi_settlement.adapters import queries
from yidi_settlement.domain.events import CatalogueItemPublished
from yidi_settlement.domain.reference import catalogue_stream

_PUBLISHED = registry.event_type_of(CatalogueItemPublished)


class SqlCatalogueReads:
    async def hospital(self, unit: Unit, institution_code: str, on: date) -> queries.Hospital:
        return await queries.hospital(unit.conn, institution_code, on)

    async def catalogue_history(
        self, unit: Unit, visit_region: str
    ) -> list[tuple[CatalogueItemPublished, datetime]]:
        """The region's catalogue publications in the order they were stored."""
        rows = await unit.conn.execute(
            sa.select(events.c.schema_version, events.c.payload, events.c.occurred_at)
            .where(
                events.c.event_type == _PUBLISHED,
                events.c.stream_id.startswith(catalogue_stream(visit_region, ""), autoescape=True),
            )
            .order_by(events.c.position)
        )
        return [
            (registry.decode(_PUBLISHED, r.schema_version, r.payload), r.occurred_at) for r in rows
        ]
