"""The insured place's benefit policy (参保地待遇政策): what its funds pay for a cross-region visit.

What `filing.PolicyPublished` carries (amounts in fen, ratios `Decimal`): the filing service owns
and publishes policies, the settlement service applies them by the visit's settlement date. The
JSON document agencies and test vectors write policies in is `yidi_events.policy_document`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from yidi_events.kernel.money import Fen


class InsuranceType(StrEnum):
    EMPLOYEE = "310"  # 职工基本医疗保险
    RESIDENT = "390"  # 城乡居民基本医疗保险


class PersonGroup(StrEnum):
    """Which ratio column of the basic fund applies to a person."""

    IN_SERVICE = "in_service"
    RETIRED = "retired"
    RESIDENT = "resident"


class HospitalLevel(StrEnum):
    ONE = "1"
    TWO = "2"
    THREE = "3"


class FilingKind(StrEnum):
    """The filing a visit settles under, as far as the policy cares (the basic-fund cut points)."""

    LONG_TERM = "long_term"
    REFERRAL = "referral"
    EMERGENCY = "emergency"
    OTHER_TEMPORARY = "other_temporary"


class AssistanceIdentity(StrEnum):
    DIBAO = "dibao"  # 低保
    TEKUN = "tekun"  # 特困
    FANPIN = "fanpin"  # 返贫致贫风险


@dataclass(frozen=True, kw_only=True)
class InpatientDeductible:
    first_admission: Fen
    later_admissions: Fen  # 2nd and later admissions in the policy year


@dataclass(frozen=True, kw_only=True)
class DeductiblePolicy:
    outpatient_annual: Fen
    inpatient: dict[HospitalLevel, InpatientDeductible]


@dataclass(frozen=True, kw_only=True)
class BasicBand:
    """One marginal band of the cumulative eligible amount; `upto` None means unbounded."""

    upto: Fen | None
    ratios: dict[PersonGroup, dict[HospitalLevel, Decimal]]


@dataclass(frozen=True, kw_only=True)
class BasicFundPolicy:
    annual_cap: Fen
    bands: tuple[BasicBand, ...]


@dataclass(frozen=True, kw_only=True)
class SupplementaryBand:
    upto: Fen | None  # on the cumulative supplementary base axis (deductible included)
    ratio: Decimal


@dataclass(frozen=True, kw_only=True)
class SupplementaryPolicy:
    """Large-amount (employees, fund 330100) or critical-illness insurance (residents, 390200)."""

    deductible: Fen
    bands: tuple[SupplementaryBand, ...]
    annual_cap: Fen


@dataclass(frozen=True, kw_only=True)
class CivilServantPolicy:
    ratio: Decimal


@dataclass(frozen=True, kw_only=True)
class AssistancePolicy:
    identities: tuple[AssistanceIdentity, ...]
    ratio: Decimal
    annual_cap: Fen


@dataclass(frozen=True, kw_only=True)
class PolicyYearStart:
    """The day a policy year begins (an employee year from 1 July, students from 1 September)."""

    month: int = 1
    day: int = 1


@dataclass(frozen=True, kw_only=True)
class BenefitPolicy:
    insured_region: str
    insurance_type: InsuranceType
    effective_from: date
    effective_to: date | None
    deductible: DeductiblePolicy
    basic: BasicFundPolicy
    filing_cut_points: dict[FilingKind, Decimal]  # percentage points off the basic-fund ratio
    supplementary: SupplementaryPolicy
    civil_servant: CivilServantPolicy | None
    assistance: AssistancePolicy | None
    policy_year_start: PolicyYearStart = PolicyYearStart()  # the calendar year by default

    def policy_year(self, day: date) -> int:
        """The policy year `day` falls in, named by the calendar year it begins in: a year from
        1 July 2026 to 30 June 2027 is 2026. Every choice of a person's year goes through here."""
        start = self.policy_year_start
        return day.year if (day.month, day.day) >= (start.month, start.day) else day.year - 1

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )
