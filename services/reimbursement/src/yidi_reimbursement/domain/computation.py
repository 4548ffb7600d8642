"""A claim computed by the shared benefit engine (`yidi_benefits`), as a direct settlement would
have been: the insured place's policy in force on the discharge day, the person's year so far,
and the catalogue the insured place names for manual claims.

Which catalogue: the insured place's manual-claim catalogue is configuration of this service
(`YIDI_REIMBURSEMENT_CATALOGUE_FILE`, a JSON object of catalogue code -> item class, self-pay
ratio, price cap; the sandbox's is the catalogue its visit cities use). A claim is made at home
on the home place's rules, and the policy document carries no catalogue, so the simplest honest
source is a catalogue the agency configures; a code missing from it is fully self-paid, as at
any counter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from yidi_benefits.accumulators import Accumulators
from yidi_benefits.engine import SettlementComputation, compute_settlement
from yidi_benefits.model import (
    Catalogue,
    CatalogueEntry,
    FeeLine,
    PersonAtSettlement,
    VisitFacts,
    same_province,
)
from yidi_events.contracts.policy import (
    AssistanceIdentity,
    BenefitPolicy,
    FilingKind,
    HospitalLevel,
)
from yidi_events.contracts.reimbursement import ClaimApproved
from yidi_events.contracts.settlement import AccumulatorMovement, ItemClass
from yidi_events.kernel import DomainError, Fen, business_date
from yidi_reimbursement.domain.claim import Claim, Step


@dataclass(frozen=True, kw_only=True)
class InsuredPerson:
    """What filing told us of the person (PersonEnrolled/Updated, AccountBalanceChanged)."""

    person_id: str
    insured_region: str
    insurance_type: str
    person_category: str
    civil_servant: bool
    assistance_identities: frozenset[AssistanceIdentity]
    account_balance: Fen


@dataclass(frozen=True, kw_only=True)
class PolicyInForce:
    version: int
    policy: BenefitPolicy


def year_so_far(
    stated: AccumulatorMovement | None, uncounted: list[AccumulatorMovement], policy_year: int
) -> Accumulators:
    """The person's year as filing last stated it plus this service's approved claims of that
    year filing has not yet counted: each claim is in one or the other, never both."""
    total = stated or AccumulatorMovement.zero(policy_year)
    for movement in uncounted:
        total = total.plus(movement)
    return Accumulators(policy_year=policy_year).moved(total)


def compute_claim(
    claim: Claim,
    *,
    person: InsuredPerson,
    policy: BenefitPolicy,
    catalogue: Catalogue,
    accumulators: Accumulators,
) -> SettlementComputation:
    received = claim.received
    assert claim.filing_kind is not None
    lines = [
        FeeLine(
            fee_line_no=line.line_no,
            catalogue_code=line.catalogue_code,
            quantity=Decimal(line.quantity),
            unit_price=Decimal(line.unit_price),
            amount=line.amount,
            fee_date=line.fee_date,
        )
        for line in received.fee_lines
    ]
    return compute_settlement(
        policy=policy,
        catalogue=catalogue,
        person=PersonAtSettlement(
            person_category=person.person_category,
            civil_servant=person.civil_servant,
            assistance_identities=person.assistance_identities,
            account_balance=person.account_balance,
        ),
        visit=VisitFacts(
            hospital_level=HospitalLevel(received.hospital_level),
            medical_type=received.medical_type,
            filing_kind=FilingKind(claim.filing_kind),
            use_account=received.use_account,
            settled_on=received.discharged_on,
            in_province=same_province(received.insured_region, received.visit_region),
        ),
        fee_lines=lines,
        accumulators=accumulators,
    )


def decide_approve(
    claim: Claim,
    *,
    person: InsuredPerson,
    in_force: PolicyInForce,
    catalogue: Catalogue,
    accumulators: Accumulators,
    payment_due: date,
    now: datetime,
) -> ClaimApproved:
    """The approval of a claim whose reviews are complete: what the funds and the account pay
    goes to the person's bank account (they paid the hospital in full)."""
    if claim.step is not Step.CHECKED:
        raise DomainError(
            "reimbursement.step", "only an accepted claim is approved", field="claim_id"
        )
    result = compute_claim(
        claim, person=person, policy=in_force.policy, catalogue=catalogue, accumulators=accumulators
    )
    payable = result.totals.fund_total + result.totals.account_paid
    return ClaimApproved(
        claim_id=claim.received.claim_id,
        person_id=person.person_id,
        insured_region=person.insured_region,
        insurance_type=person.insurance_type,
        policy_year=accumulators.policy_year,
        policy_version=in_force.version,
        totals=result.totals,
        fund_payments=result.fund_payments,
        movement=result.movement,
        payable=payable,
        approved_on=business_date(now),
        payment_due=payment_due,
        approved_at=now,
    )


def parse_catalogue(document: Mapping[str, Any]) -> Catalogue:
    """`{"XA001": {"item_class": "A", "self_pay_ratio": "0.10", "price_cap": "50.00"}, ...}`:
    item class A/B/C (甲/乙/丙), the class-B self-pay ratio, a price cap in yuan or null."""
    entries: dict[str, CatalogueEntry] = {}
    classes = {"A": ItemClass.A, "B": ItemClass.B, "C": ItemClass.C}
    for code, raw in document.items():
        item_class = classes.get(str(raw.get("item_class")))
        if item_class is None:
            raise DomainError(
                "reimbursement.catalogue",
                f"catalogue entry {code}: item_class must be A, B or C",
                field="item_class",
            )
        cap = raw.get("price_cap")
        entries[code] = CatalogueEntry(
            catalogue_code=code,
            item_class=item_class,
            self_pay_ratio=Decimal(str(raw.get("self_pay_ratio", "0"))),
            price_cap=None if cap is None else Decimal(str(cap)),
        )
    return Catalogue.undated(entries)


def load_catalogue(path: Path) -> Catalogue:
    return parse_catalogue(json.loads(path.read_text(encoding="utf-8")))
