"""Month close: every day of a month must be closed by both agencies by the 3rd of the next month.

A read-side handler keeps a `DayProgress` per day statement (`progress_of(state)` after each
event) and asks `late_days(progresses, as_of)` for the operators' overdue list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from yidi_reconciliation.domain.day_statement import DayId, DayStatement
from yidi_reconciliation.domain.records import DEFAULT_SETTINGS, ReconciliationSettings


@dataclass(frozen=True)
class DayProgress:
    day: DayId
    closed: bool


def progress_of(state: DayStatement) -> DayProgress | None:
    return None if state.day is None else DayProgress(state.day, state.closed)


def close_deadline(day: date, settings: ReconciliationSettings = DEFAULT_SETTINGS) -> date:
    """The last date on which `day`'s month may still be closed in time (inclusive)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, settings.month_close_day)


def is_late(day: date, as_of: date, settings: ReconciliationSettings = DEFAULT_SETTINGS) -> bool:
    """`day` is still open on `as_of`, after its month's close deadline."""
    return as_of > close_deadline(day, settings)


def late_days(
    progresses: Iterable[DayProgress],
    as_of: date,
    settings: ReconciliationSettings = DEFAULT_SETTINGS,
) -> list[DayId]:
    """Days still unclosed after their month's deadline, oldest first."""
    late = [
        p.day for p in progresses if not p.closed and is_late(p.day.business_date, as_of, settings)
    ]
    return sorted(late, key=lambda d: (d.business_date, d.pair))
