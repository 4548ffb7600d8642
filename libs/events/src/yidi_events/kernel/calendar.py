"""Working days: deadlines in the procedures are counted in working days (工作日).

Weekends are not working days, except the make-up working days (调休) the State Council moves
onto them; public holidays are not. Both are published once a year (each December for the next),
so the official calendar comes from `chinesecalendar`, a maintained transcription of those
notices, plus any year an operator adds from the notice before a release carries it. A deadline
in a year nobody has published must not quietly count weekdays: across Spring Festival that is
a week wrong, so it is a configuration error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from yidi_events.kernel.errors import DomainError


class CalendarYearUnknown(DomainError):
    """No holiday notice is configured for the year a working-day count reaches."""

    status = 503  # the service is misconfigured; the caller's request was fine


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)  # 调休 weekends
    known_years: frozenset[int] | None = None
    """The years whose holidays are configured; None counts weekends only, in any year (for
    rules worked without holidays)."""
    weekends_only_beyond: bool = False
    """Count weekends only in a year not configured instead of refusing: for the sandbox, whose
    simulations run into years no notice has been transcribed for yet."""

    @classmethod
    def of(
        cls, holidays: Iterable[date] = (), working_weekends: Iterable[date] = ()
    ) -> WorkingCalendar:
        return cls(frozenset(holidays), frozenset(working_weekends))

    @classmethod
    def official(
        cls, notices: Mapping[str, Any] | None = None, *, weekends_only_beyond: bool = False
    ) -> WorkingCalendar:
        """The State Council's calendar as `chinesecalendar` carries it, with `notices` (a
        holidays file: {"2027": {"holidays": [...], "working_weekends": [...]}}) for years the
        package does not know yet; a year in both is taken from the file."""
        from chinese_calendar import constants  # the published tables, imported when needed

        added = parse_notices(notices or {})
        holidays = {d for d in constants.holidays if d.year not in added}
        working = {d for d in constants.workdays if d.year not in added}
        for days_off, days_on in added.values():
            holidays |= days_off
            working |= days_on
        known = {d.year for d in constants.holidays} | set(added)
        return cls(frozenset(holidays), frozenset(working), frozenset(known), weekends_only_beyond)

    def is_working_day(self, day: date) -> bool:
        if (
            self.known_years is not None
            and day.year not in self.known_years
            and not self.weekends_only_beyond
        ):
            raise CalendarYearUnknown(
                "calendar.year_unknown",
                f"the holidays of {day.year} are not configured, so working days in it cannot "
                f"be counted: add the State Council's notice for {day.year} to the holidays "
                "file (YIDI_HOLIDAYS_FILE) or update chinesecalendar",
                field="holidays_file",
                values={"year": day.year},
            )
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


def parse_notices(notices: Mapping[str, Any]) -> dict[int, tuple[set[date], set[date]]]:
    """The holidays file's years, checked: each date ISO, in its year, a holiday not also a
    working day, a make-up working day on a weekend."""
    years: dict[int, tuple[set[date], set[date]]] = {}
    for key, notice in notices.items():
        if not (isinstance(key, str) and key.isdigit() and len(key) == 4):
            raise ValueError(f"holidays file: {key!r} is not a year")
        if not isinstance(notice, Mapping) or set(notice) - {"holidays", "working_weekends"}:
            raise ValueError(f"holidays file: {key} needs only 'holidays' and 'working_weekends'")
        year = int(key)
        days_off = _dates(notice.get("holidays", []), year, "holidays")
        days_on = _dates(notice.get("working_weekends", []), year, "working_weekends")
        if days_off & days_on:
            both = ", ".join(sorted(d.isoformat() for d in days_off & days_on))
            raise ValueError(f"holidays file: {both} both a holiday and a working day")
        weekdays = sorted(d.isoformat() for d in days_on if d.weekday() < 5)
        if weekdays:
            raise ValueError(f"holidays file: working_weekends {', '.join(weekdays)} not weekends")
        years[year] = (days_off, days_on)
    return years


def _dates(raw: object, year: int, name: str) -> set[date]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValueError(f"holidays file: {year}.{name} must be a list of dates")
    days = set()
    for item in raw:
        try:
            day = date.fromisoformat(str(item))
        except ValueError:
            raise ValueError(f"holidays file: {year}.{name}: {item!r} is not a date") from None
        if day.year != year:
            raise ValueError(f"holidays file: {year}.{name}: {day} is not in {year}")
        days.add(day)
    return days
