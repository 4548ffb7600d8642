"""Clearing configuration: the defaults DOMAIN.md section 4 and seed 000 name, all overridable."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from yidi_events.kernel import WorkingCalendar


class DisbursementPolicy(StrEnum):
    # Pro rata: while payers' cash is incomplete, each net receiver may be paid its share of what
    # has arrived (rounded down to the fen, so the shares never exceed the cash); once everything
    # has arrived, each is paid in full.
    PRO_RATA = "pro_rata"
    # Wait: nothing is paid out until every net payer has remitted in full.
    IN_FULL_ONLY = "in_full_only"


@dataclass(frozen=True)
class CalendarSettings:
    """Days of month M+1 by which each step of clearing month M is due (seed 000: 2/5/10/15/20)."""

    statement_day: int = 2
    confirmation_day: int = 5
    netting_day: int = 10
    remittance_day: int = 15
    disbursement_day: int = 20
    # A step due on a weekend or holiday moves to the next working day when this is on.
    move_to_working_day: bool = False

    def days(self) -> tuple[int, int, int, int, int]:
        return (
            self.statement_day,
            self.confirmation_day,
            self.netting_day,
            self.remittance_day,
            self.disbursement_day,
        )


@dataclass(frozen=True)
class PrepaidFundSettings:
    months_of_q4_average: int = 2  # national rule: 2 x last year's Q4 monthly average
    yellow_at: Decimal = Decimal("0.70")
    red_at: Decimal = Decimal("0.90")


@dataclass(frozen=True)
class ClearingSettings:
    provincial_centre: str = (
        "320000"  # the agency that runs clearing and holds the clearing account
    )
    # The role the identity component issues to clearing approvers (the sandbox's
    # js.approver1/2): a name it cannot issue would leave no login able to approve.
    approver_role: str = "approver"
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    working_calendar: WorkingCalendar = field(default_factory=WorkingCalendar.official)
    disbursement_policy: DisbursementPolicy = DisbursementPolicy.PRO_RATA
    prepaid_fund: PrepaidFundSettings = field(default_factory=PrepaidFundSettings)
