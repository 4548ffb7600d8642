"""Builders for audit facts: a default cross-region visit, overridden per test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import count
from typing import Any

import pytest

from yidi_audit.domain.facts import FeeLine, SettledVisit

_ids = count(1)

VisitFactory = Callable[..., SettledVisit]


def _visit(**overrides: Any) -> SettledVisit:
    n = next(_ids)
    base = SettledVisit(
        event_id=f"ev-{n}",
        settlement_id=f"S{n}",
        visit_id=f"V{n}",
        person_id="32050000000000000001",
        institution_code="H32010000001",
        visit_region="320100",
        insured_region="320500",
        insurance_type="310",
        medical_type="21",
        admitted_on=date(2026, 3, 1),
        discharged_on=date(2026, 3, 10),
        settled_on=date(2026, 3, 10),
        principal_diagnosis="C34.900",
        total_fee=1_000_000,
        fund_total=700_000,
    )
    if "admitted_on" in overrides and "discharged_on" not in overrides:
        overrides["discharged_on"] = overrides["admitted_on"]
    if "settled_on" not in overrides:
        overrides["settled_on"] = overrides.get("discharged_on", base.discharged_on)
    return replace(base, **overrides)


@pytest.fixture
def visit() -> VisitFactory:
    return _visit


def line(
    day: date,
    *,
    code: str = "X001",
    category: str = "05",
    qty: str = "1",
    price: str = "10.00",
    amount: int = 1000,
) -> FeeLine:
    return FeeLine(
        catalogue_code=code,
        charge_category=category,
        fee_date=day,
        quantity=Decimal(qty),
        unit_price=Decimal(price),
        amount=amount,
    )


@pytest.fixture
def fee_line() -> Callable[..., FeeLine]:
    return line
