"""Clearing configuration: the defaults DOMAIN.md section 4 and seed 000 name, all overridable."""

from __future__ import annotations

from collections.abc import Mapping
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


class ClearingStep(StrEnum):
    """The steps of clearing month M, in the order they happen (all in M+1 or later)."""

    STATEMENT = "statement"
    CONFIRMATION = "confirmation"
    NETTING = "netting"
    REMITTANCE = "remittance"
    DISBURSEMENT = "disbursement"
    # A hospital's clearing of M (3203): by when it applies, is reviewed (40) and is paid (60).
    HOSPITAL_APPLICATION = "hospital_application"
    HOSPITAL_REVIEW = "hospital_review"
    HOSPITAL_PAYMENT = "hospital_payment"


PERIOD_STEPS = (
    ClearingStep.STATEMENT,
    ClearingStep.CONFIRMATION,
    ClearingStep.NETTING,
    ClearingStep.REMITTANCE,
    ClearingStep.DISBURSEMENT,
)
HOSPITAL_STEPS = (
    ClearingStep.HOSPITAL_APPLICATION,
    ClearingStep.HOSPITAL_REVIEW,
    ClearingStep.HOSPITAL_PAYMENT,
)


@dataclass(frozen=True)
class StepRule:
    """When one step is due: a day of a month after the cleared month M (`day` of M+`month`; a
    day past that month's end means its last day, so "by month end" is day 31), or a number of
    working days after an earlier step (`after`, `working_days`), which may cross month ends."""

    day: int | None = None
    month: int = 1
    after: ClearingStep | None = None
    working_days: int = 0

    @classmethod
    def on(cls, day: int, month: int = 1) -> StepRule:
        return cls(day=day, month=month)

    @classmethod
    def later(cls, after: ClearingStep, working_days: int) -> StepRule:
        return cls(after=after, working_days=working_days)


def _seed_000_steps() -> dict[ClearingStep, StepRule]:
    # Seed 000's days 5/10/15/20 of M+1, with the statement moved from the 2nd to the 4th: the
    # agencies may close M's days until the 3rd (reconciliation's month_close_day), and a day
    # closed on time must enter M's statement. Hospitals apply by the 10th, are reviewed by the
    # 15th and paid by the 25th (our sandbox's choice; the seeds give no hospital days).
    return {
        ClearingStep.STATEMENT: StepRule.on(4),
        ClearingStep.CONFIRMATION: StepRule.on(5),
        ClearingStep.NETTING: StepRule.on(10),
        ClearingStep.REMITTANCE: StepRule.on(15),
        ClearingStep.DISBURSEMENT: StepRule.on(20),
        ClearingStep.HOSPITAL_APPLICATION: StepRule.on(10),
        ClearingStep.HOSPITAL_REVIEW: StepRule.on(15),
        ClearingStep.HOSPITAL_PAYMENT: StepRule.on(25),
    }


@dataclass(frozen=True)
class CalendarSettings:
    """When each step of clearing month M is due (the sandbox's defaults: seed 000's days)."""

    steps: Mapping[ClearingStep, StepRule] = field(default_factory=_seed_000_steps)
    # The day of M+1 by which the agencies must have closed M's days (reconciliation's
    # month_close_day): the statement is due only after it, so a day closed on time clears in M.
    days_closed_by: int = 3
    # A step due on a weekend or holiday by day of month moves to the next working day when on.
    move_to_working_day: bool = False


@dataclass(frozen=True)
class PrepaidFundSettings:
    # The province's one fund: its stream is "prepaid-fund:<fund_id>"; optional (a province
    # without it never advances, disbursements wait for the cash).
    fund_id: str = "320000-prepaid"
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
