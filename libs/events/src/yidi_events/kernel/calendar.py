"""Working days: deadlines in the procedures are counted in working days (工作日).

Weekends are not working days; public holidays and their make-up working days (调休) are
configuration, because the State Council publishes them each year.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)  # 调休 weekends

    @classmethod
    def of(
        cls, holidays: Iterable[date] = (), working_weekends: Iterable[date] = ()
    ) -> WorkingCalendar:
        return cls(frozenset(holidays), frozenset(working_weekends))

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (start itself not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current = start
        remaining = days
        while remaining:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def on_or_after(self, day: date) -> date:
        """The first working day on or after `day` (a deadline falling on a holiday moves on)."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count
