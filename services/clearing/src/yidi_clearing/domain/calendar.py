"""The clearing calendar of a period: when each step is due, which are due and which are late.

A province configures each step as a day of a month after the cleared month M or as working
days after an earlier step (`settings.StepRule`), so a schedule may run past the end of M+1
(national: notices by the end of M+1, then 5 and 10 working days). `schedule(period, settings)`
resolves the dates on the working-day calendar; `check_calendar(settings)` refuses at start a
calendar that cannot work (a step after one that comes later, steps out of order, a statement
before the agencies' deadline to close M's days).

A handler (or a scheduler) asks `due_steps(period, today, done, settings)` for the work list and
`late_steps(...)` for what missed its deadline; `done` comes from `completed_steps(state)` in
`clearing_period`. A step is due ON its day and late the day after ("于5日前" = by day 5).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from itertools import pairwise
from typing import NoReturn

from yidi_clearing.domain.period import add_months, last_day, parse_period
from yidi_clearing.domain.settings import (
    HOSPITAL_STEPS,
    PERIOD_STEPS,
    CalendarSettings,
    ClearingSettings,
    ClearingStep,
    StepRule,
)
from yidi_events.kernel import DomainError

__all__ = [
    "ClearingStep",
    "check_calendar",
    "close_deadline",
    "due_steps",
    "late_steps",
    "require_days_closed",
    "schedule",
]

_ORDER = tuple(ClearingStep)


def close_deadline(period: str, settings: ClearingSettings) -> date:
    """The last day on which the agencies may still close a day of `period` (inclusive)."""
    return _day_of_month(period, 1, settings.calendar.days_closed_by)


def require_days_closed(period: str, today: date, settings: ClearingSettings) -> None:
    """The statement of `period` waits until the agencies' deadline to close its days has
    passed: a day closed on the last allowed day still enters this month's statement."""
    deadline = close_deadline(period, settings)
    if today <= deadline:
        raise DomainError(
            "clearing.days_still_closing",
            f"the agencies may close the days of {period} until {deadline} (today is {today}); "
            "its statement is generated after that",
            field="period",
            values={"close_deadline": deadline.isoformat()},
        )


def check_calendar(settings: ClearingSettings, sample_year: int = 2025) -> None:
    """Refuse a calendar that cannot work, naming the step: each rule well formed, offsets only
    after an earlier step, and the months of `sample_year` resolved in order (the order of a
    schedule depends on where weekends and holidays fall, so it is checked on a real year)."""
    calendar = settings.calendar
    if not 1 <= calendar.days_closed_by <= 28:
        _invalid("days_closed_by", f"{calendar.days_closed_by} is not a day between 1 and 28")
    missing = [str(s) for s in _ORDER if s not in calendar.steps]
    if missing:
        _invalid("steps", f"no rule for {', '.join(missing)}")
    for step in _ORDER:
        _check_rule(step, calendar.steps[step])
    for month in range(1, 13):
        schedule(f"{sample_year:04d}-{month:02d}", settings)


def schedule(period: str, settings: ClearingSettings) -> dict[ClearingStep, date]:
    """The due date of every step of clearing `period`, in step order."""
    parse_period(period)
    calendar = settings.calendar
    result: dict[ClearingStep, date] = {}
    for step in _ORDER:
        rule = calendar.steps[step]
        if rule.after is None:
            assert rule.day is not None
            due = _day_of_month(period, rule.month, rule.day)
            if calendar.move_to_working_day:
                due = settings.working_calendar.on_or_after(due)
        else:
            if rule.after not in result:
                _invalid(str(step), f"it follows {rule.after}, which does not come before it")
            due = settings.working_calendar.add_working_days(result[rule.after], rule.working_days)
        result[step] = due
    _check_order(period, result, calendar, settings)
    return result


def due_steps(
    period: str,
    today: date,
    settings: ClearingSettings,
    done: Collection[ClearingStep] = (),
) -> tuple[ClearingStep, ...]:
    """Period steps not done whose due date is today or earlier, in calendar order."""
    dates = schedule(period, settings)
    return tuple(s for s in PERIOD_STEPS if dates[s] <= today and s not in done)


def late_steps(
    period: str,
    today: date,
    settings: ClearingSettings,
    done: Collection[ClearingStep] = (),
) -> tuple[ClearingStep, ...]:
    """Period steps not done whose due date has passed (today is after it)."""
    dates = schedule(period, settings)
    return tuple(s for s in PERIOD_STEPS if dates[s] < today and s not in done)


def _day_of_month(period: str, months_after: int, day: int) -> date:
    month = add_months(period, months_after)
    year, number = parse_period(month)
    return date(year, number, min(day, last_day(month).day))


def _check_rule(step: ClearingStep, rule: StepRule) -> None:
    if (rule.day is None) == (rule.after is None):
        _invalid(str(step), "give either a day of month or an earlier step to follow, not both")
    if rule.day is not None and not 1 <= rule.day <= 31:
        _invalid(str(step), f"day {rule.day} is not a day of a month (1-31)")
    if rule.day is not None and not 1 <= rule.month <= 3:
        _invalid(str(step), f"month {rule.month} must be 1 to 3 months after the cleared month")
    if rule.after is not None:
        if _ORDER.index(rule.after) >= _ORDER.index(step):
            _invalid(str(step), f"it follows {rule.after}, which does not come before it")
        if rule.working_days < 0:
            _invalid(str(step), f"{rule.working_days} working days is negative")


def _check_order(
    period: str,
    dates: dict[ClearingStep, date],
    calendar: CalendarSettings,
    settings: ClearingSettings,
) -> None:
    deadline = close_deadline(period, settings)
    if dates[ClearingStep.STATEMENT] <= deadline:
        _invalid(
            str(ClearingStep.STATEMENT),
            f"the statement of {period} would be due {dates[ClearingStep.STATEMENT]}, not after "
            f"{deadline}, the last day the agencies may close its days (days_closed_by "
            f"{calendar.days_closed_by})",
        )
    # Period steps strictly in order as configured (two on one day would make "late"
    # meaningless), though moving steps off holidays may bring two onto the same working day;
    # a hospital's steps in order too, one may share a day with the next.
    strictly = not calendar.move_to_working_day
    for steps, strict in ((PERIOD_STEPS, strictly), (HOSPITAL_STEPS, False)):
        for earlier, later in pairwise(steps):
            if dates[later] < dates[earlier] or (strict and dates[later] == dates[earlier]):
                _invalid(
                    str(later),
                    f"for {period} {later} would be due {dates[later]}, not after {earlier} on "
                    f"{dates[earlier]}",
                )


def _invalid(field: str, message: str) -> NoReturn:
    raise DomainError(
        "clearing.calendar_invalid", f"clearing calendar: {field}: {message}", field=field
    )
