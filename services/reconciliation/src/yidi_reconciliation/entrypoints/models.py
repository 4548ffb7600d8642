"""What the agency API answers, in domain names (fen amounts). Modelled on what the routes return
today: adding a field is compatible, taking one away breaks the agencies' clients."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class FiguresView(BaseModel):
    """A count of settlement records and their summed amounts (fen; cancellations negative)."""

    count: int
    total_fee: int
    fund_total: int
    account_paid: int
    cash_paid: int


class DayView(BaseModel):
    """A day statement of one pair of agencies as the list shows it."""

    pair: str = Field(description="insured region and visit region, the statement's pair")
    insured_region: str
    visit_region: str
    business_date: date
    totals: FiguresView
    issued: bool
    confirmed_by: list[str] = Field(description="the regions of the pair that confirmed")
    open_disputes: int
    closed: bool
    close_count: int = Field(description="how many times the day closed (a reopened day again)")


class ListedDay(DayView):
    deadline: date = Field(description="the last day the day's month may be closed (its agencies')")


class Statements(BaseModel):
    statements: list[ListedDay]


class ClosedDays(BaseModel):
    days: list[DayView]


class FundAmountView(BaseModel):
    fund_code: str = Field(description="310100 basic pooling, 310200 personal account, ...")
    amount: int


class StatementSettlement(BaseModel):
    """One settlement on the day's statement, and whether it is disputed or cleared."""

    settlement_id: str
    visit_id: str
    person_id: str
    institution_code: str
    clearing_agency: str
    insured_region: str
    visit_region: str
    insurance_type: str
    clearing_category: str
    business_date: date
    total_fee: int
    fund_total: int
    account_paid: int
    cash_paid: int
    is_refund: bool
    original_settlement_id: str | None
    fund_payments: list[FundAmountView]
    disputed: bool
    cleared: bool


class DisputeView(BaseModel):
    settlement_id: str
    raised_by: str = Field(description="the region that raised it")
    reason: str
    status: str = Field(description="open, accepted, reversed")


class StatementView(BaseModel):
    """A day statement in full: its settlements, disputes and the figures each way."""

    pair: str
    insured_region: str
    visit_region: str
    business_date: date
    issued: bool
    confirmed_by: list[str]
    closed: bool
    close_count: int
    totals: FiguresView = Field(description="every settlement of the day")
    confirmable_totals: FiguresView = Field(description="the settlements not disputed")
    cleared_totals: FiguresView = Field(description="what the confirmed day hands to clearing")
    settlements: list[StatementSettlement]
    disputes: list[DisputeView]


class EventView(BaseModel):
    """An event the command appended (its contract in docs/events)."""

    event_type: str
    payload: dict[str, Any]


class Acted(BaseModel):
    events: list[EventView] = Field(description="what the command recorded; none if nothing new")
    statement: StatementView


class LateDay(BaseModel):
    pair: str
    insured_region: str
    visit_region: str
    business_date: date
    deadline: date = Field(description="the last working day it should have closed by")


class LateDays(BaseModel):
    as_of: date
    late: list[LateDay]


class Issued(BaseModel):
    business_date: date
    issued: list[str] = Field(description="the pairs whose statement was issued now")
