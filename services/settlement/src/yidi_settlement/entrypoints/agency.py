"""Agency API of the visit place: hospitals, catalogue items, hospital item mappings, bulk import.

Every read and command is scoped to the caller's region (the visit place); the provincial centre
may act for any region.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from yidi_events.auth.agency import Agency, Principal, admit
from yidi_events.contracts.settlement import ItemClass
from yidi_events.kernel import DomainError
from yidi_events.paging import LINK_HEADER, Keyset, Paging, keyset_query, paged
from yidi_events.service import Runtime
from yidi_settlement.adapters.tables import catalogue_items, hospital_items, hospitals
from yidi_settlement.app.reference import (
    CREDENTIAL_NAMES,
    CatalogueItem,
    GatewayCredentials,
    HospitalDetails,
    ReferenceService,
)
from yidi_settlement.app.reference import HospitalChange as Change
from yidi_settlement.domain.reference import InstitutionKind
from yidi_settlement.entrypoints.models import (
    CatalogueItemView,
    HospitalItemView,
    HospitalView,
    MappingView,
    Unmapped,
)
from yidi_settlement.his import reference as catalogue_file

HospitalAdmin = Annotated[Principal, Depends(admit("agency", "centre", roles=["hospital_admin"]))]
"""Who registers a hospital or changes its name, level, HIS secret, gateway credentials, bank
account or suspension: the agency's hospital administrator (定点机构管理)."""


class PayoutAccount(BaseModel):
    """Where clearing pays the hospital; other details the agency keeps are kept as given."""

    model_config = ConfigDict(extra="allow")

    bank: str | None = Field(default=None, max_length=200, description="the bank's name")
    no: str | None = Field(default=None, max_length=64, description="the account number")


class HospitalIn(BaseModel):
    institution_code: str = Field(min_length=1, max_length=30)
    institution_name: str = Field(min_length=1, max_length=200)
    region: str = Field(pattern=r"^\d{6}$")
    # A retail pharmacy has no hospital level: a policy prices its purchases by its own pharmacy
    # part (a ratio or the level it names), so a pharmacy registers without one.
    hospital_level: str | None = Field(default=None, pattern=r"^(1|2|3|1t|3a)$")
    kind: InstitutionKind = InstitutionKind.HOSPITAL
    networked: bool
    clearing_agency: str | None = Field(default=None, pattern=r"^\d{6}$")
    his_secret: str = Field(min_length=16)
    tif_paasid: str | None = Field(default=None, min_length=1, max_length=200)
    tif_token: str | None = Field(default=None, min_length=1, max_length=200)
    csb_access_key: str | None = Field(default=None, min_length=1, max_length=200)
    csb_secret_key: str | None = Field(default=None, min_length=1, max_length=200)
    account: PayoutAccount | None = None


class HospitalChange(BaseModel):
    institution_name: str | None = None
    hospital_level: str | None = Field(default=None, pattern=r"^(1|2|3|1t|3a)$")
    networked: bool | None = None
    clearing_agency: str | None = Field(default=None, pattern=r"^\d{6}$")
    his_secret: str | None = Field(default=None, min_length=16)
    tif_paasid: str | None = Field(default=None, min_length=1, max_length=200)
    tif_token: str | None = Field(default=None, min_length=1, max_length=200)
    csb_access_key: str | None = Field(default=None, min_length=1, max_length=200)
    csb_secret_key: str | None = Field(default=None, min_length=1, max_length=200)
    account: PayoutAccount | None = None


class Suspension(BaseModel):
    suspended_until: date | None = None


class CatalogueItemIn(BaseModel):
    visit_region: str = Field(pattern=r"^\d{6}$")
    catalogue_code: str = Field(min_length=1, max_length=50)
    name: str = ""
    item_class: ItemClass
    self_pay_ratio: Decimal = Field(ge=0, le=1, decimal_places=4)
    price_cap: Decimal | None = Field(default=None, ge=0)
    list_type: str = ""
    effective_from: date
    effective_to: date | None = None


class MappingIn(BaseModel):
    hospital_item_code: str = Field(min_length=1)
    catalogue_code: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)


class ImportResult(BaseModel):
    imported: int


def _account(account: PayoutAccount | None) -> dict[str, Any] | None:
    # Stored as the agency sent it: only what it gave, nothing filled in.
    return None if account is None else account.model_dump(exclude_unset=True)


HOSPITALS = Keyset((hospitals.c.institution_code,))
CATALOGUE = Keyset((catalogue_items.c.catalogue_code, catalogue_items.c.effective_from))
HOSPITAL_ITEMS = Keyset((hospital_items.c.hospital_item_code,))


def _catalogue_item(row: Any) -> CatalogueItemView:
    # Decimals as their text, as the API always gave them: a float would lose the exact ratio.
    return CatalogueItemView.model_validate(
        {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}
    )


def router(runtime: Runtime, reference: ReferenceService) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["visit-place agency"])

    async def region_of(code: str) -> str:
        async with runtime.engine.connect() as conn:
            region = await conn.scalar(
                sa.select(hospitals.c.region).where(hospitals.c.institution_code == code)
            )
        if region is None:
            raise DomainError(
                "hospital.not_found", f"hospital {code} is not registered", field="institution_code"
            )
        return str(region)

    @api.post(
        "/hospitals",
        status_code=201,
        summary="Register a designated hospital (with its HIS secret and gateway credentials)",
    )
    async def register(body: HospitalIn, principal: HospitalAdmin) -> HospitalView:
        principal.require_region(body.region)
        fields = body.model_dump(exclude={*CREDENTIAL_NAMES, "account"})
        credentials = GatewayCredentials(**body.model_dump(include=set(CREDENTIAL_NAMES)))
        await reference.register_hospital(
            HospitalDetails(**fields, credentials=credentials, account=_account(body.account)),
            by=principal.user_id,
        )
        return await get_hospital(body.institution_code, principal)

    @api.get(
        "/hospitals",
        summary="Hospitals of the caller's region, by institution code, a page at a time",
        responses={200: {"headers": LINK_HEADER}},
    )
    async def list_hospitals(
        principal: Agency, page: Paging, request: Request, response: Response
    ) -> list[HospitalView]:
        query = sa.select(hospitals)
        if principal.kind != "centre":
            query = query.where(hospitals.c.region == principal.region)
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(keyset_query(query, HOSPITALS, page))).mappings().all()
        return [
            HospitalView.model_validate(r) for r in paged(rows, HOSPITALS, page, request, response)
        ]

    @api.get("/hospitals/{code}", summary="One hospital")
    async def get_hospital(code: str, principal: Agency) -> HospitalView:
        principal.require_region(await region_of(code), field="institution_code")
        async with runtime.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(hospitals).where(hospitals.c.institution_code == code)
                    )
                )
                .mappings()
                .one()
            )
        return HospitalView.model_validate(row)

    async def change(code: str, principal: Principal, **kwargs: Any) -> HospitalView:
        principal.require_region(await region_of(code), field="institution_code")
        await reference.update_hospital(code, Change(**kwargs), by=principal.user_id)
        return await get_hospital(code, principal)

    @api.patch(
        "/hospitals/{code}",
        summary="Update level, networked flag, clearing agency, secret, credentials, account",
    )
    async def update(code: str, body: HospitalChange, principal: HospitalAdmin) -> HospitalView:
        return await change(
            code,
            principal,
            name=body.institution_name,
            level=body.hospital_level,
            networked=body.networked,
            clearing_agency=body.clearing_agency,
            his_secret=body.his_secret,
            credentials=GatewayCredentials(**body.model_dump(include=set(CREDENTIAL_NAMES))),
            account=_account(body.account),
        )

    @api.post("/hospitals/{code}/suspend", summary="Suspend direct settlement at the hospital")
    async def suspend(code: str, body: Suspension, principal: HospitalAdmin) -> HospitalView:
        return await change(code, principal, suspended=True, suspended_until=body.suspended_until)

    @api.post("/hospitals/{code}/resume", summary="End the agency's suspension of the hospital")
    async def resume(code: str, principal: HospitalAdmin) -> HospitalView:
        return await change(code, principal, suspended=False)

    @api.post("/catalogue/items", status_code=201, summary="Publish a catalogue item version")
    async def publish(body: CatalogueItemIn, principal: Agency) -> CatalogueItemView:
        principal.require_region(body.visit_region, field="visit_region")
        await reference.publish_items([CatalogueItem(**body.model_dump())])
        return CatalogueItemView.model_validate(body.model_dump(mode="json"))

    @api.get(
        "/catalogue/items",
        summary="Catalogue items of a region, by code then version, a page at a time",
        responses={200: {"headers": LINK_HEADER}},
    )
    async def list_items(
        principal: Agency,
        page: Paging,
        request: Request,
        response: Response,
        region: str | None = None,
    ) -> list[CatalogueItemView]:
        region = region or principal.region
        principal.require_region(region)
        query = sa.select(catalogue_items).where(catalogue_items.c.visit_region == region)
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(keyset_query(query, CATALOGUE, page))).mappings().all()
        return [_catalogue_item(r) for r in paged(rows, CATALOGUE, page, request, response)]

    @api.post(
        "/catalogue/import",
        summary="Bulk import catalogue items from a JSON list/object or CSV file body",
    )
    async def import_items(
        request: Request, principal: Agency, region: str, effective_from: date
    ) -> ImportResult:
        principal.require_region(region)
        raw = (await request.body()).decode("utf-8-sig")
        items = catalogue_file.catalogue_items(
            raw, request.headers.get("content-type", ""), region, effective_from
        )
        return ImportResult(imported=await reference.publish_items(items))

    @api.post(
        "/hospitals/{code}/items",
        status_code=201,
        summary="Map a hospital item to the catalogue (as 3301)",
    )
    async def map_item(code: str, body: MappingIn, principal: Agency) -> MappingView:
        principal.require_region(await region_of(code), field="institution_code")
        await reference.map_item_alone(
            code, body.hospital_item_code, body.catalogue_code, tuple(body.tags)
        )
        return MappingView.model_validate(body.model_dump())

    @api.get(
        "/hospitals/{code}/items",
        summary="A hospital's item mappings, by hospital item code, a page at a time",
        responses={200: {"headers": LINK_HEADER}},
    )
    async def list_mappings(
        code: str, principal: Agency, page: Paging, request: Request, response: Response
    ) -> list[HospitalItemView]:
        principal.require_region(await region_of(code), field="institution_code")
        query = sa.select(hospital_items).where(hospital_items.c.institution_code == code)
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(keyset_query(query, HOSPITAL_ITEMS, page))).mappings().all()
        return [
            HospitalItemView.model_validate(r)
            for r in paged(rows, HOSPITAL_ITEMS, page, request, response)
        ]

    @api.delete("/hospitals/{code}/items/{item}", summary="Withdraw a mapping (as 3302)")
    async def unmap(code: str, item: str, principal: Agency) -> Unmapped:
        principal.require_region(await region_of(code), field="institution_code")
        await reference.unmap_item_alone(code, item)
        return Unmapped(hospital_item_code=item)

    return api
