"""A visit's dates (DOMAIN.md section 2): a discharge, fee or settlement date is never in the
future and never before the admission. They choose the policy year and the catalogue, so a forged
date must not open a fresh year.

Dates are business days (Asia/Shanghai). "The future" starts after the business day of now plus
the hospital's allowed clock skew: a HIS whose clock runs a few minutes fast may date a line just
after midnight, one dating it next year may not.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from yidi_events.kernel import DomainError, business_date


def latest_day(now: datetime, skew: timedelta) -> date:
    """The last business day a hospital may date anything on."""
    return business_date(now + skew)


def check_visit_day(field: str, day: date, *, admitted_on: date, latest: date) -> None:
    """Refuse a date of the visit in the future or before its admission, naming the field."""
    if day > latest:
        raise DomainError(
            "visit.date_in_future",
            f"{field} {day} is in the future (latest accepted day {latest})",
            field=field,
            values={"day": day.isoformat(), "latest": latest.isoformat()},
        )
    if day < admitted_on:
        raise DomainError(
            "visit.date_before_admission",
            f"{field} {day} is before the admission on {admitted_on}",
            field=field,
            values={"day": day.isoformat(), "admitted_on": admitted_on.isoformat()},
        )
