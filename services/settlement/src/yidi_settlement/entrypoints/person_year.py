"""Agency API of the visit place: a person's policy year and account as this place settles on them
(the insured place's statements plus our movements it has not counted yet)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from fastapi import APIRouter, Path

from yidi_events.auth.agency import Agency
from yidi_events.service import Runtime
from yidi_settlement.adapters import queries
from yidi_settlement.entrypoints.models import PersonYearView


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["visit-place agency"])

    @api.get(
        "/persons/{person_id}/years/{policy_year}",
        summary="A person's account balance and policy-year figures (fen), as settled on here",
    )
    async def person_year(
        person_id: str,
        principal: Agency,
        policy_year: int = Path(ge=1900, le=9998, description="the policy year's name"),
    ) -> PersonYearView:
        # Any agency of a visit place may settle anyone, so it may see what it settles on.
        del principal
        async with runtime.engine.connect() as conn:
            person = await queries.person(conn, person_id, date(policy_year, 1, 1))
            figures = await queries.person_year(conn, person_id, policy_year)
        return PersonYearView.model_validate(
            {
                "person_id": person_id,
                "account_balance": person.at_settlement.account_balance,
                "figures": asdict(figures),
            }
        )

    return api
