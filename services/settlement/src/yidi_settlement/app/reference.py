"""Visit-place reference data: the hospital registry, the catalogue and hospital item mappings.

Each hospital is a stream (`hospital-<code>`), each catalogue code of a region a stream, each
hospital's item mappings a stream; the HIS secret and account details are written beside the
event (never in it), in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.contracts.settlement import (
    CatalogueItemPublished,
    HospitalItemMapped,
    HospitalItemUnmapped,
    HospitalRegistered,
    HospitalUpdated,
    ItemClass,
)
from yidi_events.envelope import Envelope
from yidi_events.kernel import Conflict, DomainError, NotFound, business_date, validate_region
from yidi_events.runtime.projection import Projection
from yidi_events.service import Runtime
from yidi_events.store import NewEvent
from yidi_settlement.adapters.tables import (
    catalogue_items,
    hospital_accounts,
    hospital_items,
    hospital_secrets,
    hospitals,
)


@dataclass(frozen=True, kw_only=True)
class HospitalDetails:
    institution_code: str
    institution_name: str
    region: str
    hospital_level: str
    networked: bool
    clearing_agency: str | None = None
    his_secret: str | None = None
    account: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class CatalogueItem:
    visit_region: str
    catalogue_code: str
    name: str
    item_class: ItemClass
    self_pay_ratio: Decimal
    price_cap: Decimal | None
    list_type: str
    effective_from: date
    effective_to: date | None = None


def _check_level(level: str) -> None:
    if level not in ("1", "2", "3"):
        raise DomainError(
            "hospital.level",
            f"hospital level must be 1, 2 or 3, got {level!r}",
            field="hospital_level",
        )


def _check_region(region: str, field: str) -> None:
    try:
        validate_region(region)
    except ValueError as exc:
        raise DomainError("hospital.region", str(exc), field=field) from exc


@dataclass
class ReferenceService:
    runtime: Runtime
    projection: Projection

    async def _append(
        self, conn: AsyncConnection, stream: str, events: Sequence[Any], now: datetime
    ) -> None:
        version = len(await self.runtime.store.load(conn, stream))
        envelopes: list[Envelope] = await self.runtime.store.append(
            conn, stream, version, [NewEvent(e, business_date(now)) for e in events]
        )
        for envelope in envelopes:
            await self.projection.apply(conn, envelope)

    async def _hospital_row(self, conn: AsyncConnection, code: str) -> dict[str, Any]:
        row = (
            (await conn.execute(sa.select(hospitals).where(hospitals.c.institution_code == code)))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(
                "hospital.not_found", f"hospital {code} is not registered", field="institution_code"
            )
        return dict(row)

    async def register_hospital(
        self, conn: AsyncConnection, details: HospitalDetails, now: datetime
    ) -> None:
        _check_level(details.hospital_level)
        _check_region(details.region, "region")
        stream = f"hospital-{details.institution_code}"
        if await self.runtime.store.load(conn, stream):
            raise Conflict(
                "hospital.already_registered",
                f"hospital {details.institution_code} is already registered",
                field="institution_code",
            )
        if not details.his_secret or len(details.his_secret) < 16:
            raise DomainError(
                "hospital.his_secret",
                "a HIS secret of at least 16 characters is required",
                field="his_secret",
            )
        event = HospitalRegistered(
            institution_code=details.institution_code,
            institution_name=details.institution_name,
            region=details.region,
            hospital_level=details.hospital_level,
            networked=details.networked,
            clearing_agency=details.clearing_agency or details.region,
            registered_at=now,
        )
        await self._append(conn, stream, [event], now)
        await self._set_secret(conn, details.institution_code, details.his_secret)
        if details.account is not None:
            await self._set_account(conn, details.institution_code, details.account)

    async def update_hospital(
        self,
        conn: AsyncConnection,
        code: str,
        now: datetime,
        *,
        name: str | None = None,
        level: str | None = None,
        networked: bool | None = None,
        suspended: bool | None = None,
        suspended_until: date | None = None,
        clearing_agency: str | None = None,
        his_secret: str | None = None,
        account: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        row = await self._hospital_row(conn, code)
        if level is not None:
            _check_level(level)
        event = HospitalUpdated(
            institution_code=code,
            institution_name=name or row["institution_name"],
            region=row["region"],
            hospital_level=level or row["hospital_level"],
            networked=row["networked"] if networked is None else networked,
            suspended=row["suspended"] if suspended is None else suspended,
            clearing_agency=clearing_agency or row["clearing_agency"],
            updated_at=now,
            suspended_until=suspended_until if suspended else None,
        )
        await self._append(conn, f"hospital-{code}", [event], now)
        if his_secret is not None:
            if len(his_secret) < 16:
                raise DomainError(
                    "hospital.his_secret",
                    "a HIS secret of at least 16 characters is required",
                    field="his_secret",
                )
            await self._set_secret(conn, code, his_secret)
        if account is not None:
            await self._set_account(conn, code, account)
        return await self._hospital_row(conn, code)

    async def _set_secret(self, conn: AsyncConnection, code: str, secret: str) -> None:
        stmt = insert(hospital_secrets).values(institution_code=code, his_secret=secret)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["institution_code"], set_={"his_secret": secret}
            )
        )

    async def _set_account(self, conn: AsyncConnection, code: str, account: dict[str, Any]) -> None:
        stmt = insert(hospital_accounts).values(institution_code=code, account=account)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["institution_code"], set_={"account": account}
            )
        )

    async def publish_item(self, conn: AsyncConnection, item: CatalogueItem, now: datetime) -> None:
        _check_region(item.visit_region, "visit_region")
        if not 0 <= item.self_pay_ratio <= 1:
            raise DomainError(
                "catalogue.self_pay_ratio",
                "self_pay_ratio must lie in [0, 1]",
                field="self_pay_ratio",
            )
        if item.price_cap is not None and item.price_cap < 0:
            raise DomainError(
                "catalogue.price_cap", "price_cap cannot be negative", field="price_cap"
            )
        if item.effective_to is not None and item.effective_to < item.effective_from:
            raise DomainError(
                "catalogue.effective_to",
                "effective_to is before effective_from",
                field="effective_to",
            )
        event = CatalogueItemPublished(
            visit_region=item.visit_region,
            catalogue_code=item.catalogue_code,
            name=item.name,
            item_class=item.item_class,
            self_pay_ratio=item.self_pay_ratio.quantize(Decimal("0.0001")),
            price_cap=item.price_cap,
            list_type=item.list_type,
            effective_from=item.effective_from,
            effective_to=item.effective_to,
        )
        await self._append(
            conn, f"catalogue-{item.visit_region}-{item.catalogue_code}", [event], now
        )

    async def map_item(
        self,
        conn: AsyncConnection,
        institution: str,
        hospital_item_code: str,
        catalogue_code: str,
        now: datetime,
        tags: tuple[str, ...] = (),
    ) -> None:
        row = await self._hospital_row(conn, institution)
        known = await conn.scalar(
            sa.select(sa.func.count()).where(
                catalogue_items.c.visit_region == row["region"],
                catalogue_items.c.catalogue_code == catalogue_code,
            )
        )
        if not known:
            raise NotFound(
                "catalogue.not_found",
                f"{catalogue_code} is not in the {row['region']} catalogue",
                field="med_list_codg",
            )
        event = HospitalItemMapped(
            institution_code=institution,
            hospital_item_code=hospital_item_code,
            catalogue_code=catalogue_code,
            mapped_at=now,
            tags=tags,
        )
        await self._append(conn, f"hospital-items-{institution}", [event], now)

    async def unmap_item(
        self, conn: AsyncConnection, institution: str, hospital_item_code: str, now: datetime
    ) -> None:
        code = await conn.scalar(
            sa.select(hospital_items.c.catalogue_code).where(
                hospital_items.c.institution_code == institution,
                hospital_items.c.hospital_item_code == hospital_item_code,
            )
        )
        if code is None:
            raise NotFound(
                "catalogue.mapping_not_found",
                f"hospital item {hospital_item_code} is not mapped",
                field="fixmedins_hilist_id",
            )
        event = HospitalItemUnmapped(
            institution_code=institution,
            hospital_item_code=hospital_item_code,
            catalogue_code=str(code),
            unmapped_at=now,
        )
        await self._append(conn, f"hospital-items-{institution}", [event], now)
