"""Region codes: six digits; the first two are the province, the first four the city."""

from __future__ import annotations

import re
from enum import StrEnum

_REGION = re.compile(r"^\d{6}$")


class RegionRelation(StrEnum):
    """How a visit place relates to the insured place."""

    LOCAL = "local"  # same city: not cross-region at all
    IN_PROVINCE = "in_province"
    CROSS_PROVINCE = "cross_province"


def validate_region(code: str) -> str:
    if not isinstance(code, str) or not _REGION.match(code):
        raise ValueError(f"{code!r} is not a six-digit region code")
    return code


def province_of(code: str) -> str:
    return validate_region(code)[:2]


def city_of(code: str) -> str:
    return validate_region(code)[:4]


def relation(insured_region: str, visit_region: str) -> RegionRelation:
    if city_of(insured_region) == city_of(visit_region):
        return RegionRelation.LOCAL
    if province_of(insured_region) == province_of(visit_region):
        return RegionRelation.IN_PROVINCE
    return RegionRelation.CROSS_PROVINCE
