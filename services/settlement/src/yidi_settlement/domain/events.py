"""The settlement service's own facts: no other service consumes them, so their contracts live
here, not in `yidi_events.contracts.settlement`, and may change with the service alone (compatibly:
its stored events stay readable; schemas in services/settlement/schemas). They are still published
on `yidi.settlement.events`, where consumers without these contracts skip them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from yidi_events.contracts.settlement import AccumulatorMovement, ItemClass
from yidi_events.registry import event


@dataclass(frozen=True, kw_only=True)
class Diagnosis:
    code: str  # ICD-10 as the hospital coded it
    name: str
    principal: bool = False


# --- visits ------------------------------------------------------------------------------------


@event("settlement.VisitRegistered", key="person_id")
@dataclass(frozen=True, kw_only=True)
class VisitRegistered:
    """2201 outpatient registration or 2401 admission."""

    visit_id: str
    person_id: str
    insured_region: str
    visit_region: str
    institution_code: str
    insurance_type: str  # "310" / "390"
    medical_type: str  # "11", "14", "21", "41"...
    began_at: datetime
    emergency: bool = False
    filing_id: str | None = None
    filing_kind: str | None = None  # long_term / referral / emergency / other_temporary
    principal_diagnosis: str | None = None
    department: str | None = None
    message_id: str | None = None
    # 病种编码: the disease-catalogue code the visit is for (a chronic visit's certified disease)
    disease_code: str | None = None


@event("settlement.VisitRegistrationCancelled", key="person_id")
@dataclass(frozen=True, kw_only=True)
class VisitRegistrationCancelled:
    visit_id: str
    person_id: str
    institution_code: str
    cancelled_at: datetime


@event("settlement.VisitDiagnosed", key="person_id")
@dataclass(frozen=True, kw_only=True)
class VisitDiagnosed:
    visit_id: str
    person_id: str
    institution_code: str
    diagnoses: tuple[Diagnosis, ...]
    principal_diagnosis: str | None
    diagnosed_at: datetime
    disease_code: str | None = None  # 病种编码 as the hospital now states it; None: unchanged


@event("settlement.PatientDischarged", key="person_id")
@dataclass(frozen=True, kw_only=True)
class PatientDischarged:
    visit_id: str
    person_id: str
    institution_code: str
    discharged_on: date
    discharged_at: datetime
    principal_diagnosis: str | None = None
    died: bool = False  # discharge by death (离院方式: 死亡)


@event("settlement.AdmissionChanged", key="person_id")
@dataclass(frozen=True, kw_only=True)
class AdmissionChanged:
    """2403: the hospital corrected the admission (its start, medical type, department) and its
    diagnoses; a diagnosis whose sort number exists replaces that one, any other is added."""

    visit_id: str
    person_id: str
    institution_code: str
    began_at: datetime
    medical_type: str
    department: str | None
    principal_diagnosis: str | None
    diagnoses: tuple[Diagnosis, ...]
    changed_at: datetime


@event("settlement.DischargeCancelled", key="person_id")
@dataclass(frozen=True, kw_only=True)
class DischargeCancelled:
    """2405: the discharge is withdrawn; the stay is open again."""

    visit_id: str
    person_id: str
    institution_code: str
    cancelled_at: datetime


@event("settlement.SettlementStaged", key="person_id")
@dataclass(frozen=True, kw_only=True)
class SettlementStaged:
    """Follows the VisitSettled of an interim settlement (中途结算): the stay stays
    open, and its next stage owes only `deductible_left` and counts no second admission."""

    visit_id: str
    person_id: str
    settlement_id: str
    deductible_left: int


@event("settlement.SettlementReinstated", key="person_id")
@dataclass(frozen=True, kw_only=True)
class SettlementReinstated:
    """2601 of a cancellation (2208/2305): the cancelled settlement stands again, on the same
    lines, with the same figures; the published SettlementReversed names the cancellation."""

    visit_id: str
    person_id: str
    institution_code: str
    settlement_id: str  # the settlement that stands again
    cancellation_id: str  # the cancellation undone
    message_id: str
    reinstated_at: datetime


# --- reference data ----------------------------------------------------------------------------


@event("settlement.HospitalRegistered", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalRegistered:
    institution_code: str
    institution_name: str
    region: str
    hospital_level: str  # "1" / "2" / "3"
    networked: bool
    clearing_agency: str
    registered_at: datetime
    registered_by: str | None = None  # the user id (identity store); None before it was kept
    # "hospital" (定点医疗机构) or "pharmacy" (定点零售药店); the kind never changes
    kind: str = "hospital"


@event("settlement.HospitalUpdated", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalUpdated:
    institution_code: str
    institution_name: str
    region: str
    hospital_level: str
    networked: bool
    suspended: bool
    clearing_agency: str
    updated_at: datetime
    suspended_until: date | None = None
    updated_by: str | None = None  # the user id (identity store); None before it was kept


@event("settlement.HospitalCredentialsChanged", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalCredentialsChanged:
    """Who set which of a hospital's HIS secret, gateway credentials or bank account, and when.
    The values themselves are in no event: they stay in the secrets table."""

    institution_code: str
    changed: tuple[str, ...]  # his_secret, tif_paasid, tif_token, csb_access_key, ..., account
    changed_by: str  # the user id (identity store) of the hospital administrator
    changed_at: datetime


@event("settlement.CatalogueItemPublished", key="catalogue_code")
@dataclass(frozen=True, kw_only=True)
class CatalogueItemPublished:
    """One visit-place catalogue entry, effective from a date (就医地目录)."""

    visit_region: str
    catalogue_code: str
    name: str
    item_class: ItemClass
    self_pay_ratio: Decimal
    price_cap: Decimal | None  # yuan per unit
    list_type: str  # "101" drug, "201" service, "301" material...
    effective_from: date
    effective_to: date | None = None


@event("settlement.HospitalItemMapped", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalItemMapped:
    institution_code: str
    hospital_item_code: str
    catalogue_code: str
    mapped_at: datetime
    tags: tuple[str, ...] = field(default_factory=tuple)


# --- retired ------------------------------------------------------------------------------------


@event("settlement.AccumulatorsMoved", key="person_id")
@dataclass(frozen=True, kw_only=True)
class AccumulatorsMoved:
    """Retired: a person-year's figures moved, on the old per-(person, year) streams
    `accumulators-{person}-{year}`. No longer written (the person's ledger holds every movement:
    `settlement.PersonLedgerMoved`); registered so the events stored before stay readable."""

    person_id: str
    policy_year: int
    movement: AccumulatorMovement
    reason: str
    settlement_id: str | None = None
    moved_at: datetime | None = None


@event("settlement.HospitalItemUnmapped", key="institution_code")
@dataclass(frozen=True, kw_only=True)
class HospitalItemUnmapped:
    """3302: the hospital withdrew the mapping of one of its items to the catalogue."""

    institution_code: str
    hospital_item_code: str
    catalogue_code: str
    unmapped_at: datetime


@event("settlement.SettlementListUploaded", key="person_id")
@dataclass(frozen=True, kw_only=True)
class SettlementListUploaded:
    """4101/4101A: the hospital's settlement list (医疗保障基金结算清单) of one settlement of the
    visit. The form is kept as the hospital filed it, for the agency's review: the platform
    decides nothing from its contents."""

    visit_id: str
    person_id: str
    institution_code: str
    settlement_id: str
    list_id: str  # the same for every upload of one settlement's list: a later one replaces it
    form: dict[str, Any]
    uploaded_at: datetime
    message_id: str | None = None
