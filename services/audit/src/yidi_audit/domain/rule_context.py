"""What every rule sees: the person's live settlements, recorded deaths and the new fact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yidi_audit.domain.facts import (
    Fact,
    PersonDeath,
    SettledVisit,
    deaths,
    live_visits,
)


@dataclass(frozen=True)
class RuleContext:
    visits: tuple[SettledVisit, ...]  # history only, never the new fact
    deaths: tuple[PersonDeath, ...]
    new_fact: Fact

    @property
    def new_visit(self) -> SettledVisit | None:
        return self.new_fact if isinstance(self.new_fact, SettledVisit) else None

    @property
    def raised_on(self) -> date:
        fact = self.new_fact
        if isinstance(fact, SettledVisit):
            return fact.settled_on
        if isinstance(fact, PersonDeath):
            return fact.death_date
        return fact.cancelled_on

    def same_visit(self) -> tuple[SettledVisit, ...]:
        """Earlier live settlements of the new fact's visit (mid-stay settlements)."""
        new = self.new_visit
        if new is None:
            return ()
        return tuple(v for v in self.visits if v.visit_id == new.visit_id)

    @classmethod
    def of(cls, history: list[Fact], new_fact: Fact) -> RuleContext:
        # A redelivered fact may already be in the history: drop it so the answer is the same.
        past = [f for f in history if f.event_id != new_fact.event_id]
        return cls(
            visits=tuple(live_visits(past)),
            deaths=tuple(deaths(past)),
            new_fact=new_fact,
        )
