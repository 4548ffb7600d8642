"""What the visit handlers read beside their streams: the read models of the hospital registry,
the insured places' facts, the catalogue and the service's own settlements, inside the writing unit.
PostgreSQL implements it in adapters/reads.py; a unit test passes a fake."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Protocol

from yidi_benefits.chronic import ChronicCertificate
from yidi_benefits.filings import FilingSnapshot
from yidi_benefits.model import Catalogue
from yidi_events.application import Unit
from yidi_events.contracts.policy import BenefitPolicy
from yidi_settlement.adapters.queries import Hospital, Person
from yidi_settlement.domain.person_ledger import StatedYear


class VisitPlaceReads(Protocol):
    async def hospital(self, unit: Unit, institution_code: str, on: date) -> Hospital: ...

    async def person(
        self, unit: Unit, person_id: str, on: date, today: date | None = None
    ) -> Person:
        """The person on `on`; with `today`, the suspension in force on the request's day too."""
        ...

    async def stated_year(self, unit: Unit, person_id: str, policy_year: int) -> StatedYear:
        """The insured place's latest statement of the person's policy year."""
        ...

    async def person_by_certificate(self, unit: Unit, certificate_no: str) -> str | None: ...

    async def filings(self, unit: Unit, person_id: str) -> list[FilingSnapshot]: ...

    async def chronic_certificates(self, unit: Unit, person_id: str) -> list[ChronicCertificate]:
        """The person's chronic-disease certificates as the insured place published them."""
        ...

    async def policy(
        self, unit: Unit, insured_region: str, insurance_type: str, on: date
    ) -> BenefitPolicy: ...

    async def catalogue(self, unit: Unit, visit_region: str, codes: Iterable[str]) -> Catalogue: ...

    async def mapped_codes(
        self, unit: Unit, institution_code: str, hospital_codes: Iterable[str]
    ) -> dict[str, str]: ...

    async def settlement(
        self,
        unit: Unit,
        institution_code: str,
        *,
        settlement_id: str | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any] | None: ...

    async def visit_by_message(
        self, unit: Unit, institution_code: str, message_id: str
    ) -> dict[str, Any] | None: ...


class HospitalSecrets(Protocol):
    """Kept beside a hospital's events, never in them: its HIS secret and account details."""

    async def set_secret(self, unit: Unit, institution_code: str, secret: str) -> None: ...

    async def set_credentials(
        self, unit: Unit, institution_code: str, credentials: Mapping[str, str]
    ) -> None: ...

    async def set_account(
        self, unit: Unit, institution_code: str, account: dict[str, Any]
    ) -> None: ...
