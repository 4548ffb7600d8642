"""The clearing calendar of a period: which steps are due, and which are late, on a given day.

A handler (or a scheduler) asks `due_steps(period, today, done, settings)` for the work list and
`late_steps(...)` for what missed its deadline; `done` comes from `completed_steps(state)` in
`clearing_period`. A step is due ON its day and late the day after ("于5日前" = by day 5).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from enum import StrEnum

from yidi_clearing.domain.period import day_in_following_month
from yidi_clearing.domain.settings import ClearingSettings
from yidi_events.kernel import DomainError


class ClearingStep(StrEnum):
    STATEMENT = "statement"
    CONFIRMATION = "confirmation"
    NETTING = "netting"
    REMITTANCE = "remittance"
    DISBURSEMENT = "disbursement"


_ORDER = tuple(ClearingStep)


def schedule(period: str, settings: ClearingSettings) -> dict[ClearingStep, date]:
    """The due date of every step of clearing `period` (all in the following month)."""
    days = settings.calendar.days()
    if any(not 1 <= day <= 28 for day in days) or list(days) != sorted(set(days)):
        # Day 29+ does not exist every month; steps out of order would make "late" meaningless.
        raise DomainError(
            "clearing.calendar_invalid",
            f"clearing days {days} must be strictly increasing days between 1 and 28",
            field="calendar",
        )
    result: dict[ClearingStep, date] = {}
    for step, day in zip(_ORDER, days, strict=True):
        due = day_in_following_month(period, day)
        if settings.calendar.move_to_working_day:
            due = settings.working_calendar.on_or_after(due)
        result[step] = due
    return result


def due_steps(
    period: str,
    today: date,
    settings: ClearingSettings,
    done: Collection[ClearingStep] = (),
) -> tuple[ClearingStep, ...]:
    """Steps not done whose due date is today or earlier, in calendar order."""
    return tuple(
        s for s, due in schedule(period, settings).items() if due <= today and s not in done
    )


def late_steps(
    period: str,
    today: date,
    settings: ClearingSettings,
    done: Collection[ClearingStep] = (),
) -> tuple[ClearingStep, ...]:
    """Steps not done whose due date has passed (today is after it)."""
    return tuple(
        s for s, due in schedule(period, settings).items() if due < today and s not in done
    )
