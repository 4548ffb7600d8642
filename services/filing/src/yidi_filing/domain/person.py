"""The insured person (参保人) at the insured place: enrolment, details, account, death, benefits.

A handler uses it like every decider:

    person = fold(evolve, None, stored_events)          # None: not enrolled yet
    new_events = decide_credit_account(person, 5000, "annual transfer", now)
    append(new_events, expected_version=len(stored_events))

`decide_enrol` also checks the certificate; "one person, one number" across persons is the
handler's unique constraint on `identity.certificate_key` (see identity.py).

After death nothing changes except corrections: details (`decide_update`) and the death date
itself. Benefits have two independent layers: the insured place's own status (suspended,
resumed, terminated) and any number of audit suspensions, each named by its case id.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from yidi_events.application import Aggregate
from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    AssistanceIdentity,
    BenefitSource,
    BenefitsResumed,
    BenefitsSuspended,
    BenefitsTerminated,
    ChronicDiseaseCertified,
    ChronicDiseaseRevoked,
    EnrolmentStatus,
    EnrolmentStatusChanged,
    InsuranceType,
    PersonDied,
    PersonEnrolledV1,
    PersonUpdatedV1,
    PersonYearStated,
)
from yidi_events.contracts.settlement import AccumulatorMovement
from yidi_events.kernel import Conflict, DomainError, Fen, NotFound, business_date
from yidi_filing.domain.chronic_certificate import ChronicCertificate, chronic_evolve
from yidi_filing.domain.enrolment import EnrolPerson, UpdatePerson, validate_enrolment

_T = TypeVar("_T")

PersonEvent = (
    PersonEnrolledV1
    | PersonUpdatedV1
    | EnrolmentStatusChanged
    | AccountBalanceChanged
    | PersonDied
    | BenefitsSuspended
    | BenefitsResumed
    | BenefitsTerminated
    | PersonYearStated
    | ChronicDiseaseCertified
    | ChronicDiseaseRevoked
)


LOCAL_SETTLEMENT = "local_settlement"  # a PersonYearStated source: use at home
VISIT_PLACE = "visit_place"  # a PersonYearStated source: a visit-place ledger movement
REIMBURSEMENT = "reimbursement"  # a PersonYearStated source: an approved manual claim


class BenefitStatus(StrEnum):
    """The insured place's own decision on the person's benefits (待遇状态)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class AuditSuspension:
    case_id: str
    effective_from: date
    until: date | None

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.until is None or day <= self.until)


@dataclass(frozen=True, kw_only=True)
class Person:
    person_id: str
    insured_region: str
    insurance_type: InsuranceType
    person_category: str
    civil_servant: bool
    assistance_identities: tuple[AssistanceIdentity, ...]
    name: str
    certificate_type: str
    certificate_no: str
    gender: str
    birth_date: date
    card_serial: str | None
    account_balance: Fen
    enrolment_status: EnrolmentStatus
    death_date: date | None = None
    benefits: BenefitStatus = BenefitStatus.ACTIVE
    benefits_suspended_from: date | None = None
    benefits_suspended_until: date | None = None
    audit_suspensions: tuple[AuditSuspension, ...] = ()
    ended_audit_cases: frozenset[str] = field(default_factory=frozenset)
    # The person's years and account as the insured place holds them (domain/person_year.py):
    # each policy year's totals, the visit-place ledger counted so far, the local settlements.
    years: dict[int, AccumulatorMovement] = field(default_factory=dict)
    visit_ledger_counted: int = 0
    local_settlements: frozenset[str] = field(default_factory=frozenset)
    claims_counted: frozenset[str] = field(default_factory=frozenset)  # manual claims' ids
    # chronic-disease certificates by certificate id, revoked ones included (domain/chronic.py)
    chronic: dict[str, ChronicCertificate] = field(default_factory=dict)

    @property
    def deceased(self) -> bool:
        return self.death_date is not None


# --- evolve ----------------------------------------------------------------------------------


def evolve(state: Person | None, event: PersonEvent) -> Person | None:
    if isinstance(event, PersonEnrolledV1):
        return Person(
            person_id=event.person_id,
            insured_region=event.insured_region,
            insurance_type=event.insurance_type,
            person_category=event.person_category,
            civil_servant=event.civil_servant,
            assistance_identities=event.assistance_identities,
            name=event.name,
            certificate_type=event.certificate_type,
            certificate_no=event.certificate_no,
            gender=event.gender,
            birth_date=event.birth_date,
            card_serial=event.card_serial,
            account_balance=event.account_balance,
            enrolment_status=event.enrolment_status,
        )
    if state is None:
        return None  # a fact about a person we never enrolled cannot change anything
    if isinstance(event, PersonUpdatedV1):
        return replace(
            state,
            insured_region=event.insured_region,
            insurance_type=event.insurance_type,
            person_category=event.person_category,
            civil_servant=event.civil_servant,
            assistance_identities=event.assistance_identities,
            name=event.name,
            gender=event.gender,
            birth_date=event.birth_date,
            card_serial=event.card_serial,
        )
    if isinstance(event, EnrolmentStatusChanged):
        return replace(state, enrolment_status=event.enrolment_status)
    if isinstance(event, AccountBalanceChanged):
        return replace(
            state,
            account_balance=event.account_balance,
            visit_ledger_counted=max(state.visit_ledger_counted, event.visit_ledger_counted),
        )
    if isinstance(event, PersonYearStated):
        local = {event.reference} if event.source == LOCAL_SETTLEMENT else set()
        claim = {event.reference} if event.source == REIMBURSEMENT else set()
        return replace(
            state,
            years={**state.years, event.policy_year: event.totals},
            visit_ledger_counted=max(state.visit_ledger_counted, event.visit_ledger_counted),
            local_settlements=state.local_settlements | local,
            claims_counted=state.claims_counted | claim,
        )
    if isinstance(event, PersonDied):
        return replace(state, death_date=event.death_date)
    if isinstance(event, BenefitsSuspended):
        if event.source is BenefitSource.AUDIT:
            return _with_audit_suspension(state, event)
        return replace(
            state,
            benefits=BenefitStatus.SUSPENDED,
            benefits_suspended_from=event.effective_from,
            benefits_suspended_until=event.until,
        )
    if isinstance(event, BenefitsResumed):
        if event.source is BenefitSource.AUDIT:
            return replace(
                state,
                audit_suspensions=tuple(
                    s for s in state.audit_suspensions if s.case_id != event.case_id
                ),
                ended_audit_cases=state.ended_audit_cases | {event.case_id or ""},
            )
        return replace(
            state,
            benefits=BenefitStatus.ACTIVE,
            benefits_suspended_from=None,
            benefits_suspended_until=None,
        )
    if isinstance(event, BenefitsTerminated):
        return replace(state, benefits=BenefitStatus.TERMINATED)
    if isinstance(event, ChronicDiseaseCertified | ChronicDiseaseRevoked):
        return replace(state, chronic=chronic_evolve(state.chronic, event))
    return state


def _not_enrolled() -> Person | None:
    return None


PERSON: Aggregate[Person | None] = Aggregate(_not_enrolled, evolve)


def _with_audit_suspension(state: Person, event: BenefitsSuspended) -> Person:
    case_id = event.case_id or ""
    others = tuple(s for s in state.audit_suspensions if s.case_id != case_id)
    suspension = AuditSuspension(case_id, event.effective_from, event.until)
    return replace(state, audit_suspensions=(*others, suspension))


# --- queries ---------------------------------------------------------------------------------


def direct_settlement_allowed(person: Person, day: date) -> bool:
    """Whether the person's own status lets a visit on `day` settle directly (filing aside)."""
    if person.death_date is not None and day > person.death_date:
        return False
    if person.enrolment_status is not EnrolmentStatus.ACTIVE:
        return False
    if person.benefits is BenefitStatus.TERMINATED:
        return False
    if person.benefits is BenefitStatus.SUSPENDED and _in_range(
        day, person.benefits_suspended_from, person.benefits_suspended_until
    ):
        return False
    return not any(s.applies_on(day) for s in person.audit_suspensions)


def _in_range(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or start <= day) and (end is None or day <= end)


# --- decisions -------------------------------------------------------------------------------


def decide_enrol(state: Person | None, command: EnrolPerson, now: datetime) -> list[PersonEvent]:
    if state is not None:
        raise Conflict(
            "person.already_enrolled",
            f"person {command.person_id} is already enrolled",
            field="person_id",
        )
    today = business_date(now)
    cmd = validate_enrolment(command, today)
    events: list[PersonEvent] = [
        PersonEnrolledV1(
            person_id=cmd.person_id,
            insured_region=cmd.insured_region,
            insurance_type=cmd.insurance_type,
            person_category=cmd.person_category,
            civil_servant=cmd.civil_servant,
            assistance_identities=cmd.assistance_identities,
            name=cmd.name,
            certificate_type=cmd.certificate_type,
            certificate_no=cmd.certificate_no,
            gender=cmd.gender,
            birth_date=cmd.birth_date,
            card_serial=cmd.card_serial,
            account_balance=cmd.account_balance,
            enrolment_status=cmd.enrolment_status,
            enrolled_on=today,
        )
    ]
    if cmd.death_date is not None:
        events.append(
            PersonDied(person_id=cmd.person_id, death_date=cmd.death_date, recorded_on=today)
        )
    return events


def decide_update(state: Person | None, command: UpdatePerson, now: datetime) -> list[PersonEvent]:
    """Update or correct details; allowed after death, because records must be correctable."""
    person = enrolled(state)
    today = business_date(now)
    merged = EnrolPerson(
        person_id=person.person_id,
        insured_region=_pick(command.insured_region, person.insured_region),
        insurance_type=_pick(command.insurance_type, person.insurance_type),
        person_category=_pick(command.person_category, person.person_category),
        civil_servant=_pick(command.civil_servant, person.civil_servant),
        assistance_identities=_pick(command.assistance_identities, person.assistance_identities),
        name=_pick(command.name, person.name),
        certificate_type=person.certificate_type,
        certificate_no=person.certificate_no,
        gender=_pick(command.gender, person.gender),
        birth_date=_pick(command.birth_date, person.birth_date),
        card_serial=person.card_serial if command.card_serial is None else command.card_serial,
        account_balance=person.account_balance,
        enrolment_status=person.enrolment_status,
        death_date=person.death_date,
    )
    cmd = validate_enrolment(merged, today)
    updated = PersonUpdatedV1(
        person_id=person.person_id,
        insured_region=cmd.insured_region,
        insurance_type=cmd.insurance_type,
        person_category=cmd.person_category,
        civil_servant=cmd.civil_servant,
        assistance_identities=cmd.assistance_identities,
        name=cmd.name,
        gender=cmd.gender,
        birth_date=cmd.birth_date,
        card_serial=cmd.card_serial,
        updated_on=today,
    )
    if evolve(person, updated) == person:
        return []  # nothing changed: a repeated update is not a new fact
    return [updated]


def decide_change_enrolment_status(
    state: Person | None,
    status: EnrolmentStatus,
    effective_from: date,
    reason: str,
    now: datetime,
) -> list[PersonEvent]:
    person = _alive(state)
    _require_reason(reason)
    if person.enrolment_status is status:
        return []
    if person.enrolment_status is EnrolmentStatus.TERMINATED:
        raise Conflict(
            "person.enrolment_terminated",
            "a terminated enrolment cannot change status; enrol the person again instead",
            field="enrolment_status",
        )
    return [
        EnrolmentStatusChanged(
            person_id=person.person_id,
            enrolment_status=status,
            effective_from=effective_from,
            reason=reason.strip(),
        )
    ]


def decide_set_account_balance(
    state: Person | None, balance: Fen, reason: str, now: datetime
) -> list[PersonEvent]:
    person = _alive(state)
    if balance < 0:
        raise DomainError(
            "person.negative_balance", "an account balance cannot be negative", field="balance"
        )
    return _balance_change(person, balance - person.account_balance, reason, now)


def decide_credit_account(
    state: Person | None, amount: Fen, reason: str, now: datetime
) -> list[PersonEvent]:
    person = _alive(state)
    _require_positive(amount)
    return _balance_change(person, amount, reason, now)


def decide_debit_account(
    state: Person | None, amount: Fen, reason: str, now: datetime
) -> list[PersonEvent]:
    person = _alive(state)
    _require_positive(amount)
    if amount > person.account_balance:
        raise Conflict(
            "person.insufficient_balance",
            f"cannot debit {amount} fen: the account holds only {person.account_balance} fen",
            field="amount",
        )
    return _balance_change(person, -amount, reason, now)


def _balance_change(person: Person, change: Fen, reason: str, now: datetime) -> list[PersonEvent]:
    _require_reason(reason)
    if change == 0:
        return []
    return [
        AccountBalanceChanged(
            person_id=person.person_id,
            account_balance=person.account_balance + change,
            change=change,
            reason=reason.strip(),
            changed_on=business_date(now),
            visit_ledger_counted=person.visit_ledger_counted,
        )
    ]


def decide_record_death(state: Person | None, death_date: date, now: datetime) -> list[PersonEvent]:
    """Record the death, or correct a recorded death date (the one correction death allows)."""
    person = enrolled(state)
    today = business_date(now)
    if death_date > today:
        raise DomainError(
            "person.death_in_future", "a death date cannot be in the future", field="death_date"
        )
    if death_date < person.birth_date:
        raise DomainError(
            "person.death_before_birth",
            "the death date is before the birth date",
            field="death_date",
        )
    if person.death_date == death_date:
        return []
    return [
        PersonDied(
            person_id=person.person_id,
            death_date=death_date,
            recorded_on=today,
            correction=person.death_date is not None,
        )
    ]


def decide_suspend_benefits(
    state: Person | None,
    effective_from: date,
    until: date | None,
    reason: str,
    now: datetime,
) -> list[PersonEvent]:
    """The insured place suspends the person's benefits; a repeat replaces the period."""
    person = _benefits_open(state)
    _require_reason(reason)
    _require_period(effective_from, until)
    return [
        BenefitsSuspended(
            person_id=person.person_id,
            source=BenefitSource.INSURED_PLACE,
            effective_from=effective_from,
            until=until,
            reason=reason.strip(),
            case_id=None,
        )
    ]


def decide_resume_benefits(
    state: Person | None, effective_from: date, reason: str, now: datetime
) -> list[PersonEvent]:
    person = _benefits_open(state)
    _require_reason(reason)
    if person.benefits is not BenefitStatus.SUSPENDED:
        raise Conflict(
            "person.benefits_not_suspended",
            "the person's benefits are not suspended by the insured place",
            field="person_id",
        )
    return [
        BenefitsResumed(
            person_id=person.person_id,
            source=BenefitSource.INSURED_PLACE,
            effective_from=effective_from,
            reason=reason.strip(),
            case_id=None,
        )
    ]


def decide_terminate_benefits(
    state: Person | None, effective_from: date, reason: str, now: datetime
) -> list[PersonEvent]:
    person = _benefits_open(state)
    _require_reason(reason)
    return [
        BenefitsTerminated(
            person_id=person.person_id,
            source=BenefitSource.INSURED_PLACE,
            effective_from=effective_from,
            reason=reason.strip(),
            case_id=None,
        )
    ]


def decide_suspend_by_audit(
    state: Person | None,
    case_id: str,
    effective_from: date,
    until: date | None,
    reason: str,
    now: datetime,
) -> list[PersonEvent]:
    """An audit case suspends direct settlement; the same case again with the same period is a
    no-op, so a redelivered audit fact changes nothing."""
    person = _alive(state)
    case = _require_case(case_id)
    _require_reason(reason)
    _require_period(effective_from, until)
    if AuditSuspension(case, effective_from, until) in person.audit_suspensions:
        return []
    return [
        BenefitsSuspended(
            person_id=person.person_id,
            source=BenefitSource.AUDIT,
            effective_from=effective_from,
            until=until,
            reason=reason.strip(),
            case_id=case,
        )
    ]


def decide_end_audit_suspension(
    state: Person | None, case_id: str, effective_from: date, reason: str, now: datetime
) -> list[PersonEvent]:
    person = enrolled(state)
    case = _require_case(case_id)
    _require_reason(reason)
    if case in person.ended_audit_cases:
        return []
    if all(s.case_id != case for s in person.audit_suspensions):
        raise NotFound(
            "person.audit_suspension_unknown",
            f"audit case {case} has not suspended this person",
            field="case_id",
        )
    return [
        BenefitsResumed(
            person_id=person.person_id,
            source=BenefitSource.AUDIT,
            effective_from=effective_from,
            reason=reason.strip(),
            case_id=case,
        )
    ]


# --- guards ----------------------------------------------------------------------------------


def enrolled(state: Person | None) -> Person:
    if state is None:
        raise NotFound("person.not_enrolled", "no such insured person", field="person_id")
    return state


def _alive(state: Person | None) -> Person:
    person = enrolled(state)
    if person.death_date is not None:
        raise Conflict(
            "person.deceased",
            f"the person died on {person.death_date.isoformat()}; only corrections are accepted",
            field="person_id",
        )
    return person


def _benefits_open(state: Person | None) -> Person:
    person = _alive(state)
    if person.benefits is BenefitStatus.TERMINATED:
        raise Conflict(
            "person.benefits_terminated",
            "the person's benefits are terminated and can no longer change",
            field="person_id",
        )
    return person


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise DomainError("person.reason_required", "a reason is required", field="reason")


def _require_positive(amount: Fen) -> None:
    if amount <= 0:
        raise DomainError(
            "person.amount", "the amount must be a positive number of fen", field="amount"
        )


def _require_period(effective_from: date, until: date | None) -> None:
    if until is not None and until < effective_from:
        raise DomainError(
            "person.suspension_period", "the suspension ends before it begins", field="until"
        )


def _require_case(case_id: str) -> str:
    if not case_id.strip():
        raise DomainError("person.case_required", "an audit case id is required", field="case_id")
    return case_id.strip()


def _pick(value: _T | None, current: _T) -> _T:
    return current if value is None else value
