"""What the claim handlers read besides their streams, and the e-invoice verification service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from yidi_benefits.filings import FilingSnapshot
from yidi_events.application import Unit
from yidi_events.contracts.reimbursement import ClaimInvoice
from yidi_events.contracts.settlement import AccumulatorMovement
from yidi_reimbursement.domain.claim import SettledVisit
from yidi_reimbursement.domain.computation import InsuredPerson, PolicyInForce
from yidi_reimbursement.domain.verification import Verification


class ClaimFacts(Protocol):
    async def settled_visits(self, unit: Unit, person_id: str) -> list[SettledVisit]: ...

    async def claim_invoices(
        self, unit: Unit, claim_id: str, invoices: tuple[ClaimInvoice, ...]
    ) -> None:
        """Record the invoices as claimed; Conflict when one was claimed before."""

    async def filings(self, unit: Unit, person_id: str) -> list[FilingSnapshot]: ...

    async def person(self, unit: Unit, person_id: str) -> InsuredPerson | None: ...

    async def policy(
        self, unit: Unit, insured_region: str, insurance_type: str, on: date
    ) -> PolicyInForce | None: ...

    async def stated_year(
        self, unit: Unit, person_id: str, policy_year: int
    ) -> AccumulatorMovement | None: ...

    async def uncounted_claims(
        self, unit: Unit, person_id: str, policy_year: int
    ) -> list[AccumulatorMovement]: ...

    async def awaiting_payment(self, unit: Unit, insured_region: str) -> list[str]: ...


class InvoiceVerifier(Protocol):
    async def verify(self, invoices: Sequence[ClaimInvoice]) -> list[Verification]: ...
