"""The reference data the counter's hot path reads on every settlement, kept per process:
hospitals with their sanctions, policies, catalogue versions. They change rarely (an agency's
edit, a published policy, an audit sanction), and each such change, however it arrives (the
service's own events, filing's and audit's facts, a rebuild's swap), writes their tables, whose
triggers move `reference_version` (migration settlement_0011).

Everything kept is labelled with the version read in the very statement that read it. A unit
that used kept data remembers the version it relied on, and the statement that claims the
request's nonce claims it only while that version still holds (`guard`): at no round trip of its
own. Should the data have moved, nothing commits; the cache is emptied and the write path runs the
unit again on fresh rows. A refusal, which commits nothing, is checked the same way (`verify`)
before it is answered, so a hospital resumed or a policy published through another process is
never refused on what this one kept.

Why a version and not LISTEN/NOTIFY: a notification reaches the other processes some time after
the commit (and never, across a dropped listening connection), so a request arriving meanwhile
would be decided on stale data. Why not the event store's position: policies and sanctions are
other services' facts, stored only as the rows the consumers write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_benefits.model import Catalogue, CatalogueVersion
from yidi_events.application import Unit
from yidi_events.contracts.policy import BenefitPolicy
from yidi_events.store import ConcurrencyError
from yidi_settlement.adapters import queries
from yidi_settlement.adapters.reads import SqlReads
from yidi_settlement.adapters.tables import reference_version

VERSION = sa.select(reference_version.c.version).scalar_subquery().label("reference_version")
REFERENCE = "settlement-reference-data"  # what a ConcurrencyError of a moved version names


@dataclass
class ReferenceCache:
    policy_limit: int = 4096
    """Policies are kept per day asked; past this many the day-keyed entries start afresh."""
    version: int | None = None
    hospitals: dict[str, tuple[Any, tuple[Any, ...]]] = field(default_factory=dict)
    policies: dict[tuple[str, str, date], BenefitPolicy] = field(default_factory=dict)
    catalogue: dict[tuple[str, str], tuple[CatalogueVersion, ...]] = field(default_factory=dict)
    _relied_on: WeakKeyDictionary[AsyncConnection, int] = field(default_factory=WeakKeyDictionary)

    def forget(self) -> None:
        self.version = None
        self.hospitals.clear()
        self.policies.clear()
        self.catalogue.clear()

    def hit(self, conn: AsyncConnection) -> None:
        """The unit on `conn` uses kept data: it relies on the version kept."""
        assert self.version is not None
        self._relied_on.setdefault(conn, self.version)

    def read(self, conn: AsyncConnection, version: int) -> bool:
        """The unit on `conn` read rows at `version`; True if they may be kept. An older version
        than the one kept (a slower concurrent reader) is not kept; a newer one replaces all."""
        self._relied_on.setdefault(conn, version)
        if self.version is not None and version < self.version:
            return False
        if version != self.version:
            self.forget()
            self.version = version
        return True

    def guard(self, conn: AsyncConnection) -> sa.ColumnElement[bool] | None:
        """What must still hold for the unit on `conn` to commit; None if it used nothing kept."""
        relied_on = self._relied_on.get(conn)
        if relied_on is None:
            return None
        return sa.exists().where(reference_version.c.version == relied_on)

    async def verify(self, conn: AsyncConnection) -> None:
        """Raise ConcurrencyError (the write path runs the unit again) if what the unit on `conn`
        relied on has moved since; one statement, and only for a unit that used kept data."""
        guard = self.guard(conn)
        if guard is not None and not await conn.scalar(sa.select(guard)):
            relied_on = self._relied_on.pop(conn)
            self.forget()
            raise ConcurrencyError(REFERENCE, relied_on)


@dataclass
class CachedReads(SqlReads):
    """SqlReads with the hot path's reference data kept in `cache`: a unit using them must end
    with the cache's `guard` (the gateway's nonce claim) or `verify` (its refusals)."""

    cache: ReferenceCache = field(default_factory=ReferenceCache)

    async def hospital(self, unit: Unit, institution_code: str, on: date) -> queries.Hospital:
        cache, conn = self.cache, unit.conn
        kept = cache.hospitals.get(institution_code)
        if kept is not None:
            cache.hit(conn)
            row, sanctions = kept
            return queries.hospital_on(row, sanctions, on)
        found = (
            (await conn.execute(queries.hospital_query(institution_code).add_columns(VERSION)))
            .mappings()
            .first()
        )
        if found is None:
            # Unknown codes are not kept: a caller must not be able to fill the memory.
            raise queries.hospital_not_found(institution_code)
        # Read after the version: at least as new as it, never older (the guard then refuses).
        sanctions = tuple(
            (await conn.execute(queries.sanctions_query(institution_code))).mappings().all()
        )
        if cache.read(conn, int(found["reference_version"])):
            cache.hospitals[institution_code] = (found, sanctions)
        return queries.hospital_on(found, sanctions, on)

    async def policy(
        self, unit: Unit, insured_region: str, insurance_type: str, on: date
    ) -> BenefitPolicy:
        cache, conn = self.cache, unit.conn
        key = (insured_region, insurance_type, on)
        kept = cache.policies.get(key)
        if kept is not None:
            cache.hit(conn)
            return kept
        query = queries.policy_query(insured_region, insurance_type, on).add_columns(VERSION)
        row = (await conn.execute(query)).mappings().first()
        found = queries.policy_of(row, insured_region, insurance_type, on)  # refuses a miss
        assert row is not None
        if cache.read(conn, int(row["reference_version"])):
            if len(cache.policies) >= cache.policy_limit:
                cache.policies.clear()
            cache.policies[key] = found
        return found

    async def catalogue(self, unit: Unit, visit_region: str, codes: Iterable[str]) -> Catalogue:
        cache, conn = self.cache, unit.conn
        wanted = sorted(set(codes))
        kept = {c: v for c in wanted if (v := cache.catalogue.get((visit_region, c))) is not None}
        if kept:
            cache.hit(conn)
        missing = [c for c in wanted if c not in kept]
        if missing:
            query = queries.catalogue_query(visit_region, missing).add_columns(VERSION)
            rows = (await conn.execute(query)).mappings().all()
            read = queries.catalogue_versions(rows)
            # Codes not in the catalogue are not kept (they are the caller's to choose).
            if rows and cache.read(conn, int(rows[0]["reference_version"])):
                cache.catalogue.update({(visit_region, c): v for c, v in read.items()})
            kept.update(read)
        return Catalogue(kept)
