"""Where a person or hospital stands on a day, from the facts the insured places and audit sent:
enrolment and suspensions of direct settlement.

The projection keeps every suspension as received (its window and the day it was lifted early);
these functions decide which are in force on a day, so a query only fetches the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from yidi_settlement.domain.eligibility import EnrolmentStatus


def enrolment_on(
    stated: EnrolmentStatus, terminated_from: date | None, on: date
) -> EnrolmentStatus:
    """A termination takes effect from its first day, whatever status was stated before it."""
    if terminated_from is not None and on >= terminated_from:
        return EnrolmentStatus.TERMINATED
    return stated


@dataclass(frozen=True, kw_only=True)
class Suspension:
    suspended_from: date
    suspended_until: date | None  # the last day; None: until lifted
    ended_on: date | None = None  # lifted early: no longer in force from this day

    def in_force(self, on: date) -> bool:
        if on < self.suspended_from:
            return False
        if self.suspended_until is not None and on > self.suspended_until:
            return False
        return self.ended_on is None or on < self.ended_on


def suspended_until(suspensions: Iterable[Suspension], on: date) -> date | None:
    """The last day of the person's suspensions in force on `on` (`date.max` when one of them is
    open-ended); None when none is."""
    ends = [s.suspended_until or date.max for s in suspensions if s.in_force(on)]
    return max(ends) if ends else None


def hospital_suspended(
    *, by_agency: bool, agency_until: date | None, sanctions: Iterable[Suspension], on: date
) -> bool:
    """An agency suspension (until its last day, or until lifted), or an audit sanction in force."""
    agency = by_agency and (agency_until is None or on <= agency_until)
    return agency or any(s.in_force(on) for s in sanctions)


def departments_suspended(sanctions: Iterable[tuple[str, Suspension]], on: date) -> frozenset[str]:
    """The department codes of a hospital an audit sanction in force on `on` targets."""
    return frozenset(department for department, s in sanctions if s.in_force(on))
