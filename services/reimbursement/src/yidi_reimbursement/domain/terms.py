"""The insured place's terms for manual claims: deadlines in working days and the amount above
which a claim takes two reviewers (Jiangsu 2022: acceptance 5, review 10, payment 20). A province
sets them in its province file's `[reimbursement]` section."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from yidi_events.kernel import DomainError, Fen, WorkingCalendar


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


def check_claim_terms(terms: ClaimTerms) -> None:
    """Refuses terms no claim could be handled under, naming the term: a deadline of no working
    day is due the day the step begins, and a negative amount would ask two reviewers of all."""
    least = {
        "acceptance_days": (terms.acceptance_days, 1),
        "review_days": (terms.review_days, 1),
        "payment_days": (terms.payment_days, 1),
        "two_reviewers_above": (terms.two_reviewers_above, 0),
    }
    for name, (value, at_least) in least.items():
        if value < at_least:
            raise DomainError(
                "reimbursement.terms",
                f"at least {at_least}, not {value}",
                field=name,
                values={"value": value, "least": at_least},
            )
