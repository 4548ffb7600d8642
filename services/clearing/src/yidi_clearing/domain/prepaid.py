"""The optional prepaid fund (预付金): its size and the warning when a month's clearing uses it up.

Size: `months_of_q4_average` (2) x the monthly average of last year's Q4 clearing amounts, rounded
half up to the fen once. Usage = the month's clearing amount / the fund; yellow at >= 70%, red at
>= 90%. Thresholds are compared exactly (no rounded ratio decides a boundary).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from yidi_clearing.domain.events import PrepaidFundWarningRaised
from yidi_clearing.domain.period import parse_period
from yidi_clearing.domain.settings import PrepaidFundSettings
from yidi_events.kernel import DomainError, round_half_up


class WarningLevel(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


def prepaid_fund_amount(
    q4_monthly_amounts: tuple[int, int, int], settings: PrepaidFundSettings
) -> int:
    """Fund size from last year's October, November and December clearing amounts (fen)."""
    if len(q4_monthly_amounts) != 3 or any(a < 0 for a in q4_monthly_amounts):
        raise DomainError(
            "clearing.q4_amounts",
            "the prepaid fund needs three non-negative Q4 monthly amounts",
            field="q4_monthly_amounts",
        )
    average = Decimal(sum(q4_monthly_amounts)) / 3
    return round_half_up(average * settings.months_of_q4_average)


def usage(clearing_amount: int, fund_amount: int) -> Decimal:
    """Clearing amount / fund, 4 places, for display."""
    if fund_amount <= 0:
        raise DomainError(
            "clearing.prepaid_fund_empty", "the prepaid fund must be positive", field="fund_amount"
        )
    return (Decimal(clearing_amount) / Decimal(fund_amount)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )


def warning_level(
    clearing_amount: int, fund_amount: int, settings: PrepaidFundSettings
) -> WarningLevel:
    usage(clearing_amount, fund_amount)  # validates the fund
    if Decimal(clearing_amount) >= settings.red_at * fund_amount:
        return WarningLevel.RED
    if Decimal(clearing_amount) >= settings.yellow_at * fund_amount:
        return WarningLevel.YELLOW
    return WarningLevel.GREEN


def decide_prepaid_warning(
    *,
    period: str,
    fund_id: str,
    fund_amount: int,
    clearing_amount: int,
    settings: PrepaidFundSettings,
    today: date,
) -> list[Any]:
    """A warning event when the month's clearing reaches yellow or red; nothing when green."""
    parse_period(period)
    level = warning_level(clearing_amount, fund_amount, settings)
    if level == WarningLevel.GREEN:
        return []
    return [
        PrepaidFundWarningRaised(
            period=period,
            fund_id=fund_id,
            fund_amount=fund_amount,
            clearing_amount=clearing_amount,
            usage=usage(clearing_amount, fund_amount),
            level=str(level),
            raised_on=today,
        )
    ]
