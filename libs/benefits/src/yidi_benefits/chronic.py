"""Whether a chronic-disease visit (med type 14) may settle for its disease: the insured place must
have certified the person for that disease on the visit's day (DOMAIN.md sections 1 and 2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from yidi_events.kernel import DomainError


@dataclass(frozen=True, kw_only=True)
class ChronicCertificate:
    """A certificate as the insured place published it (filing.ChronicDiseaseCertified/Revoked)."""

    certificate_id: str
    disease_code: str
    valid_from: date
    valid_to: date | None
    revoked_on: date | None = None
    disease_name: str = ""

    def covers(self, day: date) -> bool:
        if self.revoked_on is not None and day >= self.revoked_on:
            return False
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def certified_disease(
    disease_code: str | None, certificates: Iterable[ChronicCertificate], visit_day: date
) -> str:
    """The disease the visit settles for; refuses a visit that names none, or one the person is
    not certified for on `visit_day` (never certified, not yet in force, ended or revoked)."""
    if disease_code is None:
        raise DomainError(
            "settlement.chronic_disease_required",
            "a chronic-disease visit (med type 14) settles for one disease: name its code "
            "(registration or visit information)",
            field="disease_code",
        )
    held = [c for c in certificates if c.disease_code == disease_code]
    if not any(c.covers(visit_day) for c in held):
        raise DomainError(
            "settlement.chronic_not_certified",
            f"the person is not certified for chronic disease {disease_code} on {visit_day}",
            field="disease_code",
            values={"disease_code": disease_code, "visit_date": visit_day.isoformat()},
        )
    return disease_code


def in_force(certificates: Iterable[ChronicCertificate], day: date) -> list[ChronicCertificate]:
    """The certificates a visit on `day` may settle under (5301: the person's current ones)."""
    return sorted(
        (c for c in certificates if c.covers(day)), key=lambda c: (c.disease_code, c.valid_from)
    )
