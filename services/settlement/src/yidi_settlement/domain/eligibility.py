"""May this visit settle directly? (DOMAIN.md section 2, first paragraph.)

The inputs are snapshots a projection of filing and audit events fills (PersonSnapshot,
yidi_benefits' FilingSnapshot) and the hospital registry (HospitalSnapshot). A handler calls
`check_eligibility` at registration and again at settlement; it returns the filing the visit
settles under, or raises a DomainError whose rule says which condition failed.

Filings are snapshots of versions: a change (re-referral, new residence) takes effect from its
date, so an admission that began before it settles under the version it began under, at the first
hospital too. Of several filings covering a visit the choice never depends on the order they come
in (DOMAIN.md section 1): an emergency settles at the emergency level, otherwise the filing whose
basic-fund cut is smallest (yidi_benefits.filings, shared with manual reimbursement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from yidi_benefits.filings import FilingSnapshot, in_force, most_favourable
from yidi_events.contracts.policy import FilingKind
from yidi_events.kernel import DomainError, RegionRelation, relation


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


@dataclass(frozen=True, kw_only=True)
class PersonSnapshot:
    person_id: str
    insured_region: str
    certificate_no: str
    enrolment_status: EnrolmentStatus = EnrolmentStatus.ACTIVE
    direct_settlement_suspended_until: date | None = None  # an audit decision
    # The last day of a suspension in force on the day of the request (a settlement of a visit
    # begun before it): a suspension stops direct settlement at once (seed 003 §七).
    direct_settlement_suspended_today: date | None = None
    death_date: date | None = None


@dataclass(frozen=True, kw_only=True)
class HospitalSnapshot:
    institution_code: str
    region: str
    networked: bool
    suspended: bool = False
    suspended_departments: frozenset[str] = frozenset()  # audit sanctions on one department


@dataclass(frozen=True, kw_only=True)
class Eligibility:
    filing_kind: FilingKind
    filing_id: str | None  # None: an emergency settling before its filing is completed


@dataclass(frozen=True, kw_only=True)
class Voucher:
    """What the patient presents: 01 e-voucher, 02 ID card, 03 social-security card."""

    voucher_type: str
    voucher_no: str
    card_serial: str | None = None


def check_card(voucher: Voucher, card_serial: str | None) -> None:
    """A social-security card must be the person's own card (人卡相符)."""
    if voucher.voucher_type == "03" and voucher.card_serial != card_serial:
        raise _refuse(
            "identity_mismatch",
            "the social-security card serial (card_serial) does not match the person's card "
            "(人卡不符)",
            "card_serial",
        )


def check_voucher(voucher: Voucher) -> None:
    """Only a voucher this platform can verify binds a visit to a person (1101, 2201, 2401).

    An e-voucher (01) is a short-lived token the national e-voucher centre issues to the person's
    app; no such centre is reachable here, so 01 cannot be verified and is refused, and so is
    the person number or certificate number sent as if it were one (the bare person number that used to
    answer a name, an ID number and a balance to anyone who knew it)."""
    if voucher.voucher_type == "01":
        raise _refuse(
            "voucher_e_token",
            "an e-voucher (01) must be a token of the e-voucher centre, which this platform "
            "cannot verify; a person number or certificate number is not a voucher: present the "
            "ID card (02) or the social-security card with its card serial (03)",
            "voucher_no",
        )


def certificate_presented(voucher: Voucher, *, card_serial: str | None) -> str:
    """The certificate number the voucher presents, for `check_eligibility` to compare with the
    person's: an ID card (02) is its number, a social-security card (03) carries the same number
    and must be the person's own card (its card serial)."""
    check_voucher(voucher)
    check_card(voucher, card_serial)
    return voucher.voucher_no.upper()


def _refuse(rule: str, message: str, field: str, **values: str) -> DomainError:
    return DomainError(f"eligibility.{rule}", message, field=field, values=values)


def check_eligibility(
    *,
    person: PersonSnapshot,
    filings: Iterable[FilingSnapshot],
    hospital: HospitalSnapshot,
    visit_date: date,
    emergency: bool,
    certificate_no: str | None = None,
    cut_points: Mapping[FilingKind, Decimal] | None = None,
    department: str | None = None,
) -> Eligibility:
    """`visit_date` is the admission (or outpatient) date: a filing valid then still settles later,
    under its version of that day. `cut_points` are the insured place's policy's, to choose the
    most favourable of several filings. `department`: the department the visit is registered
    under; a sanction on it refuses the visit, the hospital's other departments settle."""
    if not hospital.networked:
        raise _refuse(
            "hospital_not_networked",
            f"hospital {hospital.institution_code} is not networked for cross-region settlement",
            "institution_code",
            institution=hospital.institution_code,
        )
    if hospital.suspended:
        raise _refuse(
            "hospital_suspended",
            f"direct settlement at hospital {hospital.institution_code} is suspended",
            "institution_code",
            institution=hospital.institution_code,
        )
    if department is not None and department in hospital.suspended_departments:
        raise _refuse(
            "department_suspended",
            f"direct settlement of department {department} at hospital "
            f"{hospital.institution_code} is suspended",
            "department",
            institution=hospital.institution_code,
            department=department,
        )
    if relation(person.insured_region, hospital.region) is RegionRelation.LOCAL:
        raise _refuse(
            "local_visit",
            f"the person is insured in {person.insured_region} and the hospital is in the same "
            "city: settle it as a local visit, not cross-region",
            "institution_code",
            insured_region=person.insured_region,
        )
    if certificate_no is not None and certificate_no != person.certificate_no:
        raise _refuse(
            "identity_mismatch",
            "the certificate presented does not match the insured person (人卡不符)",
            "certificate_no",
        )
    if person.death_date is not None and person.death_date < visit_date:
        raise _refuse(
            "person_deceased",
            f"the person's death was recorded on {person.death_date}, before the visit",
            "person_id",
            death_date=person.death_date.isoformat(),
        )
    if person.enrolment_status is EnrolmentStatus.TERMINATED:
        raise _refuse("benefits_terminated", "the person's benefits are terminated", "person_id")
    if person.enrolment_status is EnrolmentStatus.SUSPENDED:
        raise _refuse("benefits_suspended", "the person's benefits are suspended", "person_id")
    until = person.direct_settlement_suspended_until
    if until is None or visit_date > until:
        until = person.direct_settlement_suspended_today
    if until is not None:
        raise _refuse(
            "direct_settlement_suspended",
            f"direct settlement for this person is suspended until {until}",
            "person_id",
            until=until.isoformat(),
        )
    covering = [
        f
        for f in in_force(filings, visit_date)
        if f.covers(
            visit_region=hospital.region,
            institution_code=hospital.institution_code,
            began=visit_date,
        )
    ]
    if emergency:
        # The emergency level whatever else the person holds; its own filing if completed.
        own = most_favourable((f for f in covering if f.kind is FilingKind.EMERGENCY), None)
        return Eligibility(
            filing_kind=FilingKind.EMERGENCY, filing_id=None if own is None else own.filing_id
        )
    chosen = most_favourable(covering, cut_points)
    if chosen is not None:
        return Eligibility(filing_kind=chosen.kind, filing_id=chosen.filing_id)
    raise _refuse(
        "no_filing",
        f"no approved filing covers {hospital.region[:4]}xx (hospital "
        f"{hospital.institution_code}) on {visit_date}; file first, or register as an emergency",
        "person_id",
        region=hospital.region,
        institution=hospital.institution_code,
        date=visit_date.isoformat(),
    )
