"""Reads of the read models, always scoped by the caller's insured region."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.paging import Keyset, Page, PageRequest, keyset_query, page_of
from yidi_filing.adapters.tables import filings, persons, policies

PERSONS = Keyset((persons.c.person_id,))
POLICIES = Keyset((policies.c.insurance_type, policies.c.version))

# The review queue is worked oldest due date first, filings with no due date last: a keyset needs
# a value to compare, so "none" sorts as the last representable day.
_NO_DUE_DATE = date.max
FILINGS = Keyset(
    (sa.func.coalesce(filings.c.review_due, _NO_DUE_DATE), filings.c.filing_id),
    read=lambda row: (row["review_due"] or _NO_DUE_DATE, row["filing_id"]),
)


def _row(mapping: Any) -> dict[str, Any]:
    out = dict(mapping)
    out.pop("version", None)
    return out


async def person(engine: AsyncEngine, person_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            (await conn.execute(sa.select(persons).where(persons.c.person_id == person_id)))
            .mappings()
            .first()
        )
    return None if row is None else _row(row)


async def persons_of(engine: AsyncEngine, region: str, page: PageRequest) -> Page[dict[str, Any]]:
    query = sa.select(persons).where(persons.c.insured_region == region)
    async with engine.connect() as conn:
        rows = (await conn.execute(keyset_query(query, PERSONS, page))).mappings()
        return page_of([_row(r) for r in rows], PERSONS, page)


async def filing(engine: AsyncEngine, filing_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            (await conn.execute(sa.select(filings).where(filings.c.filing_id == filing_id)))
            .mappings()
            .first()
        )
    return None if row is None else _row(row)


async def filings_of(
    engine: AsyncEngine,
    region: str,
    *,
    status: str | None,
    person_id: str | None,
    page: PageRequest,
) -> Page[dict[str, Any]]:
    query = sa.select(filings).where(filings.c.insured_region == region)
    if status is not None:
        query = query.where(filings.c.status == status)
    if person_id is not None:
        query = query.where(filings.c.person_id == person_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(keyset_query(query, FILINGS, page))).mappings()
        return page_of([_row(r) for r in rows], FILINGS, page)


async def filings_of_person(engine: AsyncEngine, person_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(filings)
                .where(filings.c.person_id == person_id)
                .order_by(filings.c.submitted_on, filings.c.filing_id)
            )
        ).mappings()
        return [_row(r) for r in rows]


async def policies_of(
    engine: AsyncEngine, region: str, insurance_type: str | None, page: PageRequest
) -> Page[dict[str, Any]]:
    query = sa.select(policies).where(policies.c.insured_region == region)
    if insurance_type is not None:
        query = query.where(policies.c.insurance_type == insurance_type)
    async with engine.connect() as conn:
        rows = (await conn.execute(keyset_query(query, POLICIES, page))).mappings()
        result = []
        for r in rows:
            row = dict(r)
            # A superseded version's end date is the column; the document keeps what was published.
            document = dict(row["document"])
            document["effective_to"] = (
                None if row["effective_to"] is None else row["effective_to"].isoformat()
            )
            row["document"] = document
            result.append(row)
        return page_of(result, POLICIES, page)
