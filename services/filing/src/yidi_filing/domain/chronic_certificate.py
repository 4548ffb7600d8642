"""Chronic and special disease certificates (门诊慢特病备案) on the person's stream.

The insured place certifies a person for one disease (national code, the designated
institution's assessment, a validity from a stated date); the certificate travels to the visit
place as `filing.ChronicDiseaseCertified`, where a chronic-disease visit (med type 14) for that
disease settles only on a day it covers. A hospital certifies through HIS 2503 and withdraws
through 2504 (its own uploads only); the agency at the counter does both. One person holds at
most one certificate of a disease covering any one day: a second would say nothing new, and a
revocation must leave no other certificate of the disease quietly in force.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from yidi_events.contracts.filing import (
    ChronicDiseaseCertified,
    ChronicDiseaseRevoked,
    FilingChannel,
)
from yidi_events.kernel import Conflict, DomainError, Forbidden, NotFound, business_date

_CODE_MAX = 30  # the national disease code's length in the national interface


@dataclass(frozen=True, kw_only=True)
class ChronicCertificate:
    certificate_id: str
    disease_code: str
    disease_name: str
    valid_from: date
    valid_to: date | None
    channel: FilingChannel
    submitted_by_institution: str | None
    revoked_on: date | None = None

    def covers(self, day: date) -> bool:
        if self.revoked_on is not None and day >= self.revoked_on:
            return False
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def overlaps(self, start: date, end: date | None) -> bool:
        """Whether it is in force on some day from `start` to `end` (None: open)."""
        last = self.valid_to
        if self.revoked_on is not None:
            day_before = date.fromordinal(self.revoked_on.toordinal() - 1)
            last = day_before if last is None else min(last, day_before)
        if last is not None and last < self.valid_from:
            return False  # revoked before it began
        return (end is None or self.valid_from <= end) and (last is None or start <= last)


def chronic_evolve(
    certificates: dict[str, ChronicCertificate],
    event: ChronicDiseaseCertified | ChronicDiseaseRevoked,
) -> dict[str, ChronicCertificate]:
    if isinstance(event, ChronicDiseaseCertified):
        return {
            **certificates,
            event.certificate_id: ChronicCertificate(
                certificate_id=event.certificate_id,
                disease_code=event.disease_code,
                disease_name=event.disease_name,
                valid_from=event.valid_from,
                valid_to=event.valid_to,
                channel=event.channel,
                submitted_by_institution=event.submitted_by_institution,
            ),
        }
    known = certificates.get(event.certificate_id)
    if known is None:
        return certificates
    return {**certificates, event.certificate_id: replace(known, revoked_on=event.revoked_on)}


@dataclass(frozen=True, kw_only=True)
class CertifyChronicDisease:
    certificate_id: str
    person_id: str
    disease_code: str
    disease_name: str
    evidence_institution: str
    evidence_institution_name: str
    evidence_date: date
    diagnosing_doctor: str | None = None
    valid_from: date
    valid_to: date | None = None
    channel: FilingChannel = FilingChannel.COUNTER
    submitted_by_institution: str | None = None


def decide_certify(
    insured_region: str,
    certificates: dict[str, ChronicCertificate],
    command: CertifyChronicDisease,
    now: datetime,
) -> list[ChronicDiseaseCertified]:
    """Certify, or nothing when this very certificate is already recorded (a retried upload)."""
    code = command.disease_code.strip()
    if not code or len(code) > _CODE_MAX or not code.isprintable():
        raise DomainError(
            "chronic.disease_code",
            f"the disease code must be the national chronic-disease code (1 to {_CODE_MAX} "
            f"characters), got {command.disease_code!r}",
            field="disease_code",
        )
    if not command.disease_name.strip():
        raise DomainError(
            "chronic.disease_name", "the disease's name is required", field="disease_name"
        )
    if not command.evidence_institution.strip():
        raise DomainError(
            "chronic.evidence_required",
            "a certificate rests on a designated institution's assessment: name it",
            field="evidence_institution",
        )
    today = business_date(now)
    if command.evidence_date > today:
        raise DomainError(
            "chronic.evidence_date",
            f"the assessment date {command.evidence_date} is in the future",
            field="evidence_date",
        )
    if command.valid_to is not None and command.valid_to < command.valid_from:
        raise DomainError(
            "chronic.validity",
            f"the certificate ends ({command.valid_to}) before it begins ({command.valid_from})",
            field="valid_to",
        )
    if command.certificate_id in certificates:
        return []
    for held in certificates.values():
        if held.disease_code == code and held.overlaps(command.valid_from, command.valid_to):
            raise Conflict(
                "chronic.already_certified",
                f"the person already holds certificate {held.certificate_id} for disease {code} "
                f"from {held.valid_from}; revoke it first",
                field="disease_code",
                values={"certificate_id": held.certificate_id, "disease_code": code},
            )
    return [
        ChronicDiseaseCertified(
            certificate_id=command.certificate_id,
            person_id=command.person_id,
            insured_region=insured_region,
            disease_code=code,
            disease_name=command.disease_name.strip(),
            evidence_institution=command.evidence_institution.strip(),
            evidence_institution_name=command.evidence_institution_name.strip(),
            evidence_date=command.evidence_date,
            diagnosing_doctor=command.diagnosing_doctor,
            valid_from=command.valid_from,
            valid_to=command.valid_to,
            channel=command.channel,
            submitted_by_institution=command.submitted_by_institution,
            certified_on=today,
        )
    ]


def decide_revoke(
    person_id: str,
    certificates: dict[str, ChronicCertificate],
    certificate_id: str,
    reason: str,
    now: datetime,
    *,
    by_institution: str | None = None,
) -> list[ChronicDiseaseRevoked]:
    """Revoke from today; `by_institution`: a hospital (2504), which may withdraw only what it
    uploaded."""
    held = certificates.get(certificate_id)
    if held is None:
        raise NotFound(
            "chronic.not_found",
            f"the person holds no chronic-disease certificate {certificate_id}",
            field="certificate_id",
        )
    if by_institution is not None and held.submitted_by_institution != by_institution:
        raise Forbidden(
            "chronic.hospital_own_only",
            "a hospital may withdraw only the chronic-disease certificates it uploaded",
            field="certificate_id",
        )
    if held.revoked_on is not None:
        return []  # already revoked: a retried withdrawal changes nothing
    if not reason.strip():
        raise DomainError("chronic.reason_required", "a reason is required", field="reason")
    return [
        ChronicDiseaseRevoked(
            certificate_id=certificate_id,
            person_id=person_id,
            disease_code=held.disease_code,
            reason=reason.strip(),
            revoked_on=business_date(now),
        )
    ]
