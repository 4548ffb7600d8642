"""Value types the benefit engine reads: fee lines, catalogue entries, the person, the visit.

Settlement's HIS edge maps national wire fields into these; a reimbursement claim maps its
detail list; projections of filing events fill the person's figures. Everything here is immutable and I/O-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from yidi_events.contracts.policy import AssistanceIdentity, FilingKind, HospitalLevel, PersonGroup
from yidi_events.contracts.settlement import ItemClass
from yidi_events.kernel import DomainError, Fen

# Person category codes by their first two digits.
_GROUP_BY_PREFIX = {
    "11": PersonGroup.IN_SERVICE,
    "12": PersonGroup.RETIRED,
    "13": PersonGroup.RETIRED,
    "14": PersonGroup.RESIDENT,
    "15": PersonGroup.RESIDENT,
}

# Inpatient medical types are the national 2x family (21 ordinary, 22 injury, 24 via emergency...)
# plus the admissions settled by their own terms: maternity (52) and other inpatient (92).
_INPATIENT_PREFIX = "2"
MATERNITY_ADMISSION = "52"
OTHER_INPATIENT = "92"
ORDINARY_OUTPATIENT = "11"
PHARMACY_PURCHASE = "41"  # a retail pharmacy purchase (2101/2102)
CHRONIC_OUTPATIENT = "14"  # 门诊慢特病: one certified disease per settlement


def person_group(person_category: str) -> PersonGroup:
    """The basic-fund ratio column of a person category code: 11xx, 12xx/13xx, 14xx/15xx."""
    group = _GROUP_BY_PREFIX.get(person_category[:2]) if len(person_category) == 4 else None
    if group is None or not person_category.isdigit():
        raise DomainError(
            "settlement.person_category",
            f"person category {person_category!r} is not a known category "
            "(11xx in service, 12xx/13xx retired, 14xx/15xx resident)",
            field="person_category",
        )
    return group


def same_province(region: str, other: str) -> bool:
    """Two region codes in one province (the first two digits of an administrative code)."""
    return region[:2] == other[:2]


def is_inpatient(medical_type: str) -> bool:
    """An admission: registered by 2401, discharged by 2402, settled by 2304."""
    return medical_type.startswith(_INPATIENT_PREFIX) or medical_type in (
        MATERNITY_ADMISSION,
        OTHER_INPATIENT,
    )


@dataclass(frozen=True, kw_only=True)
class CatalogueEntry:
    """A visit-place catalogue item (就医地目录) as it applies on the fee date."""

    catalogue_code: str
    item_class: ItemClass
    self_pay_ratio: Decimal
    price_cap: Decimal | None  # yuan per unit
    list_type: str = ""


@dataclass(frozen=True, kw_only=True)
class CatalogueVersion:
    entry: CatalogueEntry
    effective_from: date
    effective_to: date | None = None  # inclusive; None: until a later version


@dataclass(frozen=True)
class Catalogue:
    """The published versions of some catalogue codes, side by side by effective date."""

    versions: Mapping[str, tuple[CatalogueVersion, ...]]

    @classmethod
    def undated(cls, entries: Mapping[str, CatalogueEntry]) -> Catalogue:
        """Entries in force on every day (the shared vectors carry no catalogue dates)."""
        return cls(
            {
                code: (CatalogueVersion(entry=e, effective_from=date.min),)
                for code, e in entries.items()
            }
        )

    def entry(self, catalogue_code: str, day: date) -> CatalogueEntry | None:
        """The entry in force on `day`: of the versions covering it, the latest published one;
        None: the code is not in the catalogue that day."""
        covering = [
            v
            for v in self.versions.get(catalogue_code, ())
            if v.effective_from <= day and (v.effective_to is None or day <= v.effective_to)
        ]
        return max(covering, key=lambda v: v.effective_from).entry if covering else None


@dataclass(frozen=True, kw_only=True)
class FeeLine:
    fee_line_no: str
    catalogue_code: str
    quantity: Decimal
    unit_price: Decimal  # yuan
    amount: Fen
    charge_category: str | None = None
    fee_date: date | None = None
    hospital_item_code: str | None = None
    charge_batch: str | None = None  # 收费批次: what 2205 cancels together
    returned_line: str | None = None  # a return (退费, negative) names the line it returns


@dataclass(frozen=True, kw_only=True)
class PersonAtSettlement:
    """What the insured place told us about the person, as it stands at settlement."""

    person_category: str
    civil_servant: bool = False
    assistance_identities: frozenset[AssistanceIdentity] = field(default_factory=frozenset)
    account_balance: Fen = 0


@dataclass(frozen=True, kw_only=True)
class VisitFacts:
    """The visit as the engine needs it."""

    hospital_level: HospitalLevel
    medical_type: str
    filing_kind: FilingKind
    use_account: bool
    settled_on: date  # chooses the policy year (a New Year admission: the discharge day)
    # A later stage of a stay settled in stages (中途结算): the deductible the stay still owes
    # (its first stage fixed it and counted the admission). None: the first or only settlement.
    stay_deductible_left: Fen | None = None
    # The hospital lies in the insured place's province: a policy may cut less there.
    in_province: bool = False
    # A chronic-disease visit (14): the national disease code it settles for (门慢门特病种).
    chronic_disease: str | None = None
