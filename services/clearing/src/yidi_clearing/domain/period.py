"""Clearing periods: a period is the month being cleared ("YYYY-MM"); its work happens in M+1."""

from __future__ import annotations

import re
from datetime import date

from yidi_events.kernel import DomainError

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(text: str, *, field: str = "period") -> tuple[int, int]:
    """(year, month) of a "YYYY-MM" period; anything else is refused."""
    match = _PERIOD.match(text) if isinstance(text, str) else None
    if match is None:
        raise DomainError(
            "clearing.period_invalid", f"{text!r} is not a month like 2026-03", field=field
        )
    return int(match.group(1)), int(match.group(2))


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_period(period: str) -> str:
    year, month = parse_period(period)
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


def add_months(period: str, months: int) -> str:
    """The period `months` after `period` (0 is itself)."""
    year, month = parse_period(period)
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def last_day(period: str) -> date:
    """The last calendar day of the period (the day before the first day of the next one)."""
    year, month = parse_period(next_period(period))
    return date.fromordinal(date(year, month, 1).toordinal() - 1)
