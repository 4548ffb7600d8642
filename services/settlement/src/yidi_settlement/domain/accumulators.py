"""Person-year accumulators (年度累计): what a person has used of the year's deductibles and caps.

One stream per (person, policy year). A handler folds that stream with `evolve` to get the
`Accumulators` the engine starts from, and appends the VisitSettled it produces to the same stream
with the version it loaded: two settlements of one person at the same moment cannot both use the
same deductible, because the second append fails and is retried on the new state.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from yidi_events.application import Aggregate
from yidi_events.contracts.settlement import AccumulatorMovement, SettlementCancelled, VisitSettled
from yidi_events.kernel import Fen
from yidi_settlement.domain.events import AccumulatorsMoved


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

    def moved(self, movement: AccumulatorMovement) -> Accumulators:
        """The figures after a movement (a cancellation passes the negated movement)."""
        changes = {
            f.name: getattr(self, f.name) + getattr(movement, f.name)
            for f in fields(self)
            if f.name != "policy_year"
        }
        return replace(self, **changes)


def stream_id(person_id: str, policy_year: int) -> str:
    return f"accumulators-{person_id}-{policy_year}"


def initial(policy_year: int) -> Accumulators:
    return Accumulators(policy_year=policy_year)


def evolve(state: Accumulators, event: Any) -> Accumulators:
    """Apply one fact; movements of another year are not this stream's business.

    The stream holds AccumulatorsMoved facts (settlements, cancellations, carried-in openings);
    VisitSettled/SettlementCancelled are folded too, for a stream built from visit facts.
    """
    if isinstance(event, AccumulatorsMoved):
        if event.policy_year == state.policy_year:
            return state.moved(event.movement)
        return state
    settled_or_cancelled = isinstance(event, VisitSettled | SettlementCancelled)
    if settled_or_cancelled and event.movement.policy_year == state.policy_year:
        return state.moved(event.movement)
    return state


def year(policy_year: int) -> Aggregate[Accumulators]:
    """The aggregate of one person-year stream (`stream_id(person, policy_year)`)."""
    return Aggregate(lambda: initial(policy_year), evolve)
