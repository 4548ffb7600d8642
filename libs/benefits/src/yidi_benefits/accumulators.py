"""Person-year accumulators (年度累计): what a person has used of the year's deductibles and caps.

The engine starts from an `Accumulators`; where the figures come from (the insured place's
statement plus the visit place's movements it has not counted yet) is the caller's: settlement's
person ledger at the visit place, the person's year at the insured place.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from yidi_events.contracts.settlement import AccumulatorMovement, ChronicUse, merged_chronic
from yidi_events.kernel import Fen


@dataclass(frozen=True, kw_only=True)
class Accumulators:
    policy_year: int
    inpatient_admissions: int = 0
    outpatient_deductible_used: Fen = 0
    eligible_cum: Fen = 0  # in-policy amounts above the deductibles: the basic fund's band axis
    basic_paid_cum: Fen = 0
    supplementary_base_cum: Fen = 0  # in-policy personal share: the supplementary band axis
    supplementary_paid_cum: Fen = 0
    assistance_paid_cum: Fen = 0
    outpatient_pooling_paid_cum: Fen = 0  # ordinary outpatient pooling: its own annual cap
    # chronic diseases: per (disease, cap period), each apart from the others
    chronic: tuple[ChronicUse, ...] = ()

    def moved(self, movement: AccumulatorMovement) -> Accumulators:
        """The figures after a movement (a cancellation passes the negated movement)."""
        changes = {
            f.name: getattr(self, f.name) + getattr(movement, f.name)
            for f in fields(self)
            if f.name not in ("policy_year", "chronic")
        }
        return replace(self, chronic=merged_chronic(self.chronic, movement.chronic), **changes)

    def chronic_deductible_used(self, disease_code: str | None = None) -> Fen:
        """The chronic deductible paid this policy year: for one disease, or for all of them."""
        return sum(
            u.deductible_used
            for u in self.chronic
            if disease_code is None or u.disease_code == disease_code
        )

    def chronic_paid(self, disease_code: str, period: str) -> Fen:
        """The fund's payments for one disease in one cap period."""
        return sum(
            u.fund_paid
            for u in self.chronic
            if (u.disease_code, u.period) == (disease_code, period)
        )


def initial(policy_year: int) -> Accumulators:
    return Accumulators(policy_year=policy_year)
