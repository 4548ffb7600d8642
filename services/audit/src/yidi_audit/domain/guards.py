"""Small refusals shared by the aggregates: who may act, and the texts a decision must carry."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from yidi_events.kernel import DomainError, Forbidden, city_of


@dataclass(frozen=True)
class Actor:
    """A person acting for an agency; agencies are cities (agency_region like "320100")."""

    actor_id: str
    agency_region: str


def require_agency(actor: Actor, region: str, *, rule: str, role: str) -> None:
    """Refuse unless the actor's agency is the city agency of `region`."""
    if city_of(actor.agency_region) != city_of(region):
        raise Forbidden(
            rule,
            f"only the {role} agency (region {region}) may do this; "
            f"{actor.actor_id} acts for {actor.agency_region}",
            field="agency_region",
        )


def require_text(value: str, *, rule: str, field: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise DomainError(rule, f"{what} is required", field=field)
    return text


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
