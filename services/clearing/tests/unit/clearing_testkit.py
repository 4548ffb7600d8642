"""Builders shared by the clearing unit tests; conftest puts this directory on sys.path."""

from __future__ import annotations

from datetime import date
from typing import cast

from yidi_clearing.domain.actors import Actor
from yidi_clearing.domain.inputs import ConfirmedSettlement, Deduction, DeductionKind
from yidi_events.contracts.policy import InsuranceType

NANJING, WUXI, SUZHOU, CENTRE = "320100", "320200", "320500", "320000"
APPROVER = "approver"


def settlement(
    sid: str,
    insured: str = NANJING,
    visit: str = WUXI,
    fund: int = 10_000,
    account: int = 0,
    insurance_type: str = "310",
    day: date = date(2026, 3, 10),
    confirmed_in: str | None = "2026-03",
) -> ConfirmedSettlement:
    return ConfirmedSettlement(
        settlement_id=sid,
        insured_agency=insured,
        visit_agency=visit,
        insurance_type=cast(InsuranceType, insurance_type),  # unchecked: tests feed bad codes
        business_date=day,
        fund_total=fund,
        account_paid=account,
        confirmed_in_month=confirmed_in,
    )


def deduction(
    did: str,
    amount: int,
    kind: DeductionKind = DeductionKind.AUDIT_DEDUCTION,
    insured: str = NANJING,
    visit: str = WUXI,
    insurance_type: str = "310",
    applies_in: str | None = "2026-03",
) -> Deduction:
    return Deduction(
        deduction_id=did,
        kind=kind,
        insured_agency=insured,
        visit_agency=visit,
        insurance_type=cast(InsuranceType, insurance_type),  # unchecked: tests feed bad codes
        amount=amount,
        reason="over-charging",
        case_id=f"case-{did}",
        applies_in_month=applies_in,
    )


def clerk(agency: str, user: str | None = None) -> Actor:
    return Actor(user or f"clerk-{agency}", agency)


def approver(user: str) -> Actor:
    return Actor(user, CENTRE, frozenset({APPROVER}))
