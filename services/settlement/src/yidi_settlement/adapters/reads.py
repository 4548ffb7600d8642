"""The visit handlers' reads (app/ports.py) on PostgreSQL, through the writing unit's connection."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_benefits.chronic import ChronicCertificate
from yidi_benefits.filings import FilingSnapshot
from yidi_benefits.model import Catalogue
from yidi_events.application import Unit
from yidi_events.contracts.policy import BenefitPolicy
from yidi_settlement.adapters import queries
from yidi_settlement.adapters.tables import hospital_secrets, visits
from yidi_settlement.domain.person_ledger import StatedYear
from yidi_settlement.his.auth import Credential


class SqlReads:
    async def hospital(self, unit: Unit, institution_code: str, on: date) -> queries.Hospital:
        return await queries.hospital(unit.conn, institution_code, on)

    async def person(
        self, unit: Unit, person_id: str, on: date, today: date | None = None
    ) -> queries.Person:
        return await queries.person(unit.conn, person_id, on, today)

    async def stated_year(self, unit: Unit, person_id: str, policy_year: int) -> StatedYear:
        return await queries.stated_year(unit.conn, person_id, policy_year)

    async def person_by_certificate(self, unit: Unit, certificate_no: str) -> str | None:
        return await queries.person_by_certificate(unit.conn, certificate_no)

    async def filings(self, unit: Unit, person_id: str) -> list[FilingSnapshot]:
        return await queries.person_filings(unit.conn, person_id)

    async def chronic_certificates(self, unit: Unit, person_id: str) -> list[ChronicCertificate]:
        return await queries.person_chronic_certificates(unit.conn, person_id)

    async def policy(
        self, unit: Unit, insured_region: str, insurance_type: str, on: date
    ) -> BenefitPolicy:
        return await queries.policy(unit.conn, insured_region, insurance_type, on)

    async def catalogue(self, unit: Unit, visit_region: str, codes: Iterable[str]) -> Catalogue:
        return await queries.catalogue(unit.conn, visit_region, codes)

    async def mapped_codes(
        self, unit: Unit, institution_code: str, hospital_codes: Iterable[str]
    ) -> dict[str, str]:
        return await queries.mapped_codes(unit.conn, institution_code, hospital_codes)

    async def settlement(
        self,
        unit: Unit,
        institution_code: str,
        *,
        settlement_id: str | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any] | None:
        return await queries.settlement_row(
            unit.conn,
            institution_code=institution_code,
            settlement_id=settlement_id,
            message_id=message_id,
        )

    async def visit_by_message(
        self, unit: Unit, institution_code: str, message_id: str
    ) -> dict[str, Any] | None:
        row = (
            (
                await unit.conn.execute(
                    sa.select(visits).where(
                        visits.c.institution_code == institution_code,
                        visits.c.message_id == message_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)


@dataclass
class HisCredentials:
    """An institution's gateway credential, read outside any writing unit (before the message
    runs): found by the identity a profile sends, with the secret that profile signs with.

    Kept per process: every request needs one and they change only when the agency registers or
    changes a hospital, which `forget` (called after that unit ends) makes the next request read
    afresh. A secret changed by another process is read afresh when the kept one does not
    verify (his/auth.py), and a kept one changed anywhere is refused when the answering unit
    claims the nonce (`unchanged`, in the same statement)."""

    engine: AsyncEngine
    _known: dict[tuple[str, str, str], Credential] = field(default_factory=dict)

    async def __call__(
        self, identity_column: str, secret_column: str, identity: str, *, fresh: bool = False
    ) -> Credential | None:
        key = (identity_column, secret_column, identity)
        if not fresh and (known := self._known.get(key)) is not None:
            return known
        async with self.engine.connect() as conn:
            found = await queries.credential_of(conn, identity_column, secret_column, identity)
        if found is None:
            # Unknown identities are not kept: a caller must not be able to fill the memory.
            self._known.pop(key, None)
            return None
        credential = Credential(*found)
        self._known[key] = credential
        return credential

    def forget(self) -> None:
        self._known.clear()

    def unchanged(
        self, identity_column: str, secret_column: str, identity: str, secret: str
    ) -> sa.ColumnElement[bool]:
        columns = hospital_secrets.c
        return sa.exists().where(
            columns[identity_column] == identity, columns[secret_column] == secret
        )
