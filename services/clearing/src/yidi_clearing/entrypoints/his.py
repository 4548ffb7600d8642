"""`POST /internal/his`: the clearing commands the settlement gateway forwards for 3203, 3204 and
3205A (docs/integration.md). Domain names in and out; the gateway's edge speaks nationally."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_clearing.adapters import queries
from yidi_clearing.app.hospitals import HospitalHandlers
from yidi_clearing.domain.hospital_clearing import ApplicationKey, ClearingTotals
from yidi_events.forwarded import ForwardedCommand, forwarded_router


class ApplyCommand(BaseModel):
    clearing_agency: str
    month: str
    clearing_category: str
    count: int
    total_fee: int
    fund_total: int
    account_paid: int
    cash_paid: int


class WithdrawCommand(BaseModel):
    clearing_application_id: str


class ApplicationsQuery(BaseModel):
    clearing_agency: str | None = None
    status: str | None = None
    month: str | None = None


def his_router(handlers: HospitalHandlers, engine: AsyncEngine) -> APIRouter:
    async def apply(call: ForwardedCommand, request: Request) -> dict[str, Any]:
        claim = ApplyCommand.model_validate(call.command)
        key = ApplicationKey(
            institution_code=call.institution_code,
            clearing_agency=claim.clearing_agency,
            month=claim.month,
            clearing_category=claim.clearing_category,
        )
        totals = ClearingTotals(
            count=claim.count,
            total_fee=claim.total_fee,
            fund_total=claim.fund_total,
            account_paid=claim.account_paid,
            cash_paid=claim.cash_paid,
        )
        return {"clearing_application_id": await handlers.apply(key, totals)}

    async def withdraw(call: ForwardedCommand, request: Request) -> dict[str, Any]:
        application_id = WithdrawCommand.model_validate(call.command).clearing_application_id
        await handlers.withdraw(call.institution_code, application_id)
        return {"clearing_application_id": application_id}

    async def applications(call: ForwardedCommand, request: Request) -> dict[str, Any]:
        filters = ApplicationsQuery.model_validate(call.command).model_dump()
        async with engine.connect() as conn:
            rows = await queries.applications(
                conn, institution_code=call.institution_code, **filters
            )
        return {"applications": rows}

    return forwarded_router(
        "clearing",
        {
            "clearing.apply": apply,
            "clearing.withdraw": withdraw,
            "clearing.applications": applications,
        },
    )
