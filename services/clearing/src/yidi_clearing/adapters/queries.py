"""Reads of clearing's tables: the inputs of a period, the drill-down, the ledger, hospital totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_clearing.adapters.tables import (
    day_records,
    deduction_inputs,
    hospital_applications,
    journal_lines,
    period_heads,
    period_lines,
    settlement_inputs,
    statement_items,
    statements,
)
from yidi_clearing.domain.clearing_period import ClearingPeriod, LineState
from yidi_clearing.domain.events import HeldItem, StatementLine, StatementPart
from yidi_clearing.domain.hospital_clearing import ClearingTotals, HospitalDeduction
from yidi_clearing.domain.inputs import (
    ConfirmedSettlement,
    Deduction,
    DeductionKind,
)
from yidi_clearing.domain.period import last_day
from yidi_events.contracts.policy import InsuranceType
from yidi_events.paging import Keyset, Page, PageRequest, decode_cursor, keyset_query, page_of

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


# Posting order: a fund's own entries (its own label) fall between the periods' entries. The last
# three columns are the journal's primary key, so the order is total.
JOURNAL = Keyset(
    (
        journal_lines.c.posted_on,
        journal_lines.c.period,
        journal_lines.c.stream_version,
        journal_lines.c.line_no,
    )
)


def _journal(period: str | None, account: str | None) -> list[sa.ColumnElement[bool]]:
    where = []
    if period is not None:
        where.append(journal_lines.c.period == period)
    if account is not None:
        where.append(journal_lines.c.account == account)
    return where


async def trial_balance(
    conn: AsyncConnection, period: str | None = None
) -> dict[str, tuple[int, int]]:
    """(debits, credits) of every account, over `period` or over all."""
    rows = await conn.execute(
        sa.select(
            journal_lines.c.account,
            sa.func.sum(journal_lines.c.debit).label("debit"),
            sa.func.sum(journal_lines.c.credit).label("credit"),
        )
        .where(*_journal(period, None))
        .group_by(journal_lines.c.account)
        .order_by(journal_lines.c.account)
    )
    return {r.account: (int(r.debit), int(r.credit)) for r in rows}


async def _balance(conn: AsyncConnection, where: list[sa.ColumnElement[bool]]) -> int:
    total = sa.func.coalesce(sa.func.sum(journal_lines.c.debit - journal_lines.c.credit), 0)
    return int((await conn.execute(sa.select(total).where(*where))).scalar_one())


async def account_page(
    conn: AsyncConnection, page: PageRequest, *, account: str, period: str | None = None
) -> tuple[Page[dict[str, Any]], int, int]:
    """One page of an account's journal lines in posting order, the account's balance before the
    page's first line (so each line's running balance is the account's, not the page's), and its
    balance after all its lines."""
    where = _journal(period, account)
    before = 0
    if page.cursor is not None:
        after = decode_cursor(page.cursor, JOURNAL)
        bound = [sa.literal(v, e.type) for v, e in zip(after, JOURNAL.order, strict=True)]
        before = await _balance(conn, [*where, sa.tuple_(*JOURNAL.order) <= sa.tuple_(*bound)])
    rows = await conn.execute(keyset_query(sa.select(journal_lines).where(*where), JOURNAL, page))
    found = page_of([dict(r._mapping) for r in rows], JOURNAL, page)
    return found, before, await _balance(conn, where)


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


async def hospital_deductions(
    conn: AsyncConnection,
    *,
    institution_code: str,
    clearing_agency: str,
    month: str,
    clearing_category: str,
) -> list[HospitalDeduction]:
    """Deductions and clawbacks decided in `month` whose (first) settlement is the hospital's, of
    that clearing agency and category, as reconciliation recorded it."""
    first = sa.func.split_part(deduction_inputs.c.settlement_ids, ",", 1)
    rows = await conn.execute(
        sa.select(
            deduction_inputs.c.deduction_id, deduction_inputs.c.kind, deduction_inputs.c.amount
        )
        .select_from(deduction_inputs.join(day_records, day_records.c.settlement_id == first))
        .where(
            deduction_inputs.c.applies_in_month == month,
            day_records.c.institution_code == institution_code,
            day_records.c.clearing_agency == clearing_agency,
            day_records.c.clearing_category == clearing_category,
        )
        .order_by(deduction_inputs.c.deduction_id)
    )
    return [
        HospitalDeduction(deduction_id=r.deduction_id, kind=DeductionKind(r.kind), amount=r.amount)
        for r in rows
    ]


async def application(conn: AsyncConnection, application_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            sa.select(hospital_applications).where(
                hospital_applications.c.clearing_application_id == application_id
            )
        )
    ).first()
    return dict(row._mapping) if row else None


# A statement's lines by id, unique in its period. The lines are paged out of the period's fold (the
# statement's other members come from it too); the column only types the cursor's key.
LINES = Keyset((period_lines.c.line_id,))

# A month's applications by id: the id is unique, so the order is total.
APPLICATIONS = Keyset(
    (hospital_applications.c.month, hospital_applications.c.clearing_application_id)
)


def _applications(where: dict[str, str | None]) -> sa.Select[Any]:
    query = sa.select(hospital_applications)
    for column, value in where.items():
        if value is not None:
            query = query.where(cast(Any, hospital_applications.c[column]) == value)
    return query


async def applications(conn: AsyncConnection, **where: str | None) -> list[dict[str, Any]]:
    query = _applications(where).order_by(*APPLICATIONS.order)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def applications_page(
    conn: AsyncConnection, page: PageRequest, **where: str | None
) -> Page[dict[str, Any]]:
    """`applications`, one page of them after the page's cursor."""
    rows = await conn.execute(keyset_query(_applications(where), APPLICATIONS, page))
    return page_of([dict(r._mapping) for r in rows], APPLICATIONS, page)


# What moves in a period once its statement stands: each line's confirmations and disputes (agency
# codes hold no comma, so each list travels as one text) beside the stream version they reflect,
# in one statement, so one snapshot. Three flat text arrays: 12,602 rows with two array columns
# each cost a second of per-value decoding in the driver. Unqualified tables, as everywhere: a
# rebuild's search_path finds its shadow copies.
_DECISIONS = sa.text(
    """
    SELECT h.stream_version, s.input_hash, s.generated_on, s.held,
           coalesce(d.line_ids, '{}') AS line_ids, coalesce(d.confirmed, '{}') AS confirmed,
           coalesce(d.disputed, '{}') AS disputed
    FROM period_heads h JOIN statements s ON s.period = h.period
    LEFT JOIN LATERAL (
        SELECT array_agg(l.line_id) AS line_ids,
               array_agg(array_to_string(l.confirmed_by, ',')) AS confirmed,
               array_agg(array_to_string(l.disputed_by, ',')) AS disputed
        FROM period_lines l WHERE l.period = h.period
    ) AS d ON true
    WHERE h.period = :period
    """
).columns(
    sa.column("stream_version", sa.Integer),
    sa.column("input_hash", sa.Text),
    sa.column("generated_on", sa.Date),
    sa.column("held", JSONB),
    sa.column("line_ids"),
    sa.column("confirmed"),
    sa.column("disputed"),
)

# A statement's lines never change once generated: ONE JSON document aggregated on the server
# (12,602 rows with a JSON column each cost a second of per-value decoding in the driver).
_LINES = sa.text(
    """
    SELECT coalesce(json_agg(json_build_array(l.line_id, l.payer_agency, l.receiver_agency,
                                              l.amount, l.parts)), '[]') AS lines
    FROM period_lines l WHERE l.period = :period
    """
).columns(sa.column("lines", JSONB))


@dataclass(frozen=True)
class PeriodDecisions:
    """A period's statement head and every line's decisions, at `version` of its stream."""

    version: int
    input_hash: str
    generated_on: date
    held: tuple[HeldItem, ...]
    decisions: dict[str, tuple[frozenset[str], frozenset[str]]]  # confirmed by, disputed by

    def period(self, period: str, lines: dict[str, StatementLine]) -> ClearingPeriod:
        """The period as its statement (`lines`) and these decisions make it."""
        return ClearingPeriod(
            period=period,
            input_hash=self.input_hash,
            generated_on=self.generated_on,
            held=self.held,
            lines={
                line_id: LineState(lines[line_id], confirmed_by, disputed_by)
                for line_id, (confirmed_by, disputed_by) in self.decisions.items()
            },
        )


async def period_decisions(conn: AsyncConnection, period: str) -> PeriodDecisions | None:
    """The period's statement head and line decisions from `period_heads`, `statements` and
    `period_lines`: what folding its `StatementGenerated`, `LineConfirmed` and `LineDisputed`
    facts gives, besides the lines themselves. None when the period has no statement row, or one
    written before rows kept its held items (rebuild `clearing.own`): the caller folds the
    stream."""
    row = (await conn.execute(_DECISIONS, {"period": period})).one_or_none()
    if row is None or row.held is None:
        return None
    return PeriodDecisions(
        version=int(row.stream_version),
        input_hash=row.input_hash,
        generated_on=row.generated_on,
        held=tuple(_held(h) for h in row.held),
        decisions={
            line_id: (_agencies(confirmed), _agencies(disputed))
            for line_id, confirmed, disputed in zip(
                row.line_ids, row.confirmed, row.disputed, strict=True
            )
        },
    )


async def statement_lines(conn: AsyncConnection, period: str) -> dict[str, StatementLine]:
    """The lines of the period's statement, by line id, as its `StatementGenerated` has them."""
    document = (await conn.execute(_LINES, {"period": period})).scalar_one()
    return {
        line_id: StatementLine(
            line_id=line_id,
            payer_agency=payer,
            receiver_agency=receiver,
            parts=tuple(_part(p) for p in parts),
            amount=int(amount),
        )
        for line_id, payer, receiver, amount, parts in document
    }


def _agencies(joined: str) -> frozenset[str]:
    return frozenset(joined.split(",")) if joined else frozenset()


async def line_view_of_period(
    conn: AsyncConnection, period: str, line_id: str
) -> tuple[int, ClearingPeriod] | None:
    """(stream version, the period as one line's decisions see it) from `period_heads` and
    `period_lines`; None when the period has no head row (no statement yet, or a database whose
    `clearing.own` projection predates these tables), and the caller folds the stream instead.

    The state holds the statement's identity, the first approver and only `line_id` (or no line
    when the statement has none by that id): what confirming or disputing a line decides on.
    """
    # One statement, so the head's version and the line's row come from the same snapshot.
    line = period_lines.alias("line")
    row = (
        await conn.execute(
            sa.select(
                period_heads.c.stream_version,
                period_heads.c.first_approver,
                statements.c.input_hash,
                statements.c.generated_on,
                line.c.line_id,
                line.c.payer_agency,
                line.c.receiver_agency,
                line.c.amount,
                line.c.parts,
                line.c.confirmed_by,
                line.c.disputed_by,
            )
            .select_from(
                period_heads.join(statements, statements.c.period == period_heads.c.period).join(
                    line,
                    sa.and_(line.c.period == period_heads.c.period, line.c.line_id == line_id),
                    isouter=True,
                )
            )
            .where(period_heads.c.period == period)
        )
    ).one_or_none()
    if row is None:
        return None
    lines: dict[str, LineState] = {}
    if row.line_id is not None:
        statement_line = StatementLine(
            line_id=row.line_id,
            payer_agency=row.payer_agency,
            receiver_agency=row.receiver_agency,
            parts=tuple(_part(p) for p in row.parts),
            amount=row.amount,
        )
        lines[line_id] = LineState(
            statement_line,
            confirmed_by=frozenset(row.confirmed_by),
            disputed_by=frozenset(row.disputed_by),
        )
    state = ClearingPeriod(
        period=period,
        input_hash=row.input_hash,
        generated_on=row.generated_on,
        first_approver=row.first_approver,
        lines=lines,
    )
    return int(row.stream_version), state


def part_row(part: StatementPart) -> dict[str, Any]:
    """A part as `period_lines.parts` keeps it. Field by field: `dataclasses.asdict` deep-copies
    every id and cost 2 s of a 12,602-line statement."""
    return {
        "insurance_type": part.insurance_type,
        "fund_paid": part.fund_paid,
        "account_paid": part.account_paid,
        "audit_deducted": part.audit_deducted,
        "clawed_back": part.clawed_back,
        "amount": part.amount,
        "settlement_ids": part.settlement_ids,
        "audit_deduction_ids": part.audit_deduction_ids,
        "clawback_ids": part.clawback_ids,
    }


def held_row(item: HeldItem) -> dict[str, Any]:
    """A held item as `statements.held` keeps it."""
    return {
        "item_id": item.item_id,
        "kind": item.kind,
        "payer_agency": item.payer_agency,
        "receiver_agency": item.receiver_agency,
        "amount": item.amount,
        "reason": item.reason,
    }


def _held(data: dict[str, Any]) -> HeldItem:
    return HeldItem(
        item_id=data["item_id"],
        kind=data["kind"],
        payer_agency=data["payer_agency"],
        receiver_agency=data["receiver_agency"],
        amount=int(data["amount"]),
        reason=data["reason"],
    )


def _part(data: dict[str, Any]) -> StatementPart:
    return StatementPart(
        insurance_type=data["insurance_type"],
        fund_paid=int(data["fund_paid"]),
        account_paid=int(data["account_paid"]),
        audit_deducted=int(data["audit_deducted"]),
        clawed_back=int(data["clawed_back"]),
        amount=int(data["amount"]),
        settlement_ids=tuple(data["settlement_ids"]),
        audit_deduction_ids=tuple(data["audit_deduction_ids"]),
        clawback_ids=tuple(data["clawback_ids"]),
    )
