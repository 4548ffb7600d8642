"""The facts audit reasons over: its own view of settlements, cancellations and deaths.

The app layer maps foreign events (settlement, filing) to these types, so the rules never depend on
another service's contract. A person's history is simply the sequence of these facts for one
person, in any order; the rules sort what they need.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from yidi_audit.domain.events import EvidenceSettlement
from yidi_events.kernel import Fen

BED_FEE = "01"  # charge category 床位费

# Medical-type codes (national values, kept as the shared language with agencies).
INPATIENT_TYPES = frozenset({"21", "22", "23", "24", "25", "26", "28", "52", "92"})
OUTPATIENT_TYPES = frozenset({"11", "12", "13", "14", "15", "16", "51", "91"})
PHARMACY_TYPES = frozenset({"41", "93"})


@dataclass(frozen=True, kw_only=True)
class FeeLine:
    catalogue_code: str
    charge_category: str
    fee_date: date
    quantity: Decimal
    unit_price: Decimal  # yuan per unit, exact
    amount: Fen
    fee_line_no: str = ""
    # What the fee review shares the fund money by (domain/fee_review.py); a return (退费) names
    # the line it nets down.
    in_policy: Fen = 0
    returned_line: str | None = None


@dataclass(frozen=True, kw_only=True)
class SettledVisit:
    """One settlement of a visit; for an outpatient or pharmacy visit both dates are its day."""

    event_id: str
    settlement_id: str
    visit_id: str
    person_id: str
    institution_code: str
    visit_region: str
    insured_region: str
    insurance_type: str
    medical_type: str
    admitted_on: date
    discharged_on: date
    settled_on: date
    principal_diagnosis: str
    total_fee: Fen
    fund_total: Fen
    fee_lines: tuple[FeeLine, ...] = ()

    @property
    def is_inpatient(self) -> bool:
        return self.medical_type in INPATIENT_TYPES

    @property
    def is_outpatient_or_pharmacy(self) -> bool:
        return self.medical_type in OUTPATIENT_TYPES or self.medical_type in PHARMACY_TYPES

    def as_evidence(self) -> EvidenceSettlement:
        return EvidenceSettlement(
            event_id=self.event_id,
            settlement_id=self.settlement_id,
            visit_id=self.visit_id,
            institution_code=self.institution_code,
            visit_region=self.visit_region,
            insured_region=self.insured_region,
            insurance_type=self.insurance_type,
            fund_total=self.fund_total,
        )


@dataclass(frozen=True, kw_only=True)
class CancelledSettlement:
    event_id: str
    settlement_id: str
    person_id: str
    cancelled_on: date


@dataclass(frozen=True, kw_only=True)
class PersonDeath:
    event_id: str
    person_id: str
    death_date: date


Fact = SettledVisit | CancelledSettlement | PersonDeath


def live_visits(history: Iterable[Fact]) -> list[SettledVisit]:
    """Settlements not cancelled, in a stable order (cancelled ones are no longer evidence)."""
    facts = list(history)
    cancelled = {f.settlement_id for f in facts if isinstance(f, CancelledSettlement)}
    visits = [f for f in facts if isinstance(f, SettledVisit) and f.settlement_id not in cancelled]
    return sorted(visits, key=lambda v: (v.admitted_on, v.settled_on, v.event_id))


def deaths(history: Sequence[Fact]) -> list[PersonDeath]:
    return sorted(
        (f for f in history if isinstance(f, PersonDeath)), key=lambda d: (d.death_date, d.event_id)
    )


def diagnosis_category(code: str) -> str:
    """ICD-10 three-character category: "C34.900" -> "C34", " c34 " -> "C34"."""
    return code.strip().upper()[:3]
