"""The consumed side: settlement facts become `SettlementRecord`s, counted in the daily totals and
put on their agency pair's day statement, in the consumer's transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.application import Unit
from yidi_events.contracts.settlement import FundPayment as SettlementFundPayment
from yidi_events.contracts.settlement import SettlementCancelled, SettlementReversed, VisitSettled
from yidi_events.envelope import Envelope
from yidi_events.runtime.projection import Projection
from yidi_reconciliation.adapters import records as store
from yidi_reconciliation.adapters.tables import daily_totals, settlement_records
from yidi_reconciliation.app.days import Days
from yidi_reconciliation.domain.records import FundPayment, SettlementRecord

REVERSAL_SUFFIX = ".reversed"  # id of the negative record that undoes a 2601-reversed settlement


def _payments(payments: tuple[SettlementFundPayment, ...]) -> tuple[FundPayment, ...]:
    return tuple(FundPayment(str(p.fund_code), p.amount) for p in payments)


def settled_record(event: VisitSettled, day: date) -> SettlementRecord:
    return SettlementRecord(
        settlement_id=event.settlement_id,
        visit_id=event.visit_id,
        person_id=event.person_id,
        institution_code=event.institution_code,
        clearing_agency=event.clearing_agency,
        insured_region=event.insured_region,
        visit_region=event.visit_region,
        insurance_type=event.insurance_type,
        clearing_category=event.clearing_category,
        business_date=day,
        total_fee=event.totals.total_fee,
        fund_total=event.totals.fund_total,
        account_paid=event.totals.account_paid,
        cash_paid=event.totals.cash_paid,
        fund_payments=_payments(event.fund_payments),
    )


def cancelled_record(event: SettlementCancelled, day: date) -> SettlementRecord:
    return SettlementRecord(
        settlement_id=event.settlement_id,
        visit_id=event.visit_id,
        person_id=event.person_id,
        institution_code=event.institution_code,
        clearing_agency=event.clearing_agency,
        insured_region=event.insured_region,
        visit_region=event.visit_region,
        insurance_type=event.insurance_type,
        clearing_category=event.clearing_category,
        business_date=day,
        is_refund=True,
        original_settlement_id=event.original_settlement_id,
        total_fee=event.totals.total_fee,
        fund_total=event.totals.fund_total,
        account_paid=event.totals.account_paid,
        cash_paid=event.totals.cash_paid,
        fund_payments=_payments(event.fund_payments),
    )


def reversal_record(undone: SettlementRecord, day: date) -> SettlementRecord:
    """The agencies' view of a 2601 reversal: a negative record of the undone settlement, so the
    day statements (and clearing) net it out. The hospital never had it, so 3201/3202 leave both
    out (the undone record is voided instead)."""
    return replace(
        undone,
        settlement_id=undone.settlement_id + REVERSAL_SUFFIX,
        business_date=day,
        total_fee=-undone.total_fee,
        fund_total=-undone.fund_total,
        account_paid=-undone.account_paid,
        cash_paid=-undone.cash_paid,
        is_refund=True,
        original_settlement_id=undone.settlement_id,
        fund_payments=tuple(replace(p, amount=-p.amount) for p in undone.fund_payments),
    )


UnitOn = Callable[[AsyncConnection], Unit]
"""The write path's unit inside the consumer's transaction: a settlement fact, its record and its
day's events commit together or not at all."""


def make_settlement_projection() -> Projection:
    """The consumed projection, without its handlers: they record on the days through the
    runtime's write path, and the runtime is built with this projection's consumer, so
    `follow_settlements` gives them once both exist (bootstrap.py)."""
    return Projection("reconciliation.settlements", [settlement_records, daily_totals])


def follow_settlements(projection: Projection, days: Days, unit_on: UnitOn) -> None:
    @projection.on_batch(VisitSettled)
    async def settled(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        # Set-wise: the records in one insert and one totals write, then each day once.
        records = [settled_record(env.payload, env.business_date) for env in envs]
        added = await store.add_records(conn, records)
        await days.record_settled(unit_on(conn), added)

    @projection.on(SettlementCancelled)
    async def cancelled(conn: AsyncConnection, env: Envelope) -> None:
        record = cancelled_record(env.payload, env.business_date)
        if await store.add_record(conn, record):
            original = await store.find_record(conn, env.payload.original_settlement_id)
            await days.record(unit_on(conn), record, original)

    @projection.on(SettlementReversed)
    async def reversed_(conn: AsyncConnection, env: Envelope) -> None:
        event: SettlementReversed = env.payload
        if event.settlement_id is None:
            return  # the reversed call settled nothing (e.g. a registration)
        # The hospital never received the reversed outcome: neither the settlement nor the
        # negative record that undoes it belongs in its 3201/3202 totals.
        cancellation = await store.find_cancellation_of(conn, event.settlement_id)
        undone = await store.void_record(conn, event.settlement_id)
        if cancellation is not None:
            # Settlement carried the money back as that negative record (SettlementCancelled,
            # same transaction), which the agencies' day already holds: adding another would
            # count the reversal twice.
            await store.void_record(conn, cancellation)
        elif undone is not None:
            await days.record(unit_on(conn), reversal_record(undone, env.business_date), undone)
