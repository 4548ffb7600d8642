"""Handlers of the claim workflow, each one unit on the write path (docs/conventions.md).

Intake asks the e-invoice verification service first (over HTTP, outside any transaction: a
slow answer holds no lock), then decides in one unit: a refusal appends nothing, and the claim's
invoices are recorded as claimed (a unique key) in the unit that receives it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from yidi_benefits.model import Catalogue, same_province
from yidi_events.application import Unit, WritePath
from yidi_events.auth.agency import Principal
from yidi_events.contracts.policy import FilingKind
from yidi_events.contracts.reimbursement import ClaimApproved, ClaimReceived
from yidi_events.kernel import Clock, DomainError, Forbidden, NotFound, business_date
from yidi_reimbursement.app.ports import ClaimFacts, InvoiceVerifier
from yidi_reimbursement.domain import claim as model
from yidi_reimbursement.domain import payment
from yidi_reimbursement.domain.computation import PolicyInForce, decide_approve, year_so_far
from yidi_reimbursement.domain.events import BankTransfer
from yidi_reimbursement.domain.terms import ClaimTerms

AGENCY_ROLE = "reimbursement"


@dataclass
class Claims:
    write: WritePath
    facts: ClaimFacts
    verifier: InvoiceVerifier
    terms: ClaimTerms
    catalogue: Catalogue
    clock: Clock

    def now(self) -> datetime:
        return self.clock.now()

    # --- intake ---------------------------------------------------------------------------------

    async def receive(self, principal: Principal, intake: model.Intake) -> ClaimReceived:
        self._may_claim_for(principal, intake)
        # Pure checks first: a claim that cannot stand costs the verification service nothing.
        model.check_intake(intake, business_date(self.now()))
        verifications = await self.verifier.verify(intake.invoices)

        async def work(unit: Unit) -> ClaimReceived:
            person = await self.facts.person(unit, intake.person_id)
            if person is None or person.insured_region != intake.insured_region:
                raise NotFound(
                    "reimbursement.unknown_person",
                    f"no person {intake.person_id} is insured at {intake.insured_region}",
                    field="person_id",
                )
            stream = model.claim_stream(intake.claim_id)
            loaded = await self.write.load(unit, stream, model.CLAIM)
            settled = await self.facts.settled_visits(unit, intake.person_id)
            now = self.now()
            new = model.decide_receive(
                loaded.state,
                intake,
                verifications,
                settled,
                received_by=principal.user_id,
                terms=self.terms,
                now=now,
            )
            await self.write.append(unit, stream, loaded.version, new, day=business_date(now))
            await self.facts.claim_invoices(unit, intake.claim_id, intake.invoices)
            received = new[0]
            assert isinstance(received, ClaimReceived)
            return received

        return await self.write.transact(work)

    def _may_claim_for(self, principal: Principal, intake: model.Intake) -> None:
        if principal.kind == "person":
            if principal.user_id != intake.person_id or intake.channel != "online":
                raise Forbidden(
                    "reimbursement.own_claims_only",
                    "a person claims online for themself only",
                    field="person_id",
                )
            return
        principal.require(AGENCY_ROLE)
        principal.require_region(intake.insured_region)
        if intake.channel != "counter":
            raise DomainError(
                "reimbursement.channel",
                "an agency officer takes claims at the counter",
                field="channel",
            )

    # --- the workflow ---------------------------------------------------------------------------

    async def _claim(self, unit: Unit, principal: Principal, claim_id: str) -> model.Claim:
        loaded = await self.write.load(unit, model.claim_stream(claim_id), model.CLAIM)
        claim = model.existing(loaded.state, claim_id)
        principal.require(AGENCY_ROLE)
        principal.require_region(claim.received.insured_region)
        return claim

    async def check(self, principal: Principal, claim_id: str) -> str:
        """Accept the claim under the filing chosen for it; returns the filing kind."""

        async def work(unit: Unit) -> str:
            claim = await self._claim(unit, principal, claim_id)
            received = claim.received
            filings = await self.facts.filings(unit, received.person_id)
            person = await self.facts.person(unit, received.person_id)
            in_force = (
                None
                if person is None
                else await self.facts.policy(
                    unit, received.insured_region, person.insurance_type, received.discharged_on
                )
            )
            kind = model.filing_kind_for(received, filings, _cuts(received, in_force))
            now = self.now()
            await self.write.decide(
                unit,
                model.claim_stream(claim_id),
                model.CLAIM,
                lambda state: model.decide_check(
                    state,
                    claim_id,
                    filing_kind=kind,
                    officer=principal.user_id,
                    terms=self.terms,
                    now=now,
                ),
                day=business_date(now),
            )
            return kind.value

        return await self.write.transact(work)

    async def refuse(self, principal: Principal, claim_id: str, reason: str) -> None:
        async def work(unit: Unit) -> None:
            await self._claim(unit, principal, claim_id)
            now = self.now()
            await self.write.decide(
                unit,
                model.claim_stream(claim_id),
                model.CLAIM,
                lambda state: model.decide_refuse(
                    state, claim_id, reason=reason, officer=principal.user_id, now=now
                ),
                day=business_date(now),
            )

        await self.write.transact(work)

    async def review(self, principal: Principal, claim_id: str, note: str) -> ClaimApproved | None:
        """One review; the last one needed also approves, computing the claim on the person's
        year as it stands in this unit."""

        async def work(unit: Unit) -> ClaimApproved | None:
            claim = await self._claim(unit, principal, claim_id)
            stream = model.claim_stream(claim_id)
            loaded = await self.write.load(unit, stream, model.CLAIM)
            now = self.now()
            new: list[model.ClaimEvent] = model.decide_review(
                loaded.state, claim_id, reviewer=principal.user_id, note=note, now=now
            )
            approved = None
            if model.reviews_complete(claim, new):
                approved = await self._approve(unit, claim, now)
                new.append(approved)
            await self.write.append(unit, stream, loaded.version, new, day=business_date(now))
            return approved

        return await self.write.transact(work)

    async def _approve(self, unit: Unit, claim: model.Claim, now: datetime) -> ClaimApproved:
        received = claim.received
        person = await self.facts.person(unit, received.person_id)
        if person is None:
            raise NotFound(
                "reimbursement.unknown_person", f"no person {received.person_id}", field="person_id"
            )
        in_force = await self.facts.policy(
            unit, received.insured_region, person.insurance_type, received.discharged_on
        )
        if in_force is None:
            raise DomainError(
                "reimbursement.no_policy",
                f"no {person.insurance_type} policy of {received.insured_region} is in force on "
                f"{received.discharged_on.isoformat()}",
                field="discharged_on",
            )
        year = in_force.policy.policy_year(received.discharged_on)
        stated = await self.facts.stated_year(unit, person.person_id, year)
        uncounted = await self.facts.uncounted_claims(unit, person.person_id, year)
        today = business_date(now)
        return decide_approve(
            claim,
            person=person,
            in_force=in_force,
            catalogue=self.catalogue,
            accumulators=year_so_far(stated, uncounted, year),
            payment_due=self.terms.due(today, self.terms.payment_days),
            now=now,
        )

    # --- payment --------------------------------------------------------------------------------

    async def pay(self, principal: Principal, insured_region: str) -> str:
        """Pay every approved claim of the region in one batch: each claim's ledger movement and
        the batch's bank file, in one unit. Returns the batch id."""
        principal.require(AGENCY_ROLE)
        principal.require_region(insured_region)
        batch_id = uuid.uuid4().hex[:16]

        async def work(unit: Unit) -> str:
            now = self.now()
            transfers: list[BankTransfer] = []
            for claim_id in await self.facts.awaiting_payment(unit, insured_region):
                stream = model.claim_stream(claim_id)
                loaded = await self.write.load(unit, stream, model.CLAIM)
                claim = model.existing(loaded.state, claim_id)
                paid = model.decide_pay(loaded.state, claim_id, batch=batch_id, now=now)
                await self.write.append(unit, stream, loaded.version, paid, day=business_date(now))
                transfers.append(
                    BankTransfer(
                        claim_id=claim_id,
                        person_id=claim.received.person_id,
                        bank_account=claim.received.bank_account,
                        amount=claim.approved.payable if claim.approved else 0,
                    )
                )
            await self.write.decide(
                unit,
                payment.batch_stream(batch_id),
                payment.BATCH,
                lambda state: payment.decide_export(
                    state,
                    batch_id,
                    insured_region=insured_region,
                    transfers=transfers,
                    officer=principal.user_id,
                    now=now,
                ),
                day=business_date(now),
            )
            return batch_id

        return await self.write.transact(work)

    async def region_of(self, person_id: str) -> str:
        """The insured place of a person claiming online: their claim is that agency's."""

        async def work(unit: Unit) -> str:
            person = await self.facts.person(unit, person_id)
            if person is None:
                raise NotFound(
                    "reimbursement.unknown_person", f"no person {person_id}", field="person_id"
                )
            return person.insured_region

        return await self.write.transact(work)

    def new_claim_id(self) -> str:
        return f"RC{business_date(self.now()):%Y%m%d}{uuid.uuid4().hex[:10].upper()}"


def _cuts(
    received: ClaimReceived, in_force: PolicyInForce | None
) -> Mapping[FilingKind, Decimal] | None:
    """The cut points the policy applies to this visit: its in-province ones when it sets them
    and the visit is in the insured place's province."""
    if in_force is None:
        return None
    policy = in_force.policy
    if policy.in_province_cut_points is not None and same_province(
        received.insured_region, received.visit_region
    ):
        return policy.in_province_cut_points
    return policy.filing_cut_points
