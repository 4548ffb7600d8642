"""What the visit place's agency API answers, in domain names (fen amounts). Modelled on what the
routes return today: adding a field is compatible, taking one away breaks the agencies' clients."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class HospitalView(BaseModel):
    """A designated institution as the visit place registered it (its secrets never shown)."""

    institution_code: str
    institution_name: str
    region: str = Field(description="six-digit region of the visit place")
    hospital_level: str | None = Field(description="1, 2, 3, 1t, 3a; none for a pharmacy")
    networked: bool = Field(description="whether it settles cross-region visits directly")
    suspended: bool
    suspended_until: date | None = Field(description="none: until the agency resumes it")
    clearing_agency: str = Field(description="six-digit region of the agency that pays it")
    kind: str = Field(description="hospital or pharmacy")


class CatalogueItemView(BaseModel):
    """One version of a catalogue item of the visit place (decimals as their text)."""

    visit_region: str
    catalogue_code: str
    effective_from: date
    effective_to: date | None
    name: str
    item_class: str = Field(description="the national item class code")
    self_pay_ratio: str = Field(description="decimal text, 0 to 1")
    price_cap: str | None = Field(description="decimal text in yuan; none: no cap")
    list_type: str


class MappingView(BaseModel):
    """A hospital item mapped to the catalogue."""

    hospital_item_code: str
    catalogue_code: str
    tags: list[str]


class HospitalItemView(MappingView):
    institution_code: str


class Unmapped(BaseModel):
    hospital_item_code: str = Field(description="the mapping withdrawn")


class ChronicUseView(BaseModel):
    """What one chronic disease's settlements used in one cap period (fen)."""

    disease_code: str
    period: str = Field(description="the policy year ('2026') or a month of it ('2026-03')")
    deductible_used: int
    fund_paid: int


class YearFigures(BaseModel):
    """A person's policy-year figures (fen; admissions a count)."""

    policy_year: int
    inpatient_admissions: int
    outpatient_deductible_used: int
    eligible_cum: int = Field(description="in-policy amounts above the deductibles")
    basic_paid_cum: int
    supplementary_base_cum: int
    supplementary_paid_cum: int
    assistance_paid_cum: int
    outpatient_pooling_paid_cum: int
    chronic: list[ChronicUseView]


class PersonYearView(BaseModel):
    person_id: str
    account_balance: int = Field(description="personal-account balance in fen, as settled on here")
    figures: YearFigures
