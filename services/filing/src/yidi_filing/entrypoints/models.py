"""Request bodies of the agency API, in domain names (docs/glossary.md). Pydantic checks types
(a malformed body is a 422 naming the field); the business rules are the domain's."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from yidi_events.contracts.filing import (
    AssistanceIdentity,
    EnrolmentStatus,
    FilingKind,
    InsuranceType,
    LongTermType,
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnrolRequest(_Body):
    person_id: str = Field(description="20-character person number")
    insured_region: str = Field(description="the agency's own six-digit region")
    insurance_type: InsuranceType
    person_category: str = Field(description="four-digit code: 1101 in service, 1201 retired...")
    civil_servant: bool = False
    assistance_identities: list[AssistanceIdentity] = []
    name: str
    certificate_type: str = Field("01", description="01 = resident identity card")
    certificate_no: str
    gender: str = Field(description="1 male, 2 female, 0 unknown, 9 unspecified")
    birth_date: date
    card_serial: str | None = None
    account_balance: int = Field(0, description="personal-account balance in fen")
    enrolment_status: EnrolmentStatus = EnrolmentStatus.ACTIVE


class UpdateRequest(_Body):
    insured_region: str | None = None
    insurance_type: InsuranceType | None = None
    person_category: str | None = None
    civil_servant: bool | None = None
    assistance_identities: list[AssistanceIdentity] | None = None
    name: str | None = None
    gender: str | None = None
    birth_date: date | None = None
    card_serial: str | None = None


class ImportRequest(_Body):
    file_format: Literal["csv", "json"]
    content: str = Field(description="the population file (domain or national column names)")


class StatusRequest(_Body):
    enrolment_status: EnrolmentStatus
    effective_from: date
    reason: str


class BalanceRequest(_Body):
    account_balance: int = Field(description="the new balance in fen")
    reason: str


class AmountRequest(_Body):
    amount: int = Field(description="fen, positive")
    reason: str


class LocalSettlementRequest(_Body):
    """A settlement at home, as the fact it is (fen; negative figures: a cancellation)."""

    local_settlement_id: str = Field(min_length=1, description="the local system's settlement id")
    policy_year: int = Field(ge=1900, le=9998)
    settled_on: date
    inpatient_admissions: int = 0
    outpatient_deductible_used: int = 0
    eligible_cum: int = 0
    basic_paid_cum: int = 0
    supplementary_base_cum: int = 0
    supplementary_paid_cum: int = 0
    assistance_paid_cum: int = 0
    outpatient_pooling_paid_cum: int = 0
    account_paid: int = Field(0, description="what the personal account paid, fen")


class LocalSettlementImportRequest(_Body):
    file_format: Literal["csv", "json"]
    content: str = Field(description="local settlements: one per row, the columns of the API body")


class DeathRequest(_Body):
    death_date: date


class SuspendRequest(_Body):
    effective_from: date
    until: date | None = None
    reason: str


class BenefitChangeRequest(_Body):
    effective_from: date
    reason: str


class FilingRequest(_Body):
    """A filing at the agency counter (or, without person_id, online by the person)."""

    kind: FilingKind
    visit_region: str = Field(description="the visit city's six-digit region")
    long_term_type: LongTermType | None = None
    destination_institution: str | None = Field(
        None, description="referral: the one destination hospital (None: whole city if allowed)"
    )
    diagnosis: str | None = Field(None, description="ICD-10 code; required for a referral")
    valid_from: date | None = None
    valid_to: date | None = None
    promise_based: bool = False
    supporting_documents: bool = False
    referral_opinion_from: str | None = Field(
        None, description="institution code of the designated hospital's referral opinion"
    )
    admission_date: date | None = None
    discharge_settled: bool = False
    self_paid_discharge: bool = Field(
        False,
        description="补办 after a discharge the person paid in full: the filing covers that stay "
        "(from admission_date, which it begins on, to discharge_date) and leads to a manual "
        "reimbursement claim (医保发〔2022〕22号 §二(四))",
    )
    discharge_date: date | None = Field(
        None, description="the self-paid discharge's date (only with self_paid_discharge)"
    )


class CounterFilingRequest(FilingRequest):
    person_id: str
    carried_over: bool = Field(
        False, description="an approved filing carried over from the agency's earlier records"
    )


class RejectRequest(_Body):
    reason: str


class ChangeRequest(_Body):
    reason: str
    visit_region: str | None = None
    destination_institution: str | None = None


class CancelRequest(_Body):
    reason: str


class ReferralUploadCommand(BaseModel):
    """`referral.upload`, forwarded by the HIS gateway: a hospital files a referral."""

    person_id: str
    visit_region: str
    destination_institution: str | None = None
    diagnosis: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    insured_region: str | None = None
    insurance_type: str | None = None


class ReferralCancelCommand(BaseModel):
    """`referral.cancel`, forwarded by the HIS gateway: the referring hospital withdraws it."""

    filing_id: str
    person_id: str
    reason: str


# --- chronic and special disease certificates (门诊慢特病备案) -----------------------------------


class ChronicCertifyRequest(_Body):
    disease_code: str = Field(
        description="national chronic/special disease code (门慢门特病种目录代码)"
    )
    disease_name: str
    evidence_institution: str = Field(description="the designated institution that assessed it")
    evidence_institution_name: str = ""
    evidence_date: date = Field(description="the institution's assessment date")
    diagnosing_doctor: str | None = None
    valid_from: date = Field(description="the first day visits for the disease settle")
    valid_to: date | None = Field(None, description="the last day; none: until revoked")


class ChronicCertifyCommand(BaseModel):
    """`chronic.certify`, forwarded by the HIS gateway (2503): a hospital uploads a certificate."""

    person_id: str
    disease_code: str
    disease_name: str
    evidence_institution: str
    evidence_institution_name: str = ""
    evidence_date: date
    diagnosing_doctor: str | None = None
    valid_from: date
    valid_to: date | None = None
    insured_region: str | None = None
    insurance_type: str | None = None


class ChronicRevokeCommand(BaseModel):
    """`chronic.revoke`, forwarded by the HIS gateway (2504): the hospital withdraws its upload."""

    certificate_id: str
    person_id: str
    reason: str


# --- responses ----------------------------------------------------------------------------------
# What the routes answer, as the read models hold it today (adding a field is compatible; taking
# one away or changing its type breaks the console and the provinces' integrations).


class AuditSuspension(BaseModel):
    """A suspension of benefits by an audit case (its own, lifted by that case only)."""

    model_config = ConfigDict(populate_by_name=True)

    case_id: str
    from_: str = Field(alias="from", description="ISO date the suspension starts")
    until: str | None = Field(description="ISO date it ends; none: until the case lifts it")


class PersonView(BaseModel):
    """An insured person as the insured agency holds them."""

    person_id: str = Field(description="20-character person number")
    insured_region: str = Field(description="six-digit insured region")
    insurance_type: str = Field(description="310 employee, 390 resident")
    person_category: str = Field(description="four-digit code: 1101 in service, 1201 retired...")
    civil_servant: bool
    assistance_identities: list[str] = Field(description="dibao, tekun, fanpin")
    name: str
    certificate_type: str = Field(description="01 = resident identity card")
    certificate_no: str
    gender: str = Field(description="1 male, 2 female, 0 unknown, 9 unspecified")
    birth_date: date
    card_serial: str | None
    account_balance: int = Field(description="personal-account balance in fen")
    enrolment_status: str = Field(description="active, suspended, terminated")
    death_date: date | None
    benefits: str = Field(description="active, suspended, terminated (the agency's own decision)")
    benefits_suspended_from: date | None
    benefits_suspended_until: date | None
    audit_suspensions: list[AuditSuspension]
    enrolled_on: date


class Enrolled(BaseModel):
    enrolled: int = Field(description="persons enrolled by the file")


class LocalSettlementsRecorded(BaseModel):
    recorded: int = Field(description="local settlements recorded by the file")


class ChronicUseView(BaseModel):
    """What one chronic disease's settlements used in one cap period (fen)."""

    disease_code: str
    period: str = Field(description="the policy year ('2026') or a month of it ('2026-03')")
    deductible_used: int
    fund_paid: int


class YearTotals(BaseModel):
    """The person-year figures (fen, admissions a count), as the insured place holds them."""

    policy_year: int
    inpatient_admissions: int
    outpatient_deductible_used: int
    eligible_cum: int
    basic_paid_cum: int
    supplementary_base_cum: int
    supplementary_paid_cum: int
    assistance_paid_cum: int
    account_balance: int = Field(description="the year's net change to the account balance")
    outpatient_pooling_paid_cum: int
    chronic: list[ChronicUseView]


class PersonYearView(BaseModel):
    person_id: str
    account_balance: int = Field(description="personal-account balance in fen")
    visit_ledger_counted: int = Field(
        description="how far the visit places' movements are counted in these figures"
    )
    totals: YearTotals


class FilingView(BaseModel):
    """A filing (异地就医备案) and where its review stands."""

    filing_id: str
    person_id: str
    insured_region: str
    kind: str = Field(description="long_term, referral, emergency, other_temporary")
    long_term_type: str | None = Field(
        description="retiree_resettled, long_term_resident, resident_worker"
    )
    visit_region: str
    destination_institution: str | None
    diagnosis: str | None = Field(description="ICD-10 code")
    valid_from: date
    valid_to: date | None
    promise_based: bool
    channel: str = Field(description="counter, online, hospital")
    referral_opinion_from: str | None
    status: str = Field(description="pending, approved, rejected, cancelled")
    submitted_on: date
    review_due: date | None
    review_reasons: list[str] = Field(description="why the filing waits for a reviewer")
    decided_on: date | None
    reviewer: str | None
    decision_reason: str | None
    cancelled_on: date | None


class PolicyView(BaseModel):
    """One published version of the insured place's benefit policy."""

    insured_region: str
    insurance_type: str = Field(description="310 or 390")
    version: int
    effective_from: date
    effective_to: date | None
    document: dict[str, Any] = Field(
        description="the document as published (national keys), its effective_to the current one"
    )
    published_on: date


class Published(BaseModel):
    version: int | None = Field(description="the new version; none: it repeats the current one")
    published: bool


class CertificateView(BaseModel):
    """A chronic or special disease certificate (门诊慢特病备案)."""

    person_id: str
    certificate_id: str
    disease_code: str
    disease_name: str
    valid_from: date
    valid_to: date | None
    channel: str = Field(description="counter, online, hospital")
    submitted_by_institution: str | None
    revoked_on: date | None


# --- the policy document (the agencies' exchange format) ----------------------------------------


class PolicyDocumentIn(BaseModel):
    """A benefit-policy document in the format the agencies exchange (national keys, yuan and
    ratios as text; shared/vectors/settlement.json). The parts are named here for the reader;
    the domain's parser checks each one and names the path at fault (`policy.format`), so the
    parts are not re-checked here, and a part a newer format adds is kept."""

    model_config = ConfigDict(extra="allow")

    insuplc_admdvs: Any = Field(None, description="the insured region, six digits")
    insutype: Any = Field(None, description="310 employee, 390 resident")
    effective_from: Any = Field(None, description="ISO date the version applies from")
    effective_to: Any = Field(None, description="ISO date it ends; null: open")
    deductible: Any = Field(None, description="outpatient_annual and inpatient by level (yuan)")
    basic: Any = Field(None, description="the basic fund's bands and ratios")
    filing_cut_points: Any = Field(None, description="the basic fund's cut per filing kind")
    supplementary: Any = Field(None, description="large-amount layer; null: the place has none")
    civil_servant: Any = Field(None, description="the civil-servant subsidy's ratio")
    assistance: Any = Field(None, description="medical assistance by identity")
    outpatient_pooling: Any = Field(None, description="ordinary outpatient pooling")
    in_province_cut_points: Any = Field(None, description="cut points within the province")
    maternity: Any = Field(None, description="maternity terms")
    other_inpatient: Any = Field(None, description="true or false")
    policy_year_start: Any = Field(None, description="when the policy year starts")
    pharmacy: Any = Field(None, description="designated retail pharmacies' terms")
    chronic_diseases: Any = Field(None, description="chronic and special diseases' terms")
