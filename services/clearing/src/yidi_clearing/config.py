"""Clearing's section of the province file (`[clearing]`, see yidi_events.province), validated
at start into the domain's `ClearingSettings`: a calendar that cannot work stops the service,
naming the step, instead of failing on the day the step falls due.

    [reconciliation]
    month_close_day = 3            # the statement waits until the agencies' deadline has passed
    [clearing.steps]
    statement = { day = 21 }       # day 21 of M+1 (`month = 1`, the default)
    netting = { day = 31 }         # past the month's end: its last day
    remittance = { after = "netting", working_days = 5 }
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yidi_clearing.domain.calendar import check_calendar
from yidi_clearing.domain.settings import (
    CalendarSettings,
    ClearingSettings,
    ClearingStep,
    DisbursementPolicy,
    PrepaidFundSettings,
    StepRule,
)
from yidi_events.kernel import DomainError, WorkingCalendar
from yidi_events.province import ProvinceFileError, provincial_centre, section

_DEFAULTS = ClearingSettings()


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    day: int | None = Field(None, ge=1, le=31)
    month: int = Field(1, ge=1, le=3)
    after: ClearingStep | None = None
    working_days: int = Field(0, ge=0)


class _PrepaidFund(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fund_id: str = Field(_DEFAULTS.prepaid_fund.fund_id, min_length=1)
    months_of_q4_average: int = Field(_DEFAULTS.prepaid_fund.months_of_q4_average, ge=1)
    yellow_at: Decimal = Field(_DEFAULTS.prepaid_fund.yellow_at, gt=0, lt=1)
    red_at: Decimal = Field(_DEFAULTS.prepaid_fund.red_at, gt=0, le=1)


class _Clearing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provincial_centre: str = _DEFAULTS.provincial_centre
    approver_role: str = _DEFAULTS.approver_role
    disbursement_policy: DisbursementPolicy = _DEFAULTS.disbursement_policy
    move_to_working_day: bool = _DEFAULTS.calendar.move_to_working_day
    steps: dict[ClearingStep, _Step] = Field(default_factory=dict)
    prepaid_fund: _PrepaidFund = Field(default_factory=_PrepaidFund)


class _Reconciliation(BaseModel):
    # Only what clearing reads of reconciliation's section; the rest is reconciliation's.
    model_config = ConfigDict(extra="ignore")

    month_close_day: int = Field(_DEFAULTS.calendar.days_closed_by, ge=1, le=28)


def clearing_settings(
    province: Mapping[str, Any], working_calendar: WorkingCalendar
) -> ClearingSettings:
    """The province's clearing rules, checked; steps it does not name keep the sandbox's rule."""
    try:
        clearing = _Clearing.model_validate(section(province, "clearing"))
        closing = _Reconciliation.model_validate(section(province, "reconciliation"))
    except ValidationError as exc:
        raise ProvinceFileError(f"province file: {exc}") from exc
    steps = dict(_DEFAULTS.calendar.steps)
    for step, rule in clearing.steps.items():
        steps[step] = StepRule(
            day=rule.day, month=rule.month, after=rule.after, working_days=rule.working_days
        )
    settings = ClearingSettings(
        # read as the CLI and filing's centre users read it: a six-digit region, or no start
        provincial_centre=provincial_centre(province),
        approver_role=clearing.approver_role,
        calendar=CalendarSettings(
            steps=steps,
            days_closed_by=closing.month_close_day,
            move_to_working_day=clearing.move_to_working_day,
        ),
        working_calendar=working_calendar,
        disbursement_policy=clearing.disbursement_policy,
        prepaid_fund=PrepaidFundSettings(
            fund_id=clearing.prepaid_fund.fund_id,
            months_of_q4_average=clearing.prepaid_fund.months_of_q4_average,
            yellow_at=clearing.prepaid_fund.yellow_at,
            red_at=clearing.prepaid_fund.red_at,
        ),
    )
    try:
        check_calendar(settings)
    except DomainError as exc:
        raise ProvinceFileError(f"province file: [clearing] {exc.message}") from exc
    return settings
