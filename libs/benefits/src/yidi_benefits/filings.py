"""Which of a person's filings a visit falls under (DOMAIN.md section 1): the versions in force on
the day the visit began, and of several covering it the one most favourable to the person.

Direct settlement (the visit place) and manual reimbursement (the insured place) choose the same
way, so the filing kind, and with it the basic fund's cut, is decided here once. Whether a visit
may settle directly at all (networked hospital, suspensions, identity) is the settlement
service's own rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from yidi_events.contracts.policy import FilingKind
from yidi_events.coverage import FilingTerms, covers


@dataclass(frozen=True, kw_only=True)
class FilingSnapshot:
    filing_id: str
    kind: FilingKind
    visit_region: str
    valid_from: date
    valid_to: date | None  # None: long-term, until changed
    approved: bool = True
    institution_code: str | None = None  # a single-hospital referral names its destination
    cancelled_on: date | None = None
    revision: int = 0  # the version's place in the filing's history; later ones supersede
    changed_on: date | None = None  # the version holds from this day; None: since approval

    def covers(self, *, visit_region: str, institution_code: str, began: date) -> bool:
        terms = FilingTerms(
            approved=self.approved,
            visit_region=self.visit_region,
            destination_institution=self.institution_code,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            cancelled_on=self.cancelled_on,
        )
        return covers(
            terms,
            visit_region=visit_region,
            institution_code=institution_code,
            began=began,
        )


# Equally favourable kinds are chosen in this order (the national default cuts, smallest first).
_KIND_ORDER = (
    FilingKind.LONG_TERM,
    FilingKind.EMERGENCY,
    FilingKind.REFERRAL,
    FilingKind.OTHER_TEMPORARY,
)


def in_force(filings: Iterable[FilingSnapshot], on: date) -> list[FilingSnapshot]:
    """Each filing's version in force on `on`: the latest revision taking effect by then."""
    current: dict[str, FilingSnapshot] = {}
    for version in filings:
        if version.changed_on is not None and version.changed_on > on:
            continue
        held = current.get(version.filing_id)
        if held is None or version.revision > held.revision:
            current[version.filing_id] = version
    return list(current.values())


def most_favourable(
    filings: Iterable[FilingSnapshot], cut_points: Mapping[FilingKind, Decimal] | None
) -> FilingSnapshot | None:
    """The filing whose basic-fund cut is smallest (without the policy's cuts, by kind alone);
    ties by kind, then filing id."""
    cuts = cut_points or {}
    return min(
        filings,
        key=lambda f: (cuts.get(f.kind, Decimal(0)), _KIND_ORDER.index(f.kind), f.filing_id),
        default=None,
    )
