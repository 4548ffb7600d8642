"""Reads of the reimbursement tables: the facts a claim is decided on (the app's port) and the
views the agency and the person read."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_benefits.filings import FilingSnapshot
from yidi_events.application import Unit
from yidi_events.contracts.policy import AssistanceIdentity, FilingKind
from yidi_events.contracts.reimbursement import ClaimInvoice
from yidi_events.contracts.settlement import AccumulatorMovement
from yidi_events.kernel import Conflict
from yidi_events.paging import Keyset, Page, PageRequest, keyset_query, page_of
from yidi_events.policy_document import parse_policy_document
from yidi_reimbursement.adapters.tables import (
    claimed_invoices,
    claims,
    counted_claims,
    filing_versions,
    notifications,
    payment_batches,
    person_years,
    persons,
    policies,
    settled_visits,
)
from yidi_reimbursement.domain.claim import SettledVisit, Step, invoice_field
from yidi_reimbursement.domain.computation import InsuredPerson, PolicyInForce


class PostgresClaimFacts:
    """The app's port (`app/ports.py`) on the service's PostgreSQL tables."""

    async def settled_visits(self, unit: Unit, person_id: str) -> list[SettledVisit]:
        rows = await unit.conn.execute(
            sa.select(settled_visits).where(
                settled_visits.c.person_id == person_id, settled_visits.c.cancelled.is_(False)
            )
        )
        return [
            SettledVisit(
                settlement_id=r.settlement_id,
                institution_code=r.institution_code,
                admitted_on=r.admitted_on,
                discharged_on=r.discharged_on,
            )
            for r in rows
        ]

    async def claim_invoices(
        self, unit: Unit, claim_id: str, invoices: tuple[ClaimInvoice, ...]
    ) -> None:
        """Each invoice is claimed once: its unique key refuses a second claim in this unit,
        and the whole unit (the claim's events included) rolls back."""
        for i, invoice in enumerate(invoices):
            try:
                async with unit.conn.begin_nested():
                    await unit.conn.execute(
                        insert(claimed_invoices).values(
                            invoice_code=invoice.invoice_code,
                            invoice_number=invoice.invoice_number,
                            claim_id=claim_id,
                        )
                    )
            except IntegrityError:
                raise Conflict(
                    "reimbursement.invoice_claimed",
                    f"invoice {invoice.invoice_code}/{invoice.invoice_number} was claimed before",
                    field=invoice_field(i, "invoice_number"),
                ) from None

    async def filings(self, unit: Unit, person_id: str) -> list[FilingSnapshot]:
        rows = await unit.conn.execute(
            sa.select(filing_versions).where(filing_versions.c.person_id == person_id)
        )
        return [
            FilingSnapshot(
                filing_id=r.filing_id,
                kind=FilingKind(r.kind),
                visit_region=r.visit_region,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                institution_code=r.destination_institution,
                cancelled_on=r.cancelled_on,
                revision=r.revision,
                changed_on=r.changed_on,
            )
            for r in rows
        ]

    async def person(self, unit: Unit, person_id: str) -> InsuredPerson | None:
        row = (
            (await unit.conn.execute(sa.select(persons).where(persons.c.person_id == person_id)))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return InsuredPerson(
            person_id=row["person_id"],
            insured_region=row["insured_region"],
            insurance_type=row["insurance_type"],
            person_category=row["person_category"],
            civil_servant=row["civil_servant"],
            assistance_identities=frozenset(
                AssistanceIdentity(a) for a in row["assistance_identities"]
            ),
            account_balance=row["account_balance"],
        )

    async def policy(
        self, unit: Unit, insured_region: str, insurance_type: str, on: date
    ) -> PolicyInForce | None:
        row = (
            (
                await unit.conn.execute(
                    sa.select(policies)
                    .where(
                        policies.c.insured_region == insured_region,
                        policies.c.insurance_type == insurance_type,
                        policies.c.effective_from <= on,
                        sa.or_(policies.c.effective_to.is_(None), policies.c.effective_to >= on),
                    )
                    .order_by(policies.c.version.desc())
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return PolicyInForce(version=row["version"], policy=parse_policy_document(row["document"]))

    async def stated_year(
        self, unit: Unit, person_id: str, policy_year: int
    ) -> AccumulatorMovement | None:
        totals = await unit.conn.scalar(
            sa.select(person_years.c.totals).where(
                person_years.c.person_id == person_id, person_years.c.policy_year == policy_year
            )
        )
        return None if totals is None else AccumulatorMovement.from_json(totals)

    async def uncounted_claims(
        self, unit: Unit, person_id: str, policy_year: int
    ) -> list[AccumulatorMovement]:
        rows = await unit.conn.execute(
            sa.select(claims.c.approval).where(
                claims.c.person_id == person_id,
                claims.c.policy_year == policy_year,
                claims.c.step.in_([Step.APPROVED.value, Step.PAID.value]),
                claims.c.claim_id.not_in(sa.select(counted_claims.c.claim_id)),
            )
        )
        return [AccumulatorMovement.from_json(r.approval["movement"]) for r in rows]

    async def awaiting_payment(self, unit: Unit, insured_region: str) -> list[str]:
        rows = await unit.conn.execute(
            sa.select(claims.c.claim_id)
            .where(
                claims.c.insured_region == insured_region,
                claims.c.step == Step.APPROVED.value,
            )
            .order_by(claims.c.claim_id)
        )
        return [r.claim_id for r in rows]


# --- views --------------------------------------------------------------------------------------


def _view(row: Any, today: date | None = None) -> dict[str, Any]:
    view = {
        k: (v.isoformat() if isinstance(v, date) else v)
        for k, v in dict(row).items()
        if k != "bank_account"
    }
    account = row["bank_account"]
    view["bank_account"] = f"****{account[-4:]}"  # enough to recognise, not to pay elsewhere
    if today is not None:
        view["overdue"] = row["due_on"] is not None and today > row["due_on"]
    return view


async def claim_view(conn: AsyncConnection, claim_id: str, today: date) -> dict[str, Any] | None:
    row = (
        (await conn.execute(sa.select(claims).where(claims.c.claim_id == claim_id)))
        .mappings()
        .first()
    )
    return None if row is None else _view(row, today)


# A claim without a deadline (closed) comes after every open one, as PostgreSQL sorts a null
# last; the claim id makes the order total.
_LAST_DAY = date.max
REGION_CLAIMS = Keyset(
    (sa.func.coalesce(claims.c.due_on, sa.literal(_LAST_DAY, sa.Date)), claims.c.claim_id),
    read=lambda row: (row["due_on"] or _LAST_DAY, row["claim_id"]),
)
PERSON_CLAIMS = Keyset((claims.c.received_on, claims.c.claim_id))


async def claims_of_region(
    conn: AsyncConnection,
    region: str,
    today: date,
    page: PageRequest,
    *,
    step: str | None,
    overdue_only: bool,
) -> Page[dict[str, Any]]:
    """The region's claims by deadline (the most urgent first), one page of them."""
    query = sa.select(claims).where(claims.c.insured_region == region)
    if step is not None:
        query = query.where(claims.c.step == step)
    if overdue_only:
        query = query.where(claims.c.due_on < today)
    rows = (await conn.execute(keyset_query(query, REGION_CLAIMS, page))).mappings().all()
    found = page_of(rows, REGION_CLAIMS, page)
    return Page([_view(r, today) for r in found.rows], found.next_cursor)


async def claims_of_person(
    conn: AsyncConnection, person_id: str, today: date, page: PageRequest
) -> Page[dict[str, Any]]:
    """The person's claims in the order they were received, one page of them."""
    query = sa.select(claims).where(claims.c.person_id == person_id)
    rows = (await conn.execute(keyset_query(query, PERSON_CLAIMS, page))).mappings().all()
    found = page_of(rows, PERSON_CLAIMS, page)
    return Page([_view(r, today) for r in found.rows], found.next_cursor)


async def notifications_of(conn: AsyncConnection, person_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(notifications)
        .where(notifications.c.person_id == person_id)
        .order_by(notifications.c.created_at, notifications.c.event_id)
    )
    return [
        {
            "claim_id": r.claim_id,
            "kind": r.kind,
            "message": r.message,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


async def payment_batch(conn: AsyncConnection, batch_id: str) -> dict[str, Any] | None:
    row = (
        (
            await conn.execute(
                sa.select(payment_batches).where(payment_batches.c.batch_id == batch_id)
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)
