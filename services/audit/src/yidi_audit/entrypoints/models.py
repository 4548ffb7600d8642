"""What the audit API answers, in domain names, modelled on the read-model rows the routes
returned before they were typed: every column stays in the body (a unit test holds each model to
its table), adding a field is compatible, taking one away breaks the agencies' clients."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class TicketView(BaseModel):
    """A 协查 ticket between two agencies, and where it stands."""

    ticket_id: str
    kind: str = Field(description="what the requester needs checked (filing, settlement, ...)")
    requester_region: str = Field(description="six-digit region of the agency that raised it")
    receiver_region: str = Field(description="six-digit region of the agency that answers")
    cities: list[str] = Field(description="the two agencies' cities: who may see it")
    subject: str
    person_id: str | None
    status: str
    raised_on: date
    reply_by: date = Field(description="working-day deadline of the reply (extended if agreed)")
    answer: str | None
    replied_on: date | None
    confirm_by: date | None = Field(description="the requester confirms the reply by then")
    late: bool | None = Field(description="whether the reply came after reply_by")
    confirmed_on: date | None
    automatic: bool | None = Field(description="confirmed by the deadline passing, not a person")


class ComplaintView(BaseModel):
    """A complaint an agency received, and how it was handled."""

    complaint_id: str
    agency_region: str = Field(description="six-digit region of the agency that received it")
    city: str
    person_id: str | None
    channel: str = Field(description="how it came in (e.g. the 12393 hotline)")
    summary: str
    status: str
    received_on: date
    due: date | None = Field(description="the deadline of its current step")
    outcome: str | None
    notified_on: date | None = Field(description="when the complainant was told the outcome")
    notified_channel: str | None
