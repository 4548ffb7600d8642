"""Agency API of the visit place: hospitals, catalogue items, hospital item mappings, bulk import.

Every read and command is scoped to the caller's region (the visit place); the provincial centre
may act for any region.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from yidi_events.auth.agency import Agency, Principal, admit
from yidi_events.contracts.settlement import ItemClass
from yidi_events.kernel import DomainError
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
from yidi_settlement.his import reference as catalogue_file

HospitalAdmin = Annotated[Principal, Depends(admit("agency", "centre", roles=["hospital_admin"]))]
"""Who registers a hospital or changes its name, level, HIS secret, gateway credentials, bank
account or suspension: the agency's hospital administrator (定点机构管理)."""


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
    account: dict[str, Any] | None = None


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
    account: dict[str, Any] | None = None


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


def _hospital_json(row: Any) -> dict[str, Any]:
    data = dict(row)
    data["suspended_until"] = (
        None if data["suspended_until"] is None else data["suspended_until"].isoformat()
    )
    return data


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
    async def register(body: HospitalIn, principal: HospitalAdmin) -> dict[str, Any]:
        principal.require_region(body.region)
        fields = body.model_dump(exclude=set(CREDENTIAL_NAMES))
        credentials = GatewayCredentials(**body.model_dump(include=set(CREDENTIAL_NAMES)))
        await reference.register_hospital(
            HospitalDetails(**fields, credentials=credentials), by=principal.user_id
        )
        return await get_hospital(body.institution_code, principal)

    @api.get("/hospitals", summary="Hospitals of the caller's region")
    async def list_hospitals(principal: Agency) -> list[dict[str, Any]]:
        query = sa.select(hospitals).order_by(hospitals.c.institution_code)
        if principal.kind != "centre":
            query = query.where(hospitals.c.region == principal.region)
        async with runtime.engine.connect() as conn:
            return [_hospital_json(r) for r in (await conn.execute(query)).mappings()]

    @api.get("/hospitals/{code}", summary="One hospital")
    async def get_hospital(code: str, principal: Agency) -> dict[str, Any]:
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
        return _hospital_json(row)

    async def change(code: str, principal: Principal, **kwargs: Any) -> dict[str, Any]:
        principal.require_region(await region_of(code), field="institution_code")
        await reference.update_hospital(code, Change(**kwargs), by=principal.user_id)
        return await get_hospital(code, principal)

    @api.patch(
        "/hospitals/{code}",
        summary="Update level, networked flag, clearing agency, secret, credentials, account",
    )
    async def update(code: str, body: HospitalChange, principal: HospitalAdmin) -> dict[str, Any]:
        return await change(
            code,
            principal,
            name=body.institution_name,
            level=body.hospital_level,
            networked=body.networked,
            clearing_agency=body.clearing_agency,
            his_secret=body.his_secret,
            credentials=GatewayCredentials(**body.model_dump(include=set(CREDENTIAL_NAMES))),
            account=body.account,
        )

    @api.post("/hospitals/{code}/suspend", summary="Suspend direct settlement at the hospital")
    async def suspend(code: str, body: Suspension, principal: HospitalAdmin) -> dict[str, Any]:
        return await change(code, principal, suspended=True, suspended_until=body.suspended_until)

    @api.post("/hospitals/{code}/resume", summary="End the agency's suspension of the hospital")
    async def resume(code: str, principal: HospitalAdmin) -> dict[str, Any]:
        return await change(code, principal, suspended=False)

    @api.post("/catalogue/items", status_code=201, summary="Publish a catalogue item version")
    async def publish(body: CatalogueItemIn, principal: Agency) -> dict[str, Any]:
        principal.require_region(body.visit_region, field="visit_region")
        await reference.publish_items([CatalogueItem(**body.model_dump())])
        return body.model_dump(mode="json")

    @api.get("/catalogue/items", summary="Catalogue items of a region")
    async def list_items(principal: Agency, region: str | None = None) -> list[dict[str, Any]]:
        region = region or principal.region
        principal.require_region(region)
        async with runtime.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(catalogue_items)
                    .where(catalogue_items.c.visit_region == region)
                    .order_by(catalogue_items.c.catalogue_code, catalogue_items.c.effective_from)
                )
            ).mappings()
            return [
                {k: (str(v) if isinstance(v, Decimal | date) else v) for k, v in r.items()}
                for r in rows
            ]

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
    async def map_item(code: str, body: MappingIn, principal: Agency) -> dict[str, Any]:
        principal.require_region(await region_of(code), field="institution_code")
        await reference.map_item_alone(
            code, body.hospital_item_code, body.catalogue_code, tuple(body.tags)
        )
        return body.model_dump()

    @api.get("/hospitals/{code}/items", summary="A hospital's item mappings")
    async def list_mappings(code: str, principal: Agency) -> list[dict[str, Any]]:
        principal.require_region(await region_of(code), field="institution_code")
        async with runtime.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(hospital_items).where(hospital_items.c.institution_code == code)
                )
            ).mappings()
            return [dict(r) for r in rows]

    @api.delete("/hospitals/{code}/items/{item}", summary="Withdraw a mapping (as 3302)")
    async def unmap(code: str, item: str, principal: Agency) -> dict[str, str]:
        principal.require_region(await region_of(code), field="institution_code")
        await reference.unmap_item_alone(code, item)
        return {"hospital_item_code": item}

    return api
