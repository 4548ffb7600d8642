"""The insured place's terms for manual claims: deadlines in working days and the amount above
which a claim takes two reviewers (Jiangsu 2022: acceptance 5, review 10, payment 20)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from yidi_events.kernel import Fen, WorkingCalendar


@dataclass(frozen=True, kw_only=True)
class ClaimTerms:
    acceptance_days: int = 5
    review_days: int = 10
    payment_days: int = 20
    two_reviewers_above: Fen = 1_000_000  # 10,000 yuan claimed: a second reviewer
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar.official)

    def due(self, start: date, days: int) -> date:
        """`days` working days after `start`, the start not counted (a claim handed in on a
        Friday has its first working day on Monday)."""
        return self.calendar.add_working_days(start, days)

    def reviewers_needed(self, claimed_total: Fen) -> int:
        return 2 if claimed_total > self.two_reviewers_above else 1
