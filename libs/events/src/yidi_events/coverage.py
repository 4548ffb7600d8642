"""Whether a filing (备案) lets a visit settle directly: the one rule both sides of a filing apply.

The filing service decides and publishes filings (FilingApproved, FilingChanged, FilingRejected,
FilingCancelled); the settlement service receives those facts and asks, at registration and at
settlement, whether one of them covers the visit. Both read the facts as published, so the rule
that turns them into coverage lives here, beside the published policy (`yidi_events.policy`),
and each side only maps its own state onto `FilingTerms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yidi_events.kernel.regions import city_of


@dataclass(frozen=True, kw_only=True)
class FilingTerms:
    approved: bool  # it was approved once; a cancellation since ends it from `cancelled_on`
    visit_region: str
    destination_institution: str | None  # None: every networked hospital of the city
    valid_from: date
    valid_to: date | None  # None: long-term, until changed
    cancelled_on: date | None = None


def covers(terms: FilingTerms, *, visit_region: str, institution_code: str, began: date) -> bool:
    """`began` is the day the visit began (the admission day): an admission that began inside the
    validity is covered even if it ends after it; one beginning on or after the cancellation day
    is not."""
    if not terms.approved:
        return False
    try:
        if city_of(visit_region) != city_of(terms.visit_region):
            return False
    except ValueError:
        return False
    if terms.destination_institution not in (None, institution_code):
        return False
    if began < terms.valid_from:
        return False
    if terms.valid_to is not None and began > terms.valid_to:
        return False
    return terms.cancelled_on is None or began < terms.cancelled_on
