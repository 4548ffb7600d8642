"""Read models of the service's own facts: hospitals, catalogue, item mappings, visits, settlements.

Applied inline after each append (same transaction) and rebuildable with `rebuild_from_store`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events import registry
from yidi_events.contracts.settlement import (
    PersonLedgerMoved,
    SettlementCancelled,
    VisitSettled,
)
from yidi_events.envelope import Envelope
from yidi_events.kernel import business_date
from yidi_events.runtime.projection import Projection, upsert
from yidi_settlement.adapters.tables import (
    catalogue_items,
    hospital_items,
    hospitals,
    ledger_movements,
    settlements,
    visits,
)
from yidi_settlement.domain.events import (
    AdmissionChanged,
    CatalogueItemPublished,
    DischargeCancelled,
    HospitalItemMapped,
    HospitalItemUnmapped,
    HospitalRegistered,
    HospitalUpdated,
    PatientDischarged,
    SettlementReinstated,
    VisitRegistered,
    VisitRegistrationCancelled,
)


def make_projection() -> Projection:
    projection = Projection(
        "settlement_own",
        [hospitals, catalogue_items, hospital_items, visits, settlements, ledger_movements],
    )

    @projection.on(PersonLedgerMoved)
    async def ledger(conn: AsyncConnection, env: Envelope) -> None:
        p: PersonLedgerMoved = env.payload
        row = {
            "person_id": p.person_id,
            "sequence": p.sequence,
            "policy_year": p.policy_year,
            "movement": registry.encode(p)["movement"],
        }
        await upsert(conn, ledger_movements, ["person_id", "sequence"], row)

    @projection.on(HospitalRegistered, HospitalUpdated)
    async def hospital(conn: AsyncConnection, env: Envelope) -> None:
        p = env.payload
        row = {
            "institution_code": p.institution_code,
            "institution_name": p.institution_name,
            "region": p.region,
            "hospital_level": p.hospital_level,
            "networked": p.networked,
            "suspended": getattr(p, "suspended", False),
            "suspended_until": getattr(p, "suspended_until", None),
            "clearing_agency": p.clearing_agency,
        }
        if isinstance(p, HospitalRegistered):  # an update never changes the kind
            row["kind"] = p.kind
        await upsert(conn, hospitals, ["institution_code"], row)

    @projection.on(CatalogueItemPublished)
    async def item(conn: AsyncConnection, env: Envelope) -> None:
        p: CatalogueItemPublished = env.payload
        row = {
            "visit_region": p.visit_region,
            "catalogue_code": p.catalogue_code,
            "effective_from": p.effective_from,
            "effective_to": p.effective_to,
            "name": p.name,
            "item_class": p.item_class.value,
            "self_pay_ratio": p.self_pay_ratio,
            "price_cap": p.price_cap,
            "list_type": p.list_type,
        }
        await upsert(
            conn, catalogue_items, ["visit_region", "catalogue_code", "effective_from"], row
        )

    @projection.on(HospitalItemMapped)
    async def mapped(conn: AsyncConnection, env: Envelope) -> None:
        p: HospitalItemMapped = env.payload
        row = {
            "institution_code": p.institution_code,
            "hospital_item_code": p.hospital_item_code,
            "catalogue_code": p.catalogue_code,
            "tags": list(p.tags),
        }
        await upsert(conn, hospital_items, ["institution_code", "hospital_item_code"], row)

    @projection.on(HospitalItemUnmapped)
    async def unmapped(conn: AsyncConnection, env: Envelope) -> None:
        p: HospitalItemUnmapped = env.payload
        await conn.execute(
            hospital_items.delete().where(
                hospital_items.c.institution_code == p.institution_code,
                hospital_items.c.hospital_item_code == p.hospital_item_code,
            )
        )

    @projection.on(VisitRegistered)
    async def registered(conn: AsyncConnection, env: Envelope) -> None:
        p: VisitRegistered = env.payload
        row = {
            "visit_id": p.visit_id,
            "person_id": p.person_id,
            "institution_code": p.institution_code,
            "insured_region": p.insured_region,
            "visit_region": p.visit_region,
            "insurance_type": p.insurance_type,
            "medical_type": p.medical_type,
            "began_at": p.began_at,
            "discharged_on": None,
            "status": "open",
            "emergency": p.emergency,
            "filing_id": p.filing_id,
            "message_id": p.message_id,
        }
        await upsert(conn, visits, ["visit_id"], row)

    @projection.on(VisitRegistrationCancelled)
    async def registration_cancelled(conn: AsyncConnection, env: Envelope) -> None:
        await conn.execute(
            visits.update()
            .where(visits.c.visit_id == env.payload.visit_id)
            .values(status="registration_cancelled")
        )

    @projection.on(PatientDischarged)
    async def discharged(conn: AsyncConnection, env: Envelope) -> None:
        p: PatientDischarged = env.payload
        await conn.execute(
            visits.update()
            .where(visits.c.visit_id == p.visit_id)
            .values(status="discharged", discharged_on=p.discharged_on)
        )

    # A rebuild's page and a consumer-driven append of many visits: one upsert and one visits
    # UPDATE a run of settled visits, not two statements a visit. A run holds no cancellation (its
    # own handler, below, keeps the order between them), so every visit of it ends "settled".
    @projection.on_batch(VisitSettled)
    async def settled_many(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        rows = {row["settlement_id"]: row for row in map(_settlement_row, envs)}
        kept = list(rows.values())
        if len(kept) == 1:  # a 2207's one visit: the two statements it always ran
            (row,) = kept
            await upsert(conn, settlements, ["settlement_id"], row)
            await conn.execute(
                visits.update().where(visits.c.visit_id == row["visit_id"]).values(status="settled")
            )
            return
        for start in range(0, len(kept), _ROWS_PER_STATEMENT):
            chunk = kept[start : start + _ROWS_PER_STATEMENT]
            stmt = insert(settlements).values(chunk)
            changes = {k: stmt.excluded[k] for k in chunk[0] if k != "settlement_id"}
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["settlement_id"], set_=changes)
            )
            await conn.execute(
                visits.update()
                .where(visits.c.visit_id.in_([row["visit_id"] for row in chunk]))
                .values(status="settled")
            )

    @projection.on(SettlementCancelled)
    async def cancelled(conn: AsyncConnection, env: Envelope) -> None:
        p: SettlementCancelled = env.payload
        await upsert(conn, settlements, ["settlement_id"], _settlement_row(env))
        await conn.execute(
            settlements.update()
            .where(settlements.c.settlement_id == p.original_settlement_id)
            .values(cancelled_by=p.settlement_id)
        )
        await conn.execute(
            visits.update()
            .where(visits.c.visit_id == p.visit_id)
            .values(status="settlement_cancelled")
        )

    @projection.on(SettlementReinstated)
    async def reinstated(conn: AsyncConnection, env: Envelope) -> None:
        p: SettlementReinstated = env.payload
        await conn.execute(
            settlements.update()
            .where(settlements.c.settlement_id == p.settlement_id)
            .values(cancelled_by=None)
        )
        await conn.execute(
            visits.update().where(visits.c.visit_id == p.visit_id).values(status="settled")
        )

    @projection.on(AdmissionChanged)
    async def admission_changed(conn: AsyncConnection, env: Envelope) -> None:
        p: AdmissionChanged = env.payload
        await conn.execute(
            visits.update()
            .where(visits.c.visit_id == p.visit_id)
            .values(began_at=p.began_at, medical_type=p.medical_type)
        )

    @projection.on(DischargeCancelled)
    async def discharge_cancelled(conn: AsyncConnection, env: Envelope) -> None:
        await conn.execute(
            visits.update()
            .where(visits.c.visit_id == env.payload.visit_id)
            .values(status="open", discharged_on=None)
        )

    return projection


# Rows a multi-row upsert carries: 21 columns a row, well under the driver's 32,767 parameters.
_ROWS_PER_STATEMENT = 1_000


def _settlement_row(env: Envelope) -> dict[str, Any]:
    """A settlement's row, or a refund's (a cancellation is a settlement of its own)."""
    p: VisitSettled | SettlementCancelled = env.payload
    refund = isinstance(p, SettlementCancelled)
    at = p.cancelled_at if isinstance(p, SettlementCancelled) else p.settled_at
    encoded = registry.encode(p)
    return {
        "settlement_id": p.settlement_id,
        "visit_id": p.visit_id,
        "person_id": p.person_id,
        "institution_code": p.institution_code,
        "is_refund": refund,
        "original_settlement_id": (
            p.original_settlement_id if isinstance(p, SettlementCancelled) else None
        ),
        "cancelled_by": None,
        "message_id": p.message_id,
        "insured_region": p.insured_region,
        "visit_region": p.visit_region,
        "clearing_agency": p.clearing_agency,
        "clearing_category": p.clearing_category,
        "insurance_type": p.insurance_type,
        "medical_type": p.medical_type,
        "totals": encoded["totals"],
        "fund_payments": encoded["fund_payments"],
        "account_paid": p.totals.account_paid,
        "account_balance_after": p.account_balance_after,
        "settled_at": at,
        "business_date": env.business_date or business_date(at),
    }
