"""The filing facts other services consume, published on `yidi.filing.events` (persons' identity
alone on `yidi.filing.identity`: see `PersonIdentified`).

Each fact is a frozen dataclass registered with `@event("filing.<PastTense>", key=...)`; money in
fen (int), ratios as Decimal, dates as `date`. Names follow docs/glossary.md, never the national
field names.

Person and filing facts are keyed by `person_id`, so one person's history stays ordered on one
partition; policy facts are keyed by `insured_region`. Facts that describe a whole thing
(`PersonEnrolled`, `PersonUpdated`, `FilingApproved`, `FilingChanged`) carry all of it, so a
consumer's projection can replace its row instead of merging partial updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from yidi_events.contracts.policy import (
    AssistanceIdentity,
    BenefitPolicy,
    BenefitPolicyV1,
    FilingKind,
    InsuranceType,
)
from yidi_events.contracts.settlement import AccumulatorMovement
from yidi_events.kernel.money import Fen
from yidi_events.registry import event, upcaster, withholds

__all__ = [
    "AccountBalanceChanged",
    "AssistanceIdentity",
    "BenefitSource",
    "BenefitsResumed",
    "BenefitsSuspended",
    "BenefitsTerminated",
    "ChronicDiseaseCertified",
    "ChronicDiseaseRevoked",
    "EnrolmentStatus",
    "EnrolmentStatusChanged",
    "FilingApproved",
    "FilingCancelled",
    "FilingChanged",
    "FilingChannel",
    "FilingKind",
    "FilingRejected",
    "InsuranceType",
    "LongTermType",
    "PersonDied",
    "PersonEnrolled",
    "PersonEnrolledV1",
    "PersonIdentified",
    "PersonUpdated",
    "PersonUpdatedV1",
    "PersonYearStated",
    "PolicyPublished",
]


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"  # 正常参保
    SUSPENDED = "suspended"  # 暂停参保
    TERMINATED = "terminated"  # 终止参保


class BenefitSource(StrEnum):
    """Who changed a person's benefits: the insured place's agency, or an audit case."""

    INSURED_PLACE = "insured_place"
    AUDIT = "audit"


class LongTermType(StrEnum):
    RETIREE_RESETTLED = "retiree_resettled"  # 异地安置退休
    LONG_TERM_RESIDENT = "long_term_resident"  # 异地长期居住
    RESIDENT_WORKER = "resident_worker"  # 常驻异地工作/学习


class FilingChannel(StrEnum):
    ONLINE = "online"  # the person, through the national app or mini-program
    HOSPITAL = "hospital"  # a designated hospital's referral upload (2501)
    COUNTER = "counter"  # the agency's counter


# --- persons ---------------------------------------------------------------------------------


# Identity (name, certificate, card serial, birth date, gender) is withheld from
# `yidi.filing.events`: only settlement needs it (1101 answers, identity vouchers). Filing stores
# v1 of PersonEnrolled/PersonUpdated, with identity, because its own aggregate and projections need
# it; the relay publishes v2 (without) on the events topic and `PersonIdentified` (person id plus
# identity) on `yidi.filing.identity`, which only settlement may read (docs/integration.md).
IDENTITY_FIELDS = (
    "name",
    "certificate_type",
    "certificate_no",
    "gender",
    "birth_date",
    "card_serial",
)


@event("filing.PersonEnrolled", key="person_id")
@dataclass(frozen=True, kw_only=True)
class PersonEnrolledV1:
    """A person enrolled, as filing stores it (with identity); never on a topic since v2."""

    person_id: str
    insured_region: str
    insurance_type: InsuranceType
    person_category: str
    civil_servant: bool
    assistance_identities: tuple[AssistanceIdentity, ...]
    name: str
    certificate_type: str
    certificate_no: str  # canonical form (upper-case X)
    gender: str
    birth_date: date
    card_serial: str | None
    account_balance: Fen
    enrolment_status: EnrolmentStatus
    enrolled_on: date


@event("filing.PersonUpdated", key="person_id")
@dataclass(frozen=True, kw_only=True)
class PersonUpdatedV1:
    """The person's details after an update or correction (the whole set, not a diff), as filing
    stores them (with identity); never on a topic since v2."""

    person_id: str
    insured_region: str
    insurance_type: InsuranceType
    person_category: str
    civil_servant: bool
    assistance_identities: tuple[AssistanceIdentity, ...]
    name: str
    gender: str
    birth_date: date
    card_serial: str | None
    updated_on: date


def _without_identity(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in IDENTITY_FIELDS}


@upcaster("filing.PersonEnrolled", from_version=1)
def _enrolled_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return _without_identity(payload)


@upcaster("filing.PersonUpdated", from_version=1)
def _updated_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return _without_identity(payload)


@event("filing.PersonEnrolled", key="person_id", version=2)
@dataclass(frozen=True, kw_only=True)
class PersonEnrolled:
    """A person enrolled. Version 2: without identity (see `PersonIdentified`)."""

    person_id: str
    insured_region: str
    insurance_type: InsuranceType
    person_category: str
    civil_servant: bool
    assistance_identities: tuple[AssistanceIdentity, ...]
    account_balance: Fen
    enrolment_status: EnrolmentStatus
    enrolled_on: date


@event("filing.PersonUpdated", key="person_id", version=2)
@dataclass(frozen=True, kw_only=True)
class PersonUpdated:
    """The person's details after an update or correction (the whole set, not a diff).
    Version 2: without identity (see `PersonIdentified`)."""

    person_id: str
    insured_region: str
    insurance_type: InsuranceType
    person_category: str
    civil_servant: bool
    assistance_identities: tuple[AssistanceIdentity, ...]
    updated_on: date


@event("filing.PersonIdentified", key="person_id", channel="identity")
@dataclass(frozen=True, kw_only=True)
class PersonIdentified:
    """Who a person is, published on `yidi.filing.identity` only, beside each PersonEnrolled and
    PersonUpdated. The certificate is stated at enrolment and never changes: after an update it
    is absent (the one already stated stands)."""

    person_id: str
    name: str
    certificate_type: str | None
    certificate_no: str | None  # canonical form (upper-case X)
    gender: str
    birth_date: date
    card_serial: str | None


@withholds("filing.PersonEnrolled", 1)
def _enrolled_identity(p: PersonEnrolledV1) -> PersonIdentified:
    return PersonIdentified(
        person_id=p.person_id,
        name=p.name,
        certificate_type=p.certificate_type,
        certificate_no=p.certificate_no,
        gender=p.gender,
        birth_date=p.birth_date,
        card_serial=p.card_serial,
    )


@withholds("filing.PersonUpdated", 1)
def _updated_identity(p: PersonUpdatedV1) -> PersonIdentified:
    return PersonIdentified(
        person_id=p.person_id,
        name=p.name,
        certificate_type=None,
        certificate_no=None,
        gender=p.gender,
        birth_date=p.birth_date,
        card_serial=p.card_serial,
    )


@event("filing.EnrolmentStatusChanged", key="person_id")
@dataclass(frozen=True, kw_only=True)
class EnrolmentStatusChanged:
    person_id: str
    enrolment_status: EnrolmentStatus
    effective_from: date
    reason: str


@event("filing.AccountBalanceChanged", key="person_id")
@dataclass(frozen=True, kw_only=True)
class AccountBalanceChanged:
    """One movement of the personal account, and the balance it leaves: the insured place's
    truth. `visit_ledger_counted` is the highest visit-place ledger sequence
    (`settlement.PersonLedgerMoved.sequence`) the balance includes: the visit place adds its own
    account movements past it, and no others."""

    person_id: str
    account_balance: Fen  # the balance after this movement
    change: Fen  # signed: credit positive, debit negative
    reason: str
    changed_on: date
    visit_ledger_counted: int = 0


@event("filing.PersonYearStated", key="person_id")
@dataclass(frozen=True, kw_only=True)
class PersonYearStated:
    """The person's policy year as the insured place holds it after one movement: a local
    settlement at home, or a visit-place ledger movement it counted.

    `totals` is the sum of every movement of the year (its `account_balance`: the net account
    movement of the year's settlements); `visit_ledger_counted` is the highest visit-place ledger
    sequence counted so far, in any year: the visit place adds its own movements of this year past
    it, and no others.
    """

    person_id: str
    policy_year: int
    totals: AccumulatorMovement
    change: AccumulatorMovement
    source: str  # "local_settlement" / "visit_place"
    reference: str  # the local settlement's id, or the visit-place settlement id
    visit_ledger_counted: int
    stated_on: date


@event("filing.PersonDied", key="person_id")
@dataclass(frozen=True, kw_only=True)
class PersonDied:
    person_id: str
    death_date: date
    recorded_on: date
    correction: bool = False  # True when it corrects an earlier recorded death date


@event("filing.BenefitsSuspended", key="person_id")
@dataclass(frozen=True, kw_only=True)
class BenefitsSuspended:
    """Direct settlement is suspended from `effective_from` to `until` inclusive (None: open)."""

    person_id: str
    source: BenefitSource
    effective_from: date
    until: date | None
    reason: str
    case_id: str | None  # the audit case, for source=audit


@event("filing.BenefitsResumed", key="person_id")
@dataclass(frozen=True, kw_only=True)
class BenefitsResumed:
    person_id: str
    source: BenefitSource
    effective_from: date
    reason: str
    case_id: str | None


@event("filing.BenefitsTerminated", key="person_id")
@dataclass(frozen=True, kw_only=True)
class BenefitsTerminated:
    person_id: str
    source: BenefitSource
    effective_from: date
    reason: str
    case_id: str | None


# --- filings ---------------------------------------------------------------------------------


@event("filing.FilingApproved", key="person_id")
@dataclass(frozen=True, kw_only=True)
class FilingApproved:
    filing_id: str
    person_id: str
    kind: FilingKind
    long_term_type: LongTermType | None
    insured_region: str
    visit_region: str
    destination_institution: str | None
    diagnosis: str | None
    valid_from: date
    valid_to: date | None
    promise_based: bool
    channel: FilingChannel
    approved_on: date
    reviewer: str | None  # None: approved by the rules on submission


@event("filing.FilingRejected", key="person_id")
@dataclass(frozen=True, kw_only=True)
class FilingRejected:
    filing_id: str
    person_id: str
    reviewer: str
    reason: str
    rejected_on: date


@event("filing.FilingChanged", key="person_id")
@dataclass(frozen=True, kw_only=True)
class FilingChanged:
    """The filing as it stands after a change of residence city or a re-referral."""

    filing_id: str
    person_id: str
    kind: FilingKind
    long_term_type: LongTermType | None
    insured_region: str
    visit_region: str
    destination_institution: str | None
    diagnosis: str | None
    valid_from: date
    valid_to: date | None
    promise_based: bool
    channel: FilingChannel
    changed_on: date
    reason: str


@event("filing.FilingCancelled", key="person_id")
@dataclass(frozen=True, kw_only=True)
class FilingCancelled:
    """No admission beginning on or after `cancelled_on` is covered by this filing."""

    filing_id: str
    person_id: str
    cancelled_on: date
    reason: str


# --- chronic and special diseases (门诊慢特病) ---------------------------------------------------


@event("filing.ChronicDiseaseCertified", key="person_id")
@dataclass(frozen=True, kw_only=True)
class ChronicDiseaseCertified:
    """The insured place certified the person for one chronic or special disease (national
    disease code, 门慢门特病种目录代码): a chronic-disease visit (med type 14) for it settles on a day
    from `valid_from` to `valid_to` (None: until revoked)."""

    certificate_id: str
    person_id: str
    insured_region: str
    disease_code: str
    disease_name: str
    evidence_institution: str  # the designated institution whose assessment (鉴定) it rests on
    evidence_institution_name: str
    evidence_date: date
    diagnosing_doctor: str | None
    valid_from: date
    valid_to: date | None
    channel: FilingChannel  # counter (agency API) or hospital (HIS 2503)
    submitted_by_institution: str | None  # the hospital that uploaded it (2503)
    certified_on: date


@event("filing.ChronicDiseaseRevoked", key="person_id")
@dataclass(frozen=True, kw_only=True)
class ChronicDiseaseRevoked:
    """No chronic-disease visit on or after `revoked_on` settles under this certificate."""

    certificate_id: str
    person_id: str
    disease_code: str
    reason: str
    revoked_on: date


# --- benefit policies ------------------------------------------------------------------------


@event("filing.PolicyPublished", key="insured_region", version=1)
@dataclass(frozen=True, kw_only=True)
class PolicyPublishedV1:
    """Version 1: its policy always had a supplementary layer (read as version 2)."""

    insured_region: str
    insurance_type: InsuranceType
    version: int  # 1, 2, ... per (insured_region, insurance_type)
    effective_from: date
    policy: BenefitPolicyV1
    superseded_version: int | None
    superseded_effective_to: date | None
    published_on: date


@upcaster("filing.PolicyPublished", from_version=1)
def _policy_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # Every v1 policy is a valid v2 policy: v2 only allows a null supplementary layer.
    return payload


@event("filing.PolicyPublished", key="insured_region", version=2)
@dataclass(frozen=True, kw_only=True)
class PolicyPublished:
    """A policy version; the one before it (if any) now ends the day before this one starts.

    Version 2: a policy may have no supplementary layer (`policy.supplementary` null)."""

    insured_region: str
    insurance_type: InsuranceType
    version: int  # 1, 2, ... per (insured_region, insurance_type)
    effective_from: date
    policy: BenefitPolicy
    superseded_version: int | None
    superseded_effective_to: date | None
    published_on: date
