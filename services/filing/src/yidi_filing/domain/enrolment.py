"""Enrolment commands and their validation, shared by `decide_enrol` and the bulk import.

`validate_enrolment` returns the command in canonical form (trimmed text, canonical certificate
number, de-duplicated identities) or raises the first DomainError it finds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from yidi_events.contracts.filing import AssistanceIdentity, EnrolmentStatus, InsuranceType
from yidi_events.kernel import DomainError, Fen, validate_region
from yidi_filing.domain.identity import (
    RESIDENT_ID,
    resident_id_birth_date,
    resident_id_gender,
    validate_certificate,
)

PERSON_ID_LENGTH = 20
GENDERS = frozenset({"0", "1", "2", "9"})  # national codes: unknown, male, female, unspecified
_MAX_NAME = 100
_MAX_CARD_SERIAL = 50


@dataclass(frozen=True, kw_only=True)
class EnrolPerson:
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
    enrolment_status: EnrolmentStatus = EnrolmentStatus.ACTIVE
    death_date: date | None = None  # a migrated record of someone already dead


@dataclass(frozen=True, kw_only=True)
class UpdatePerson:
    """Details to change; None leaves a detail as it is. The certificate is the person's identity
    key and is not changed here."""

    insured_region: str | None = None
    insurance_type: InsuranceType | None = None
    person_category: str | None = None
    civil_servant: bool | None = None
    assistance_identities: tuple[AssistanceIdentity, ...] | None = None
    name: str | None = None
    gender: str | None = None
    birth_date: date | None = None
    card_serial: str | None = None


def validate_enrolment(command: EnrolPerson, today: date) -> EnrolPerson:
    person_id = command.person_id.strip()
    if len(person_id) != PERSON_ID_LENGTH or not person_id.isalnum():
        raise DomainError(
            "person.id_format",
            f"a person id has exactly {PERSON_ID_LENGTH} letters or digits",
            field="person_id",
        )
    name = command.name.strip()
    if not name or len(name) > _MAX_NAME:
        raise DomainError(
            "person.name", f"the name must have 1 to {_MAX_NAME} characters", field="name"
        )
    try:
        region = validate_region(command.insured_region)
    except ValueError:
        raise DomainError(
            "person.insured_region",
            f"{command.insured_region!r} is not a six-digit region code",
            field="insured_region",
        ) from None
    category = command.person_category.strip()
    if len(category) != 4 or not category.isdigit():
        raise DomainError(
            "person.category",
            "the person category is a four-digit code such as 1101 (in service) or 1201 (retired)",
            field="person_category",
        )
    if command.civil_servant and command.insurance_type is not InsuranceType.EMPLOYEE:
        raise DomainError(
            "person.civil_servant_resident",
            "the civil-servant subsidy exists only for employee basic insurance (310)",
            field="civil_servant",
        )
    if command.gender not in GENDERS:
        raise DomainError(
            "person.gender",
            "gender is a national code: 1 male, 2 female, 0 unknown, 9 unspecified",
            field="gender",
        )
    if command.birth_date > today:
        raise DomainError(
            "person.birth_date", "the birth date cannot be in the future", field="birth_date"
        )
    certificate_type = command.certificate_type.strip()
    certificate_no = validate_certificate(certificate_type, command.certificate_no)
    if certificate_type == RESIDENT_ID:
        _check_resident_id_matches(certificate_no, command.birth_date, command.gender)
    if command.account_balance < 0:
        raise DomainError(
            "person.negative_balance",
            "an account balance cannot be negative",
            field="account_balance",
        )
    card = None if command.card_serial is None else command.card_serial.strip() or None
    if card is not None and len(card) > _MAX_CARD_SERIAL:
        raise DomainError(
            "person.card_serial",
            f"a card serial has at most {_MAX_CARD_SERIAL} characters",
            field="card_serial",
        )
    if command.death_date is not None and not command.birth_date <= command.death_date <= today:
        raise DomainError(
            "person.death_date",
            "the death date must lie between the birth date and today",
            field="death_date",
        )
    return replace(
        command,
        person_id=person_id,
        name=name,
        insured_region=region,
        person_category=category,
        certificate_type=certificate_type,
        certificate_no=certificate_no,
        card_serial=card,
        assistance_identities=tuple(dict.fromkeys(command.assistance_identities)),
    )


def _check_resident_id_matches(certificate_no: str, birth_date: date, gender: str) -> None:
    # The resident ID encodes birth date and sex; a mismatch means one of them was mistyped.
    if resident_id_birth_date(certificate_no) != birth_date:
        raise DomainError(
            "person.certificate_mismatch",
            "the birth date differs from the one in the resident ID number",
            field="birth_date",
        )
    if gender in ("1", "2") and resident_id_gender(certificate_no) != gender:
        raise DomainError(
            "person.certificate_mismatch",
            "the gender differs from the one the resident ID number encodes",
            field="gender",
        )
