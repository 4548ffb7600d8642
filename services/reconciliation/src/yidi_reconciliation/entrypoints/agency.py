"""Agency API: day statements per (insured agency, visit agency, day), readable and actionable only
by the two agencies of the pair; confirmation, disputes, closed and late days, issuing."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, TypeAdapter

from yidi_events.auth.agency import Agency, Principal, admit
from yidi_events.contracts.reconciliation import DaySettlement, Figures
from yidi_events.envelope import Envelope
from yidi_events.kernel import Forbidden, NotFound, business_date
from yidi_events.paging import LINK_HEADER, Paging, announce
from yidi_events.registry import encode
from yidi_events.service import Runtime
from yidi_reconciliation.adapters.day_views import days_of, days_page, view
from yidi_reconciliation.app.days import Acted, Days
from yidi_reconciliation.domain.day_statement import DayId, DayStatement, confirmed_figures
from yidi_reconciliation.domain.month_close import DayProgress, close_deadline, late_days
from yidi_reconciliation.domain.records import Totals
from yidi_reconciliation.entrypoints import models

_FIGURES = TypeAdapter(Figures)
_SETTLEMENT = TypeAdapter(DaySettlement)


class DisputeRequest(BaseModel):
    settlement_id: str = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=2000)


def _party(principal: Principal, day: DayId) -> None:
    if principal.kind == "centre":
        return  # the provincial centre oversees every pair (read only: it is party to none)
    if principal.region not in (day.insured_region, day.visit_region):
        raise Forbidden(
            "reconciliation.not_party",
            f"Agency {principal.region} is not party to {day.pair}; only {day.insured_region}"
            f" and {day.visit_region} may see or act on it.",
            field="region",
        )


Operator = Annotated[Principal, Depends(admit("centre", "service"))]
"""The day's operations (issuing, the late list): the provincial centre or a scheduler."""


def _figures(totals: Totals) -> dict[str, int]:
    return {
        "count": totals.count,
        "total_fee": totals.total_fee,
        "fund_total": totals.fund_total,
        "account_paid": totals.account_paid,
        "cash_paid": totals.cash_paid,
    }


def statement_view(state: DayStatement) -> models.StatementView:
    day = state.day
    assert day is not None
    open_disputes = state.open_disputes
    return models.StatementView.model_validate(
        {
            "pair": day.pair,
            "insured_region": day.insured_region,
            "visit_region": day.visit_region,
            "business_date": day.business_date.isoformat(),
            "issued": state.issued,
            "confirmed_by": sorted(state.confirmed_by),
            "closed": state.closed,
            "close_count": state.close_count,
            "totals": _figures(Totals.sum(state.settlements.values())),
            "confirmable_totals": _figures(Totals.sum(state.confirmable())),
            "cleared_totals": _FIGURES.dump_python(confirmed_figures(state), mode="json"),
            "settlements": [
                {
                    **_SETTLEMENT.dump_python(s, mode="json"),
                    "disputed": sid in open_disputes,
                    "cleared": sid in state.cleared,
                }
                for sid, s in sorted(state.settlements.items())
            ],
            "disputes": [
                {
                    "settlement_id": d.settlement_id,
                    "raised_by": d.raised_by,
                    "reason": d.reason,
                    "status": d.status.value,
                }
                for d in state.disputes.values()
            ],
        }
    )


def _events(envelopes: list[Envelope]) -> list[dict[str, Any]]:
    return [{"event_type": e.event_type, "payload": encode(e.payload)} for e in envelopes]


def agency_router(runtime: Runtime, days: Days) -> APIRouter:
    router = APIRouter(tags=["agency"])

    def day_id(insured_region: str, visit_region: str, business_date_: date) -> DayId:
        return DayId(insured_region, visit_region, business_date_)

    @router.get(
        "/statements",
        summary="Day statements of the caller's pairs, by day then pair, a page at a time",
        responses={200: {"headers": LINK_HEADER}},
    )
    async def list_statements(
        principal: Agency,
        page: Paging,
        request: Request,
        response: Response,
        business_date_: Annotated[date | None, Query(alias="date")] = None,
        start: date | None = None,
        end: date | None = None,
    ) -> models.Statements:
        region = None if principal.kind == "centre" else principal.region
        async with runtime.engine.connect() as conn:
            found = await days_page(
                conn, page, region=region, business_date=business_date_, start=start, end=end
            )
        announce(request, response, found)
        # Each day with the date by which its month must be closed (what the console counts down).
        return models.Statements.model_validate(
            {
                "statements": [
                    {**view(r), "deadline": close_deadline(r.business_date, days.settings)}
                    for r in found.rows
                ]
            }
        )

    @router.get("/statements/{insured_region}/{visit_region}/{business_date_}")
    async def read_statement(
        insured_region: str, visit_region: str, business_date_: date, principal: Agency
    ) -> models.StatementView:
        day = day_id(insured_region, visit_region, business_date_)
        _party(principal, day)
        state = await days.statement(day)
        if state.day is None:
            raise NotFound(
                "reconciliation.day_unknown",
                f"No settlement of {day.pair} was recorded on {day.business_date}.",
                field="business_date",
            )
        return statement_view(state)

    def acted(outcome: Acted) -> models.Acted:
        return models.Acted(
            events=[models.EventView.model_validate(e) for e in _events(outcome.events)],
            statement=statement_view(outcome.statement),
        )

    @router.post("/statements/{insured_region}/{visit_region}/{business_date_}/confirm")
    async def confirm(
        insured_region: str, visit_region: str, business_date_: date, principal: Agency
    ) -> models.Acted:
        day = day_id(insured_region, visit_region, business_date_)
        _party(principal, day)
        return acted(await days.confirm(day, principal.region))

    @router.post("/statements/{insured_region}/{visit_region}/{business_date_}/disputes")
    async def dispute(
        insured_region: str,
        visit_region: str,
        business_date_: date,
        body: DisputeRequest,
        principal: Agency,
    ) -> models.Acted:
        day = day_id(insured_region, visit_region, business_date_)
        _party(principal, day)
        return acted(await days.dispute(day, principal.region, body.settlement_id, body.reason))

    @router.post(
        "/statements/{insured_region}/{visit_region}/{business_date_}/disputes/{settlement_id}/accept"
    )
    async def accept(
        insured_region: str,
        visit_region: str,
        business_date_: date,
        settlement_id: str,
        principal: Agency,
    ) -> models.Acted:
        day = day_id(insured_region, visit_region, business_date_)
        _party(principal, day)
        return acted(await days.accept(day, principal.region, settlement_id))

    @router.get(
        "/days/closed",
        summary="Closed days of the caller's pairs, by day then pair, a page at a time",
        responses={200: {"headers": LINK_HEADER}},
    )
    async def closed_days(
        principal: Agency,
        page: Paging,
        request: Request,
        response: Response,
        start: date | None = None,
        end: date | None = None,
    ) -> models.ClosedDays:
        region = None if principal.kind == "centre" else principal.region
        async with runtime.engine.connect() as conn:
            found = await days_page(conn, page, region=region, start=start, end=end, closed=True)
        announce(request, response, found)
        return models.ClosedDays.model_validate({"days": [view(r) for r in found.rows]})

    @router.get("/days/late")
    async def overdue_days(principal: Operator, as_of: date | None = None) -> models.LateDays:
        today = as_of or business_date(runtime.clock.now())
        async with runtime.engine.connect() as conn:
            rows = await days_of(conn, region=None, end=today, closed=False)
        progress = [
            DayProgress(DayId(r.insured_region, r.visit_region, r.business_date), r.closed)
            for r in rows
        ]
        return models.LateDays.model_validate(
            {
                "as_of": today.isoformat(),
                "late": [
                    {
                        "pair": d.pair,
                        "insured_region": d.insured_region,
                        "visit_region": d.visit_region,
                        "business_date": d.business_date.isoformat(),
                        "deadline": close_deadline(d.business_date, days.settings).isoformat(),
                    }
                    for d in late_days(progress, today, days.settings)
                ],
            }
        )

    @router.post("/days/issue")
    async def issue(
        principal: Operator, business_date_: Annotated[date, Query(alias="date")]
    ) -> models.Issued:
        issued = await days.issue(business_date_)
        return models.Issued(business_date=business_date_, issued=[d.pair for d in issued])

    return router
