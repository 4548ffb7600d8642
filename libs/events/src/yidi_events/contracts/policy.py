"""The insured place's benefit policy (参保地待遇政策): what its funds pay for a cross-region visit.

What `filing.PolicyPublished` carries (amounts in fen, ratios `Decimal`): the filing service owns
and publishes policies, the settlement service applies them by the visit's settlement date. The
JSON document agencies and test vectors write policies in is `yidi_events.policy_document`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from yidi_events.kernel.money import Fen

_T = TypeVar("_T")


class InsuranceType(StrEnum):
    EMPLOYEE = "310"  # 职工基本医疗保险
    RESIDENT = "390"  # 城乡居民基本医疗保险


class PersonGroup(StrEnum):
    """Which ratio column of the basic fund applies to a person."""

    IN_SERVICE = "in_service"
    RETIRED = "retired"
    RESIDENT = "resident"


class HospitalLevel(StrEnum):
    """The level a policy prices a hospital at. Every policy prices 1, 2 and 3; a policy may price
    a township health centre (乡镇卫生院) apart from 一级 and a 三甲 apart from 三级."""

    ONE = "1"
    TWO = "2"
    THREE = "3"
    TOWNSHIP = "1t"  # 乡镇卫生院
    THREE_A = "3a"  # 三级甲等

    @property
    def base(self) -> HospitalLevel:
        """The level a policy that does not price this one apart uses instead."""
        return _BASE_LEVEL.get(self, self)


_BASE_LEVEL = {
    HospitalLevel.TOWNSHIP: HospitalLevel.ONE,
    HospitalLevel.THREE_A: HospitalLevel.THREE,
}
BASE_LEVELS = (HospitalLevel.ONE, HospitalLevel.TWO, HospitalLevel.THREE)


def at_level(values: Mapping[HospitalLevel, _T], level: HospitalLevel) -> _T:
    """A per-level figure of a policy: the level's own, else its base level's (every policy has
    the three base levels)."""
    return values[level] if level in values else values[level.base]


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


class SupplementaryBase(StrEnum):
    """The cumulative axis the supplementary layer's deductible and bands lie on."""

    # the in-policy personal share (in-policy amount minus the basic fund), deductible included
    PERSONAL_SHARE = "personal_share"
    # the eligible amount above the basic deductibles (the basic fund's own band axis): with the
    # deductible set where the basic cap is reached (cap / ratio), the layer pays above that cap
    ELIGIBLE_AMOUNT = "eligible_amount"


@dataclass(frozen=True, kw_only=True)
class SupplementaryTilt:
    """The critical-illness tilt (倾斜) for the poor: for a person holding one of `identities`,
    its own deductible, `extra_points` added to every band's ratio (never above 1), and the cap
    lifted or replaced (`cap_lifted`: no cap; else `annual_cap`, None: the layer's own)."""

    identities: tuple[AssistanceIdentity, ...]
    deductible: Fen
    extra_points: Decimal = Decimal(0)
    annual_cap: Fen | None = None
    cap_lifted: bool = False


@dataclass(frozen=True, kw_only=True)
class SupplementaryPolicy:
    """Large-amount (employees, fund 330100) or critical-illness insurance (residents, 390200)."""

    deductible: Fen
    bands: tuple[SupplementaryBand, ...]
    annual_cap: Fen
    base: SupplementaryBase = SupplementaryBase.PERSONAL_SHARE
    tilt: SupplementaryTilt | None = None


@dataclass(frozen=True, kw_only=True)
class CivilServantPolicy:
    ratio: Decimal


@dataclass(frozen=True, kw_only=True)
class AssistanceTerms:
    ratio: Decimal
    annual_cap: Fen


@dataclass(frozen=True, kw_only=True)
class AssistancePolicy:
    """Medical assistance: `identities` in order of precedence (the first a person holds decides
    their terms); an identity in `by_identity` has its own ratio and cap, the others `ratio` and
    `annual_cap`."""

    identities: tuple[AssistanceIdentity, ...]
    ratio: Decimal
    annual_cap: Fen
    by_identity: dict[AssistanceIdentity, AssistanceTerms] = field(default_factory=dict)

    def terms_for(self, held: frozenset[AssistanceIdentity]) -> AssistanceTerms | None:
        """The terms of the first identity in the policy's order the person holds; None: none."""
        for identity in self.identities:
            if identity in held:
                default = AssistanceTerms(ratio=self.ratio, annual_cap=self.annual_cap)
                return self.by_identity.get(identity, default)
        return None


@dataclass(frozen=True, kw_only=True)
class OutpatientPoolingPolicy:
    """Ordinary outpatient pooling (门诊统筹, med type 11): its own annual deductible, ratio by
    hospital level and annual cap, apart from the inpatient ones. Paid by the basic fund."""

    deductible: Fen
    ratios: dict[HospitalLevel, Decimal]
    annual_cap: Fen


@dataclass(frozen=True, kw_only=True)
class PharmacyPolicy:
    """Retail pharmacy purchases (购药, med type 41) pooled by outpatient pooling: its deductible
    and annual cap, at the policy's own pharmacy `ratio`, or else at the outpatient pooling ratio
    of `level` (the prescribing institution's level: the 2102 purchase does not carry it, so the
    policy states the level it prices purchases at). Exactly one of the two is set. A policy
    without this part pays a purchase from the personal account and cash only."""

    ratio: Decimal | None = None
    level: HospitalLevel | None = None


@dataclass(frozen=True, kw_only=True)
class MaternityPolicy:
    """Maternity admissions (生育住院, med type 52): the maternity fund pays the in-policy amount
    up to the limit of the hospital's level; the rest is the person's."""

    limits: dict[HospitalLevel, Fen]


class ChronicPeriod(StrEnum):
    """The period a chronic disease's cap counts over."""

    MONTH = "month"
    YEAR = "year"  # the policy year


@dataclass(frozen=True, kw_only=True)
class ChronicDiseaseTerms:
    """One chronic or special disease's outpatient terms (门诊慢特病, med type 14; 医保办发
    〔2024〕19号): paid by the basic fund, for a person certified for the disease only, one
    disease per settlement. The deductible is per policy year and disease; the cap counts the
    fund's payments for this disease over `cap_period` (None: no cap, which is not "not set").
    `shares_inpatient_deductible`: the disease has no deductible of its own; the person pays the
    level's first-admission inpatient deductible once in the year, across stays and these visits
    (an admission already counted this year means it is paid)."""

    name: str
    deductible: Fen
    ratios: dict[HospitalLevel, Decimal]
    cap: Fen | None
    cap_period: ChronicPeriod = ChronicPeriod.YEAR
    shares_inpatient_deductible: bool = False

    def period_of(self, day: date, policy_year: int) -> str:
        """The cap period `day` falls in: the policy year ('2026') or its month ('2026-03')."""
        if self.cap_period is ChronicPeriod.MONTH:
            return f"{day.year:04d}-{day.month:02d}"
        return f"{policy_year:04d}"


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
    supplementary: SupplementaryPolicy | None  # None: the place has no such layer
    civil_servant: CivilServantPolicy | None
    assistance: AssistancePolicy | None
    policy_year_start: PolicyYearStart = PolicyYearStart()  # the calendar year by default
    # Set: ordinary outpatient visits (11) settle by outpatient pooling; None: as the inpatient
    # basic fund (policies written before pooling was modelled).
    outpatient_pooling: OutpatientPoolingPolicy | None = None
    # Set: a visit inside the insured province takes these cuts instead of `filing_cut_points`.
    in_province_cut_points: dict[FilingKind, Decimal] | None = None
    maternity: MaternityPolicy | None = None  # None: maternity admissions (52) are not covered
    # Other inpatient admissions (92) settle with the inpatient parameters when True.
    other_inpatient: bool = False
    # Set: pharmacy purchases (41) are pooled by outpatient pooling; None: account and cash only.
    pharmacy: PharmacyPolicy | None = None
    # Chronic and special diseases (14) by national disease code (门慢门特病种); a disease the
    # policy does not name is not paid as one.
    chronic_diseases: dict[str, ChronicDiseaseTerms] = field(default_factory=dict)

    def policy_year(self, day: date) -> int:
        """The policy year `day` falls in, named by the calendar year it begins in: a year from
        1 July 2026 to 30 June 2027 is 2026. Every choice of a person's year goes through here."""
        start = self.policy_year_start
        return day.year if (day.month, day.day) >= (start.month, start.day) else day.year - 1

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


@dataclass(frozen=True, kw_only=True)
class BenefitPolicyV1(BenefitPolicy):
    """A policy as `filing.PolicyPublished` v1 carried it: always with a supplementary layer."""

    supplementary: SupplementaryPolicy
