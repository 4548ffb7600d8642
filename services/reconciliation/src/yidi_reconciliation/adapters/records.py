"""Queries over the settlement projection: store a record once, add it to its day's totals, and
load the records a hospital reconciles against."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_reconciliation.adapters.tables import daily_totals, settlement_records
from yidi_reconciliation.domain.hospital_detail import ListedSettlement
from yidi_reconciliation.domain.hospital_totals import StatementScope
from yidi_reconciliation.domain.records import FundPayment, SettlementRecord, Totals


def _values(record: SettlementRecord) -> dict[str, Any]:
    return {
        "settlement_id": record.settlement_id,
        "visit_id": record.visit_id,
        "person_id": record.person_id,
        "institution_code": record.institution_code,
        "clearing_agency": record.clearing_agency,
        "insured_region": record.insured_region,
        "visit_region": record.visit_region,
        "insurance_type": record.insurance_type,
        "clearing_category": record.clearing_category,
        "business_date": record.business_date,
        "total_fee": record.total_fee,
        "fund_total": record.fund_total,
        "account_paid": record.account_paid,
        "cash_paid": record.cash_paid,
        "is_refund": record.is_refund,
        "original_settlement_id": record.original_settlement_id,
        "fund_payments": [
            {"fund_code": p.fund_code, "amount": p.amount} for p in record.fund_payments
        ],
    }


def record_of(row: Any) -> SettlementRecord:
    return SettlementRecord(
        settlement_id=row.settlement_id,
        visit_id=row.visit_id,
        person_id=row.person_id,
        institution_code=row.institution_code,
        clearing_agency=row.clearing_agency,
        insured_region=row.insured_region,
        visit_region=row.visit_region,
        insurance_type=row.insurance_type,
        clearing_category=row.clearing_category,
        business_date=row.business_date,
        total_fee=row.total_fee,
        fund_total=row.fund_total,
        account_paid=row.account_paid,
        cash_paid=row.cash_paid,
        is_refund=row.is_refund,
        original_settlement_id=row.original_settlement_id,
        fund_payments=tuple(FundPayment(p["fund_code"], p["amount"]) for p in row.fund_payments),
    )


_FIGURES = ("count", "total_fee", "fund_total", "account_paid", "cash_paid")
_REFUND_FIGURES = tuple(f"refund_{f}" for f in _FIGURES)


_TOTALS_KEY = (
    "institution_code",
    "clearing_agency",
    "insurance_type",
    "clearing_category",
    "business_date",
)


async def _move_totals(conn: AsyncConnection, record: SettlementRecord, sign: int) -> None:
    await _move_totals_many(conn, [record], sign)


async def _move_totals_many(
    conn: AsyncConnection, records: Sequence[SettlementRecord], sign: int
) -> None:
    """Add (sign +1) or take out (-1) the records, summed per totals row in memory first: one
    row each in one statement, since an upsert may not touch a row twice."""
    moves: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        moved = Totals.of(record)
        key = tuple(getattr(record, k) for k in _TOTALS_KEY)
        row = moves.setdefault(
            key,
            dict(zip(_TOTALS_KEY, key, strict=True)) | dict.fromkeys(_FIGURES + _REFUND_FIGURES, 0),
        )
        for f in _FIGURES:
            row[f] += sign * getattr(moved, f)
            if record.is_refund:
                row[f"refund_{f}"] += sign * getattr(moved, f)
    if not moves:
        return
    stmt = insert(daily_totals)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(_TOTALS_KEY),
            set_={f: daily_totals.c[f] + stmt.excluded[f] for f in _FIGURES + _REFUND_FIGURES},
        ),
        list(moves.values()),
    )


async def add_record(conn: AsyncConnection, record: SettlementRecord) -> bool:
    """Store the record and count it in its day's totals; False when it was already stored (the
    primary key on settlement_id makes a redelivered fact a no-op, without a check first)."""
    inserted = await conn.execute(
        insert(settlement_records)
        .values(**_values(record))
        .on_conflict_do_nothing(index_elements=["settlement_id"])
        .returning(settlement_records.c.settlement_id)
    )
    if inserted.first() is None:
        return False
    await _move_totals(conn, record, +1)
    return True


async def add_records(
    conn: AsyncConnection, records: Sequence[SettlementRecord]
) -> list[SettlementRecord]:
    """`add_record` for many at once (a consumer's batch): one insert, one totals write. Returns
    the ones stored now, in order; a settlement already stored, or twice in `records`, is
    stored and counted once."""
    if not records:
        return []
    inserted = set(
        (
            await conn.execute(
                insert(settlement_records)
                .on_conflict_do_nothing(index_elements=["settlement_id"])
                .returning(settlement_records.c.settlement_id),
                [_values(r) for r in records],
            )
        ).scalars()
    )
    added: list[SettlementRecord] = []
    for record in records:
        if record.settlement_id in inserted:
            inserted.discard(record.settlement_id)
            added.append(record)
    await _move_totals_many(conn, added, +1)
    return added


async def void_record(conn: AsyncConnection, settlement_id: str) -> SettlementRecord | None:
    """Mark a record undone by 2601 and take it out of its day's totals; None if unknown or
    already voided."""
    row = (
        await conn.execute(
            settlement_records.update()
            .where(
                settlement_records.c.settlement_id == settlement_id,
                settlement_records.c.voided.is_(False),
            )
            .values(voided=True)
            .returning(*settlement_records.c)
        )
    ).first()
    if row is None:
        return None
    record = record_of(row)
    await _move_totals(conn, record, -1)
    return record


async def find_cancellation_of(conn: AsyncConnection, settlement_id: str) -> str | None:
    """The id of the live negative record that cancels `settlement_id`, if one arrived."""
    found = await conn.scalar(
        sa.select(settlement_records.c.settlement_id).where(
            settlement_records.c.original_settlement_id == settlement_id,
            settlement_records.c.is_refund.is_(True),
            settlement_records.c.voided.is_(False),
        )
    )
    return None if found is None else str(found)


async def find_record(conn: AsyncConnection, settlement_id: str) -> SettlementRecord | None:
    row = (
        await conn.execute(
            sa.select(settlement_records).where(settlement_records.c.settlement_id == settlement_id)
        )
    ).first()
    return None if row is None else record_of(row)


async def records_in_scope(conn: AsyncConnection, scope: StatementScope) -> list[SettlementRecord]:
    """The live (not voided) records of the scope's hospital, agency and period; the domain's
    `scope.covers` applies the remaining filters."""
    query = sa.select(settlement_records).where(
        settlement_records.c.institution_code == scope.institution_code,
        settlement_records.c.clearing_agency == scope.clearing_agency,
        settlement_records.c.business_date.between(scope.start_date, scope.end_date),
        settlement_records.c.voided.is_(False),
    )
    if scope.insurance_type is not None:
        query = query.where(settlement_records.c.insurance_type == scope.insurance_type)
    if scope.clearing_category is not None:
        query = query.where(settlement_records.c.clearing_category == scope.clearing_category)
    rows = (await conn.execute(query)).all()
    return [record_of(r) for r in rows]


async def listed_in_scope(conn: AsyncConnection, scope: StatementScope) -> list[ListedSettlement]:
    """`records_in_scope` with only what 3202 compares and lists, read through the driver: a
    large hospital's day is 100,000 records, and building each whole (its fund payments decoded,
    its regions checked) and passing each row through SQLAlchemy's result cost more than the
    query and the comparison together (1.4 s of 2 s at 100,000 rows; asyncpg alone 0.4 s)."""
    sql = _LISTED_SQL
    values: list[object] = [
        scope.institution_code,
        scope.clearing_agency,
        scope.start_date,
        scope.end_date,
    ]
    for column in ("insurance_type", "clearing_category"):
        value = getattr(scope, column)
        if value is not None:
            values.append(value)
            sql += f" AND {column} = ${len(values)}"
    # The unit's own connection, in its transaction (its BEGIN is sent lazily by SQLAlchemy, so
    # make sure it was).
    await conn.execute(_NOTHING)
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    # The columns are selected in the order of ListedSettlement's fields.
    return list(map(ListedSettlement._make, await driver.fetch(sql, *values)))


_NOTHING = sa.text("SELECT 1")
_LISTED_SQL = (
    "SELECT settlement_id, visit_id, person_id, business_date, total_fee, fund_total,"
    " account_paid, is_refund FROM settlement_records"
    " WHERE institution_code = $1 AND clearing_agency = $2"
    " AND business_date BETWEEN $3 AND $4 AND NOT voided"
)


async def totals_in_scope(conn: AsyncConnection, scope: StatementScope) -> Totals:
    """The platform's figures of a 3201 scope, summed from `daily_totals` (one row per day of the
    period): the same as summing `records_in_scope`, since both count exactly the live records
    (a 2601 takes a voided record out of both) and the rows split out the cancellations."""
    values = {
        "institution_code": scope.institution_code,
        "clearing_agency": scope.clearing_agency,
        "start_date": scope.start_date,
        "end_date": scope.end_date,
        "insurance_type": scope.insurance_type,
        "clearing_category": scope.clearing_category,
    }
    query = _totals_query(
        scope.include_refunds, scope.insurance_type is not None, scope.clearing_category is not None
    )
    row = (await conn.execute(query, values)).one()
    return Totals(*(int(row._mapping[f]) for f in _FIGURES))


@functools.cache
def _totals_query(include_refunds: bool, by_type: bool, by_category: bool) -> sa.Select[Any]:
    # Built once per shape, with bound values: a hospital's day is a 3201 per (insurance type,
    # clearing category), 1,200 calls for a city's day, and building the statement each time
    # (its functions, labels and comparisons) cost more CPU than the indexed read it makes.
    table = daily_totals.c
    query = sa.select(
        *(
            sa.func.coalesce(
                sa.func.sum(table[f] if include_refunds else table[f] - table[f"refund_{f}"]),
                0,
            ).label(f)
            for f in _FIGURES
        )
    ).where(
        table.institution_code == sa.bindparam("institution_code"),
        table.clearing_agency == sa.bindparam("clearing_agency"),
        table.business_date.between(sa.bindparam("start_date"), sa.bindparam("end_date")),
    )
    if by_type:
        query = query.where(table.insurance_type == sa.bindparam("insurance_type"))
    if by_category:
        query = query.where(table.clearing_category == sa.bindparam("clearing_category"))
    return query


async def totals_rows(conn: AsyncConnection, institution_code: str, day: date) -> list[Any]:
    rows = await conn.execute(
        sa.select(daily_totals).where(
            daily_totals.c.institution_code == institution_code,
            daily_totals.c.business_date == day,
        )
    )
    return list(rows.all())
