"""Visit-place reference data: the hospital registry, the catalogue and hospital item mappings.

The HIS secret, the gateway credentials and account details are written beside the hospital's event (never in it), in the
same unit. Mappings also arrive as HIS messages (3301/3302), inside the message's unit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from yidi_events.application import Unit, WritePath
from yidi_settlement.app.ports import HospitalSecrets
from yidi_settlement.domain import reference as r
from yidi_settlement.domain.reference import (
    CREDENTIAL_NAMES,
    CatalogueItem,
    GatewayCredentials,
    HospitalChange,
    HospitalDetails,
)

__all__ = [
    "CREDENTIAL_NAMES",
    "CatalogueItem",
    "GatewayCredentials",
    "HospitalChange",
    "HospitalDetails",
    "ReferenceService",
]


@dataclass
class ReferenceService:
    write: WritePath
    secrets: HospitalSecrets
    secrets_changed: Callable[[], None] = lambda: None
    """Told after a unit that wrote secrets or credentials ended (committed or not), so that a
    per-process cache of them reads afresh."""

    async def register_hospital(self, details: HospitalDetails, *, by: str) -> None:
        """`by`: the registering user's id from the identity store, kept in the events."""
        now = self.write.clock.now()

        async def work(unit: Unit) -> None:
            await self.write.decide(
                unit,
                r.hospital_stream(details.institution_code),
                r.HOSPITAL,
                lambda state: r.decide_register_hospital(state, details, now, by=by),
            )
            assert details.his_secret is not None  # the decision refused a missing one
            await self.secrets.set_secret(unit, details.institution_code, details.his_secret)
            await self.secrets.set_credentials(
                unit, details.institution_code, details.credentials.given()
            )
            if details.account is not None:
                await self.secrets.set_account(unit, details.institution_code, details.account)

        try:
            await self.write.transact(work)
        finally:
            self.secrets_changed()

    async def update_hospital(self, code: str, change: HospitalChange, *, by: str) -> None:
        now = self.write.clock.now()

        async def work(unit: Unit) -> None:
            await self.write.decide(
                unit,
                r.hospital_stream(code),
                r.HOSPITAL,
                lambda state: r.decide_update_hospital(state, code, change, now, by=by),
            )
            if change.his_secret is not None:
                await self.secrets.set_secret(unit, code, change.his_secret)
            await self.secrets.set_credentials(unit, code, change.credentials.given())
            if change.account is not None:
                await self.secrets.set_account(unit, code, change.account)

        try:
            await self.write.transact(work)
        finally:
            self.secrets_changed()

    async def publish_items(self, items: Sequence[CatalogueItem]) -> int:
        """Publish every item or none (a bulk import is one unit)."""

        async def work(unit: Unit) -> int:
            for item in items:
                events = r.decide_publish_item(item)
                stream = r.catalogue_stream(item.visit_region, item.catalogue_code)
                published = await self.write.load(unit, stream, r.CATALOGUE_CODE)
                await self.write.append(unit, stream, published.version, events)
            return len(items)

        return await self.write.transact(work)

    async def map_item(
        self,
        unit: Unit,
        institution: str,
        hospital_item_code: str,
        catalogue_code: str,
        now: datetime,
        tags: tuple[str, ...] = (),
    ) -> None:
        hospital = r.registered(
            (await self.write.load(unit, r.hospital_stream(institution), r.HOSPITAL)).state,
            institution,
        )
        published = await self.write.load(
            unit, r.catalogue_stream(hospital.region, catalogue_code), r.CATALOGUE_CODE
        )
        await self.write.decide(
            unit,
            r.items_stream(institution),
            r.HOSPITAL_ITEMS,
            lambda _: r.decide_map_item(
                hospital,
                published.state,
                hospital_item_code=hospital_item_code,
                catalogue_code=catalogue_code,
                tags=tags,
                now=now,
            ),
        )

    async def unmap_item(
        self, unit: Unit, institution: str, hospital_item_code: str, now: datetime
    ) -> None:
        await self.write.decide(
            unit,
            r.items_stream(institution),
            r.HOSPITAL_ITEMS,
            lambda mappings: r.decide_unmap_item(
                mappings,
                institution_code=institution,
                hospital_item_code=hospital_item_code,
                now=now,
            ),
        )

    async def map_item_alone(
        self,
        institution: str,
        hospital_item_code: str,
        catalogue_code: str,
        tags: tuple[str, ...] = (),
    ) -> None:
        """`map_item` as a command of its own (the agency API)."""
        await self.write.transact(
            lambda unit: self.map_item(
                unit, institution, hospital_item_code, catalogue_code, self.write.clock.now(), tags
            )
        )

    async def unmap_item_alone(self, institution: str, hospital_item_code: str) -> None:
        """`unmap_item` as a command of its own (the agency API)."""
        await self.write.transact(
            lambda unit: self.unmap_item(
                unit, institution, hospital_item_code, self.write.clock.now()
            )
        )
