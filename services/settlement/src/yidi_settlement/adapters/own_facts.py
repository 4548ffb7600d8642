"""Read models of the service's own facts: hospitals, catalogue, item mappings, visits, settlements.

Applied inline after each append (same transaction) and rebuildable with `rebuild_from_store`.

A rebuild's page, or an append of many streams, goes through one batch handler: the run folded
per row in memory in stream order (`RowFold`), then one multi-row statement per table and shape.
A 2207's append (its settlement and its ledger movement) is a run of two facts: the settlement's
upsert, the visit's status and the movement's upsert, the three statements it always ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events import registry
from yidi_events.contracts.settlement import (
    PersonLedgerMoved,
    SettlementCancelled,
    VisitSettled,
)
from yidi_events.envelope import Envelope
from yidi_events.kernel import business_date
from yidi_events.runtime.projection import Projection
from yidi_events.runtime.row_fold import RowFold
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

FOLDED = (
    PersonLedgerMoved,
    HospitalRegistered,
    HospitalUpdated,
    CatalogueItemPublished,
    HospitalItemMapped,
    VisitRegistered,
    VisitRegistrationCancelled,
    PatientDischarged,
    AdmissionChanged,
    DischargeCancelled,
    VisitSettled,
    SettlementCancelled,
    SettlementReinstated,
)
"""The facts a run folds: each changes rows found by their key."""


def make_projection() -> Projection:
    projection = Projection(
        "settlement_own",
        [hospitals, catalogue_items, hospital_items, visits, settlements, ledger_movements],
    )

    @projection.on_batch(*FOLDED)
    async def facts(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        rows = _Rows()
        for env in envs:
            _fold(rows, env)
        await rows.write(conn)

    @projection.on(HospitalItemUnmapped)
    async def unmapped(conn: AsyncConnection, env: Envelope) -> None:
        # A row deleted, which a fold of upserts and updates does not state: one at a time
        # between the runs, which keeps its place in the order (a rare fact of reference data).
        p: HospitalItemUnmapped = env.payload
        await conn.execute(
            hospital_items.delete().where(
                hospital_items.c.institution_code == p.institution_code,
                hospital_items.c.hospital_item_code == p.hospital_item_code,
            )
        )

    return projection


class _Rows:
    """The projection's tables as a run leaves them, one `RowFold` each."""

    def __init__(self) -> None:
        self.hospitals = RowFold(hospitals)
        self.catalogue = RowFold(catalogue_items)
        self.items = RowFold(hospital_items)
        self.visits = RowFold(visits)
        self.settlements = RowFold(settlements)
        self.ledger = RowFold(ledger_movements)

    async def write(self, conn: AsyncConnection) -> None:
        # Keyed rows of distinct tables: no statement reads what another writes, so any order.
        for rows in (
            self.hospitals,
            self.catalogue,
            self.items,
            self.visits,
            self.settlements,
            self.ledger,
        ):
            await rows.write(conn)


def _fold(rows: _Rows, env: Envelope) -> None:
    """What one fact does to the projection's rows."""
    p = env.payload
    if isinstance(p, VisitSettled):
        rows.settlements.upsert(_settlement_row(env))
        rows.visits.update({"visit_id": p.visit_id}, {"status": "settled"})
    elif isinstance(p, PersonLedgerMoved):
        rows.ledger.upsert(
            {
                "person_id": p.person_id,
                "sequence": p.sequence,
                "policy_year": p.policy_year,
                "movement": registry.encode(p)["movement"],
            }
        )
    elif isinstance(p, SettlementCancelled):
        # The refund is a settlement row of its own; the original points at it.
        rows.settlements.upsert(_settlement_row(env))
        rows.settlements.update(
            {"settlement_id": p.original_settlement_id}, {"cancelled_by": p.settlement_id}
        )
        rows.visits.update({"visit_id": p.visit_id}, {"status": "settlement_cancelled"})
    elif isinstance(p, SettlementReinstated):
        rows.settlements.update({"settlement_id": p.settlement_id}, {"cancelled_by": None})
        rows.visits.update({"visit_id": p.visit_id}, {"status": "settled"})
    elif isinstance(p, VisitRegistered):
        rows.visits.upsert(
            {
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
        )
    elif isinstance(p, VisitRegistrationCancelled):
        rows.visits.update({"visit_id": p.visit_id}, {"status": "registration_cancelled"})
    elif isinstance(p, PatientDischarged):
        rows.visits.update(
            {"visit_id": p.visit_id}, {"status": "discharged", "discharged_on": p.discharged_on}
        )
    elif isinstance(p, AdmissionChanged):
        rows.visits.update(
            {"visit_id": p.visit_id}, {"began_at": p.began_at, "medical_type": p.medical_type}
        )
    elif isinstance(p, DischargeCancelled):
        rows.visits.update({"visit_id": p.visit_id}, {"status": "open", "discharged_on": None})
    elif isinstance(p, HospitalRegistered | HospitalUpdated):
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
        rows.hospitals.upsert(row)
    elif isinstance(p, CatalogueItemPublished):
        rows.catalogue.upsert(
            {
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
        )
    elif isinstance(p, HospitalItemMapped):
        rows.items.upsert(
            {
                "institution_code": p.institution_code,
                "hospital_item_code": p.hospital_item_code,
                "catalogue_code": p.catalogue_code,
                "tags": list(p.tags),
            }
        )
    else:
        raise TypeError(f"settlement_own: no fold for {env.event_type}")


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
