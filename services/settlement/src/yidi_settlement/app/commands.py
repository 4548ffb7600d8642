"""The commands and answers of the visit handlers, in domain names (the HIS edge maps to them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from yidi_benefits.engine import SettlementComputation
from yidi_benefits.model import CatalogueEntry, FeeLine
from yidi_events.contracts.settlement import FeeLineSplit
from yidi_settlement.domain.eligibility import Voucher
from yidi_settlement.domain.events import VisitRegistered
from yidi_settlement.domain.visit import AdmissionChange


@dataclass(frozen=True, kw_only=True)
class VisitRef:
    visit_id: str
    person_id: str


@dataclass(frozen=True, kw_only=True)
class Registration:
    person_id: str
    insurance_type: str
    medical_type: str
    began_at: datetime
    voucher: Voucher | None
    emergency: bool
    principal_diagnosis: str | None
    department: str | None
    visit_region: str
    insured_region: str | None
    disease_code: str | None = None  # 病种编码: a chronic visit's disease


@dataclass(frozen=True, kw_only=True)
class Registered:
    visit_id: str
    filing_kind: str


@dataclass(frozen=True, kw_only=True)
class Discharge:
    ref: VisitRef
    discharged_on: date
    died: bool
    principal_diagnosis: str | None


@dataclass(frozen=True, kw_only=True)
class AdmissionUpdate:
    ref: VisitRef
    change: AdmissionChange


@dataclass(frozen=True, kw_only=True)
class SettleRequest:
    ref: VisitRef
    voucher: Voucher | None  # as presented, told back in the answer; the visit names the person
    use_account: bool
    declared_total: int | None
    insurance_type: str | None
    interim: bool = False  # 中途结算: an admission settles a stage before discharge


@dataclass(frozen=True, kw_only=True)
class Purchase:
    """A retail pharmacy purchase (2101/2102): the person at the counter, the drug lines and the
    account use in one message; the purchase is a visit registered, charged and settled at once.
    `registration.medical_type` is 41."""

    registration: Registration
    lines: tuple[FeeLine, ...]
    use_account: bool
    declared_total: int | None


@dataclass(frozen=True, kw_only=True)
class Settlement:
    """A computed settlement; `settlement_id` and the clearing agency are set once recorded."""

    computation: SettlementComputation
    person: dict[str, Any]
    registration: VisitRegistered
    settlement_id: str | None
    clearing_agency: str | None
    clearing_category: str | None
    # A pharmacy purchase: how each drug line was split, with the catalogue entry it was split on
    splits: tuple[tuple[FeeLineSplit, CatalogueEntry | None], ...] = ()


class Reverses(StrEnum):
    """What the message a reversal names did."""

    SETTLEMENT = "settlement"
    REGISTRATION = "registration"
    CANCELLATION = "cancellation"  # a settlement's cancellation: the settlement stands again
    NOTHING = "nothing"  # a read: nothing to undo, the message is only retired


@dataclass(frozen=True, kw_only=True)
class Reversal:
    person_id: str
    original_message_id: str
    original_transaction: str
    reverses: Reverses
