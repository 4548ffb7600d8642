"""What the HIS queries read beyond the visit handlers' reads (app/queries.py's QueryReads): the
registry by code or name, a person's visits over a period, catalogue names, and the catalogue's
published versions in commit order (the 13xx downloads)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from yidi_benefits.accumulators import Accumulators
from yidi_benefits.chronic import ChronicCertificate
from yidi_events import registry
from yidi_events.application import Unit
from yidi_events.contracts.policy import BenefitPolicy
from yidi_events.store.schema import events
from yidi_settlement.adapters import queries
from yidi_settlement.adapters.tables import catalogue_items, hospitals, visits
from yidi_settlement.domain.catalogue_versions import PublishedVersion
from yidi_settlement.domain.events import CatalogueItemPublished
from yidi_settlement.domain.reference import catalogue_stream

_PUBLISHED = registry.event_type_of(CatalogueItemPublished)


class SqlQueryReads:
    async def hospital(self, unit: Unit, institution_code: str, on: date) -> queries.Hospital:
        return await queries.hospital(unit.conn, institution_code, on)

    async def person(self, unit: Unit, person_id: str, on: date) -> queries.Person:
        return await queries.person(unit.conn, person_id, on)

    async def person_year(self, unit: Unit, person_id: str, policy_year: int) -> Accumulators:
        return await queries.person_year(unit.conn, person_id, policy_year)

    async def chronic_certificates(self, unit: Unit, person_id: str) -> list[ChronicCertificate]:
        return await queries.person_chronic_certificates(unit.conn, person_id)

    async def policy(
        self, unit: Unit, insured_region: str, insurance_type: str, on: date
    ) -> BenefitPolicy:
        return await queries.policy(unit.conn, insured_region, insurance_type, on)

    async def settlement(
        self, unit: Unit, institution_code: str, settlement_id: str
    ) -> dict[str, Any] | None:
        return await queries.settlement_row(
            unit.conn, institution_code=institution_code, settlement_id=settlement_id
        )

    async def institutions(
        self, unit: Unit, *, code: str | None, name: str | None
    ) -> list[dict[str, Any]]:
        """Registry rows whose code is `code` and whose name contains `name`, by code."""
        query = sa.select(hospitals).order_by(hospitals.c.institution_code)
        if code is not None:
            query = query.where(hospitals.c.institution_code == code)
        if name is not None:
            escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(hospitals.c.institution_name.like(f"%{escaped}%", escape="\\"))
        return [dict(r) for r in (await unit.conn.execute(query)).mappings()]

    async def visits(
        self,
        unit: Unit,
        *,
        person_id: str,
        began_from: datetime,
        began_to: datetime | None,
        institution_code: str | None = None,
        medical_types: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """A person's visits begun in a period, oldest first."""
        query = (
            sa.select(visits)
            .where(visits.c.person_id == person_id, visits.c.began_at >= began_from)
            .order_by(visits.c.began_at, visits.c.visit_id)
        )
        if began_to is not None:
            query = query.where(visits.c.began_at <= began_to)
        if institution_code is not None:
            query = query.where(visits.c.institution_code == institution_code)
        if medical_types is not None:
            query = query.where(visits.c.medical_type.in_(sorted(set(medical_types))))
        return [dict(r) for r in (await unit.conn.execute(query)).mappings()]

    async def catalogue_names(
        self, unit: Unit, visit_region: str, codes: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        """Each code's latest published version (name, list type, class, cap)."""
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = (
            await unit.conn.execute(
                sa.select(catalogue_items)
                .where(
                    catalogue_items.c.visit_region == visit_region,
                    catalogue_items.c.catalogue_code.in_(wanted),
                )
                .order_by(catalogue_items.c.effective_from)
            )
        ).mappings()
        return {r["catalogue_code"]: dict(r) for r in rows}  # the latest wins

    async def horizon(self, unit: Unit) -> int:
        """The oldest transaction still running: every one below it has ended, so the versions
        they published are all there is below it, now and later."""
        value = await unit.conn.scalar(
            sa.text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        )
        return int(value)

    async def published(
        self, unit: Unit, visit_region: str, after_txid: int, before_txid: int
    ) -> list[PublishedVersion]:
        """The region's catalogue versions committed by transactions in (after, before)."""
        prefix = catalogue_stream(visit_region, "")
        rows = await unit.conn.execute(
            sa.select(events.c.txid, events.c.schema_version, events.c.payload)
            .where(
                events.c.event_type == _PUBLISHED,
                events.c.stream_id.startswith(prefix, autoescape=True),
                events.c.txid > after_txid,
                events.c.txid < before_txid,
            )
            .order_by(events.c.txid, events.c.position)
        )
        return [
            PublishedVersion(
                txid=int(r.txid), item=registry.decode(_PUBLISHED, r.schema_version, r.payload)
            )
            for r in rows
        ]
