"""The visit handlers' reads (app/ports.py) on PostgreSQL, through the writing unit's connection."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.application import Unit
from yidi_events.contracts.policy import BenefitPolicy
from yidi_settlement.adapters import queries
from yidi_settlement.adapters.tables import visits
from yidi_settlement.domain.chronic import ChronicCertificate
from yidi_settlement.domain.eligibility import FilingSnapshot
from yidi_settlement.domain.model import Catalogue
from yidi_settlement.domain.person_ledger import StatedYear
from yidi_settlement.his.auth import Credential


class SqlReads:
    async def hospital(self, unit: Unit, institution_code: str, on: date) -> queries.Hospital:
        return await queries.hospital(unit.conn, institution_code, on)

    async def person(self, unit: Unit, person_id: str, on: date) -> queries.Person:
        return await queries.person(unit.conn, person_id, on)

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
    runs): found by the identity a profile sends, with the secret that profile signs with."""

    engine: AsyncEngine

    async def __call__(
        self, identity_column: str, secret_column: str, identity: str
    ) -> Credential | None:
        async with self.engine.connect() as conn:
            found = await queries.credential_of(conn, identity_column, secret_column, identity)
        return None if found is None else Credential(*found)
