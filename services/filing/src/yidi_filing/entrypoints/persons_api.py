"""Agency API: insured persons of the caller agency's own insured region."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Path, Request, Response

from yidi_events.application import Unit
from yidi_events.auth.agency import Principal
from yidi_events.contracts.settlement import AccumulatorMovement
from yidi_events.kernel import NotFound
from yidi_events.paging import LINK_HEADER, Paging, announce
from yidi_filing.adapters import queries
from yidi_filing.app import person_year
from yidi_filing.app import persons as handlers
from yidi_filing.app.common import Context, person_stream, require_agency, require_own_region
from yidi_filing.domain.enrolment import EnrolPerson, UpdatePerson
from yidi_filing.domain.person import PERSON
from yidi_filing.domain.person_year import LocalSettlement, year_totals
from yidi_filing.entrypoints.deps import Agency, Ctx
from yidi_filing.entrypoints.models import (
    AmountRequest,
    BalanceRequest,
    BenefitChangeRequest,
    DeathRequest,
    Enrolled,
    EnrolRequest,
    ImportRequest,
    LocalSettlementImportRequest,
    LocalSettlementRequest,
    LocalSettlementsRecorded,
    PersonView,
    PersonYearView,
    StatusRequest,
    SuspendRequest,
    UpdateRequest,
)

router = APIRouter(prefix="/persons", tags=["persons"])


async def _view(ctx: Context, principal: Principal, person_id: str) -> PersonView:
    person = await queries.person(ctx.runtime.engine, person_id)
    if person is None:
        raise NotFound("person.not_enrolled", "no such insured person", field="person_id")
    require_own_region(principal, person["insured_region"], field="person_id")
    return PersonView.model_validate(person)


@router.post("", status_code=201, summary="Enrol an insured person (one person, one number)")
async def enrol(body: EnrolRequest, principal: Agency, ctx: Ctx) -> PersonView:
    command = EnrolPerson(
        **body.model_dump(exclude={"assistance_identities"}),
        assistance_identities=tuple(body.assistance_identities),
    )
    person_id = await handlers.enrol(ctx, principal, command)
    return await _view(ctx, principal, person_id)


@router.post(
    "/import",
    status_code=201,
    summary="Import a population file, all or nothing (422 lists every row error)",
)
async def import_population(body: ImportRequest, principal: Agency, ctx: Ctx) -> Enrolled:
    count = await handlers.import_population(ctx, principal, body.content, body.file_format)
    return Enrolled(enrolled=count)


@router.post(
    "/local-settlements/import",
    status_code=201,
    summary="Import local settlements at home, all or nothing (422 lists every row error)",
)
async def import_local_settlements(
    body: LocalSettlementImportRequest, principal: Agency, ctx: Ctx
) -> LocalSettlementsRecorded:
    count = await person_year.import_local_settlements(
        ctx, principal, body.content, body.file_format
    )
    return LocalSettlementsRecorded(recorded=count)


@router.get(
    "",
    summary="Persons of the caller's insured region, by person number, a page at a time",
    responses={200: {"headers": LINK_HEADER}},
)
async def list_persons(
    principal: Agency, ctx: Ctx, page: Paging, request: Request, response: Response
) -> list[PersonView]:
    require_agency(principal)
    found = await queries.persons_of(ctx.runtime.engine, principal.region, page)
    announce(request, response, found)
    return [PersonView.model_validate(row) for row in found.rows]


@router.get("/{person_id}", summary="One insured person")
async def get_person(person_id: str, principal: Agency, ctx: Ctx) -> PersonView:
    return await _view(ctx, principal, person_id)


@router.patch("/{person_id}", summary="Update or correct a person's details")
async def update(person_id: str, body: UpdateRequest, principal: Agency, ctx: Ctx) -> PersonView:
    values = body.model_dump(exclude={"assistance_identities"})
    identities = body.assistance_identities
    command = UpdatePerson(
        **values, assistance_identities=None if identities is None else tuple(identities)
    )
    await handlers.act(ctx, principal, person_id, handlers.update(command, principal))
    return await _view(ctx, principal, person_id)


@router.post("/{person_id}/enrolment-status", summary="Active / suspended / terminated enrolment")
async def change_status(
    person_id: str, body: StatusRequest, principal: Agency, ctx: Ctx
) -> PersonView:
    decision = handlers.change_status(body.enrolment_status, body.effective_from, body.reason)
    await handlers.act(ctx, principal, person_id, decision)
    return await _view(ctx, principal, person_id)


@router.put("/{person_id}/account-balance", summary="Set the personal-account balance (fen)")
async def set_balance(
    person_id: str, body: BalanceRequest, principal: Agency, ctx: Ctx
) -> PersonView:
    decision = handlers.set_balance(body.account_balance, body.reason)
    await handlers.act(ctx, principal, person_id, decision)
    return await _view(ctx, principal, person_id)


@router.post("/{person_id}/account-credits", summary="Credit the personal account (fen)")
async def credit(person_id: str, body: AmountRequest, principal: Agency, ctx: Ctx) -> PersonView:
    await handlers.act(ctx, principal, person_id, handlers.credit(body.amount, body.reason))
    return await _view(ctx, principal, person_id)


@router.post("/{person_id}/account-debits", summary="Debit the personal account (fen)")
async def debit(person_id: str, body: AmountRequest, principal: Agency, ctx: Ctx) -> PersonView:
    await handlers.act(ctx, principal, person_id, handlers.debit(body.amount, body.reason))
    return await _view(ctx, principal, person_id)


@router.post(
    "/{person_id}/local-settlements",
    status_code=201,
    summary="Record a settlement at home: how it moved the person's year, what the account paid",
)
async def record_local_settlement(
    person_id: str, body: LocalSettlementRequest, principal: Agency, ctx: Ctx
) -> PersonYearView:
    values = body.model_dump(exclude={"local_settlement_id", "settled_on", "account_paid"})
    local = LocalSettlement(
        local_settlement_id=body.local_settlement_id,
        movement=AccumulatorMovement(**values, account_balance=0),
        account_paid=body.account_paid,
        settled_on=body.settled_on,
    )
    await person_year.record_local_settlement(ctx, principal, person_id, local)
    return await _year_view(ctx, principal, person_id, body.policy_year)


@router.get(
    "/{person_id}/years/{policy_year}",
    summary="The person's policy year and account as the insured place holds them (fen)",
)
async def get_year(
    person_id: str,
    principal: Agency,
    ctx: Ctx,
    policy_year: int = Path(ge=1900, le=9998, description="the policy year's name"),
) -> PersonYearView:
    return await _year_view(ctx, principal, person_id, policy_year)


async def _year_view(
    ctx: Context, principal: Principal, person_id: str, policy_year: int
) -> PersonYearView:
    async def load(unit: Unit) -> Any:
        return (await ctx.write.load(unit, person_stream(person_id), PERSON)).state

    person = await ctx.write.transact(load)
    if person is None:
        raise NotFound("person.not_enrolled", "no such insured person", field="person_id")
    require_own_region(principal, person.insured_region, field="person_id")
    totals = asdict(year_totals(person, policy_year))
    return PersonYearView.model_validate(
        {
            "person_id": person_id,
            "account_balance": person.account_balance,
            "visit_ledger_counted": person.visit_ledger_counted,
            "totals": totals,
        }
    )


@router.post("/{person_id}/death", summary="Record (or correct) the person's death")
async def death(person_id: str, body: DeathRequest, principal: Agency, ctx: Ctx) -> PersonView:
    await handlers.act(ctx, principal, person_id, handlers.record_death(body.death_date))
    return await _view(ctx, principal, person_id)


@router.post("/{person_id}/benefits/suspension", summary="Suspend benefits (暂停)")
async def suspend(person_id: str, body: SuspendRequest, principal: Agency, ctx: Ctx) -> PersonView:
    decision = handlers.suspend(body.effective_from, body.until, body.reason)
    await handlers.act(ctx, principal, person_id, decision)
    return await _view(ctx, principal, person_id)


@router.post("/{person_id}/benefits/resumption", summary="Resume suspended benefits (恢复)")
async def resume(
    person_id: str, body: BenefitChangeRequest, principal: Agency, ctx: Ctx
) -> PersonView:
    decision = handlers.resume(body.effective_from, body.reason)
    await handlers.act(ctx, principal, person_id, decision)
    return await _view(ctx, principal, person_id)


@router.post("/{person_id}/benefits/termination", summary="Terminate benefits (终止)")
async def terminate(
    person_id: str, body: BenefitChangeRequest, principal: Agency, ctx: Ctx
) -> PersonView:
    decision = handlers.terminate(body.effective_from, body.reason)
    await handlers.act(ctx, principal, person_id, decision)
    return await _view(ctx, principal, person_id)
