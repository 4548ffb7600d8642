"""Reads of clearing's tables: the inputs of a period, the drill-down, the ledger, hospital totals."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_clearing.adapters.tables import (
    day_records,
    deduction_inputs,
    hospital_applications,
    journal_lines,
    settlement_inputs,
    statement_items,
)
from yidi_clearing.domain.hospital_clearing import ClearingTotals
from yidi_clearing.domain.inputs import (
    ConfirmedSettlement,
    Deduction,
    DeductionKind,
    InsuranceType,
)
from yidi_clearing.domain.period import last_day

_TYPES = [t.value for t in InsuranceType]


def _not_cleared_elsewhere(item_id: Any, period: str) -> Any:
    """Not already on another period's statement (an input clears in exactly one period)."""
    return ~sa.exists().where(
        statement_items.c.item_id == item_id, statement_items.c.period != period
    )


async def period_inputs(
    conn: AsyncConnection, period: str
) -> tuple[list[ConfirmedSettlement], list[Deduction]]:
    """Everything that may enter `period`'s statement: confirmed settlements up to its last day,
    settlements recorded but not confirmed (held, visibly), and clawbacks not yet cleared."""
    end = last_day(period)
    confirmed = await conn.execute(
        sa.select(settlement_inputs).where(
            settlement_inputs.c.business_date <= end,
            _not_cleared_elsewhere(settlement_inputs.c.settlement_id, period),
        )
    )
    settlements = [
        ConfirmedSettlement(
            settlement_id=r.settlement_id,
            insured_agency=r.insured_agency,
            visit_agency=r.visit_agency,
            insurance_type=InsuranceType(r.insurance_type),
            business_date=r.business_date,
            fund_total=r.fund_total,
            account_paid=r.account_paid,
            confirmed_in_month=r.confirmed_in_month,
        )
        for r in confirmed
    ]
    unconfirmed = await conn.execute(
        sa.select(day_records).where(
            day_records.c.business_date <= end,
            day_records.c.insured_agency != day_records.c.visit_agency,
            day_records.c.insurance_type.in_(_TYPES),
            ~sa.exists().where(settlement_inputs.c.settlement_id == day_records.c.settlement_id),
            _not_cleared_elsewhere(day_records.c.settlement_id, period),
        )
    )
    settlements += [
        ConfirmedSettlement(
            settlement_id=r.settlement_id,
            insured_agency=r.insured_agency,
            visit_agency=r.visit_agency,
            insurance_type=InsuranceType(r.insurance_type),
            business_date=r.business_date,
            fund_total=r.fund_total,
            account_paid=r.account_paid,
            confirmed_in_month=None,  # its day is not closed, or it is disputed: held
        )
        for r in unconfirmed
    ]
    deducted = await conn.execute(
        sa.select(deduction_inputs).where(
            _not_cleared_elsewhere(deduction_inputs.c.deduction_id, period)
        )
    )
    deductions = [
        Deduction(
            deduction_id=r.deduction_id,
            kind=DeductionKind(r.kind),
            insured_agency=r.insured_agency,
            visit_agency=r.visit_agency,
            insurance_type=InsuranceType(r.insurance_type),
            amount=r.amount,
            reason=r.reason,
            case_id=r.case_id,
            applies_in_month=r.applies_in_month,
        )
        for r in deducted
    ]
    return settlements, deductions


async def settlement_details(conn: AsyncConnection, ids: list[str]) -> list[dict[str, Any]]:
    """The drill-down rows behind a figure: each settlement with its amounts."""
    if not ids:
        return []
    rows = await conn.execute(
        sa.select(
            settlement_inputs.c.settlement_id,
            settlement_inputs.c.business_date,
            settlement_inputs.c.insurance_type,
            settlement_inputs.c.fund_total,
            settlement_inputs.c.account_paid,
            settlement_inputs.c.confirmed_in_month,
            settlement_inputs.c.source,
        )
        .where(settlement_inputs.c.settlement_id.in_(ids))
        .order_by(settlement_inputs.c.settlement_id)
    )
    return [{**dict(r._mapping), "business_date": r.business_date.isoformat()} for r in rows]


async def deduction_details(conn: AsyncConnection, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = await conn.execute(
        sa.select(deduction_inputs)
        .where(deduction_inputs.c.deduction_id.in_(ids))
        .order_by(deduction_inputs.c.deduction_id)
    )
    return [dict(r._mapping) for r in rows]


async def journal(
    conn: AsyncConnection, *, period: str | None = None, account: str | None = None
) -> list[dict[str, Any]]:
    query = sa.select(journal_lines).order_by(
        journal_lines.c.period, journal_lines.c.stream_version, journal_lines.c.line_no
    )
    if period is not None:
        query = query.where(journal_lines.c.period == period)
    if account is not None:
        query = query.where(journal_lines.c.account == account)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def reconciled_totals(
    conn: AsyncConnection,
    *,
    institution_code: str,
    clearing_agency: str,
    month: str,
    clearing_category: str,
) -> ClearingTotals | None:
    """The hospital's month per clearing category as reconciliation recorded it (every settlement
    and cancellation of the month; a cancellation counts as a record with negative amounts)."""
    row = (
        await conn.execute(
            sa.select(
                sa.func.count().label("records"),
                sa.func.coalesce(sa.func.sum(day_records.c.total_fee), 0).label("total_fee"),
                sa.func.coalesce(sa.func.sum(day_records.c.fund_total), 0).label("fund_total"),
                sa.func.coalesce(sa.func.sum(day_records.c.account_paid), 0).label("account_paid"),
                sa.func.coalesce(sa.func.sum(day_records.c.cash_paid), 0).label("cash_paid"),
            ).where(
                day_records.c.institution_code == institution_code,
                day_records.c.clearing_agency == clearing_agency,
                day_records.c.month == month,
                day_records.c.clearing_category == clearing_category,
            )
        )
    ).one()
    if row.records == 0:
        return None
    return ClearingTotals(
        count=int(row.records),
        total_fee=int(row.total_fee),
        fund_total=int(row.fund_total),
        account_paid=int(row.account_paid),
        cash_paid=int(row.cash_paid),
    )


async def application(conn: AsyncConnection, application_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            sa.select(hospital_applications).where(
                hospital_applications.c.clearing_application_id == application_id
            )
        )
    ).first()
    return dict(row._mapping) if row else None


async def applications(conn: AsyncConnection, **where: str | None) -> list[dict[str, Any]]:
    query = sa.select(hospital_applications).order_by(
        hospital_applications.c.month, hospital_applications.c.clearing_application_id
    )
    for column, value in where.items():
        if value is not None:
            query = query.where(cast(Any, hospital_applications.c[column]) == value)
    return [dict(r._mapping) for r in await conn.execute(query)]
