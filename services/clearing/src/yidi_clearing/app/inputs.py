"""Consumed facts -> clearing's inputs: what reconciliation confirmed, what audit clawed back or
deducted after a fee review (审核扣款).

Two projections, wired in bootstrap as Subscriptions on "reconciliation" and "audit". Every row is
keyed by the input's own id and written with ON CONFLICT DO NOTHING, so a redelivered or
republished fact changes nothing (the consumer also dedupes by stream version).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_clearing.adapters.tables import (
    day_records,
    deduction_inputs,
    settlement_inputs,
)
from yidi_clearing.domain.inputs import Deduction, DeductionKind, check_deduction
from yidi_clearing.domain.period import period_of
from yidi_events.contracts.audit import ClawbackDecided, FeeDeductionDecided
from yidi_events.contracts.policy import InsuranceType
from yidi_events.contracts.reconciliation import (
    DayClosed,
    DaySettlementRecorded,
    DisputedSettlementReleased,
)
from yidi_events.envelope import Envelope
from yidi_events.runtime.projection import Projection
from yidi_events.store.columns import ColumnsInsert


def reconciliation_projection() -> Projection:
    projection = Projection("clearing.reconciliation_inputs", [settlement_inputs, day_records])
    # A batch of recorded settlements in one statement (a rebuild's page, a consumer's poll).
    record_days = ColumnsInsert(day_records, [c.name for c in day_records.c], nothing=True)

    @projection.on_batch(DaySettlementRecorded)
    async def recorded(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        rows = []
        for env in envs:
            e: DaySettlementRecorded = env.payload
            s = e.settlement
            rows.append(
                {
                    "settlement_id": s.settlement_id,
                    "insured_agency": e.insured_region,
                    "visit_agency": e.visit_region,
                    "institution_code": s.institution_code,
                    "clearing_agency": s.clearing_agency,
                    "clearing_category": s.clearing_category,
                    "insurance_type": s.insurance_type,
                    "business_date": s.business_date,
                    "month": period_of(s.business_date),
                    "total_fee": s.total_fee,
                    "fund_total": s.fund_total,
                    "account_paid": s.account_paid,
                    "cash_paid": s.cash_paid,
                    "is_refund": s.is_refund,
                }
            )
        await record_days.execute(conn, rows)

    @projection.on(DayClosed)
    async def closed(conn: AsyncConnection, env: Envelope) -> None:
        e: DayClosed = env.payload
        rows = [
            {
                "settlement_id": s.settlement_id,
                # The pair's agencies, not the settlement's own (district) regions: clearing is
                # between agencies.
                "insured_agency": e.insured_region,
                "visit_agency": e.visit_region,
                "insurance_type": s.insurance_type,
                "business_date": s.business_date,
                "fund_total": s.fund_total,
                "account_paid": s.account_paid,
                "confirmed_in_month": e.month,
                "source": "day_closed",
                "close_event_id": str(env.event_id),
            }
            for s in e.settlements
        ]
        if rows:
            await conn.execute(insert(settlement_inputs).values(rows).on_conflict_do_nothing())

    @projection.on(DisputedSettlementReleased)
    async def released(conn: AsyncConnection, env: Envelope) -> None:
        e: DisputedSettlementReleased = env.payload
        s = e.settlement
        await conn.execute(
            insert(settlement_inputs)
            .values(
                settlement_id=s.settlement_id,
                insured_agency=e.insured_region,
                visit_agency=e.visit_region,
                insurance_type=s.insurance_type,
                business_date=s.business_date,
                fund_total=s.fund_total,
                account_paid=s.account_paid,
                confirmed_in_month=e.month,
                source="dispute_released",
                close_event_id=str(env.event_id),
            )
            .on_conflict_do_nothing()
        )

    return projection


def _clawback(e: ClawbackDecided) -> tuple[Deduction, dict[str, str]]:
    return Deduction(
        deduction_id=e.clawback_id,
        kind=DeductionKind.CLAWBACK,
        insured_agency=e.insured_region,
        visit_agency=e.visit_region,
        insurance_type=cast(InsuranceType, e.insurance_type),  # checked by check_deduction
        amount=e.amount,
        reason=f"clawback of case {e.case_id}",
        case_id=e.case_id,
        applies_in_month=period_of(e.decided_on),
    ), {"settlement_ids": ",".join(e.settlement_ids), "evidence": "", "source": "clawback"}


def _fee_deduction(e: FeeDeductionDecided) -> tuple[Deduction, dict[str, str]]:
    # Like a clawback: deducted in the statement of the month it was decided in.
    return Deduction(
        deduction_id=e.deduction_id,
        kind=DeductionKind.AUDIT_DEDUCTION,
        insured_agency=e.insured_region,
        visit_agency=e.visit_region,
        insurance_type=cast(InsuranceType, e.insurance_type),  # checked by check_deduction
        amount=e.amount,
        reason=e.reason,
        case_id="",  # a fee review is no audit case; its settlement is in settlement_ids
        applies_in_month=period_of(e.decided_on),
    ), {"settlement_ids": e.settlement_id, "evidence": e.evidence, "source": str(e.source)}


def audit_projection() -> Projection:
    projection = Projection("clearing.audit_inputs", [deduction_inputs])
    add_deductions = ColumnsInsert(
        deduction_inputs, [c.name for c in deduction_inputs.c], nothing=True
    )

    @projection.on_batch(ClawbackDecided, FeeDeductionDecided)
    async def decided(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        rows = []
        for env in envs:
            e = env.payload
            deduction, origin = (
                _clawback(e) if isinstance(e, ClawbackDecided) else _fee_deduction(e)
            )
            # A deduction clearing cannot route (bad pair, type or amount) fails the batch; the
            # consumer then sends that one fact to the DLQ, visibly, rather than breaking every
            # later statement.
            check_deduction(deduction)
            rows.append(
                {
                    "deduction_id": deduction.deduction_id,
                    "kind": str(deduction.kind),
                    "insured_agency": deduction.insured_agency,
                    "visit_agency": deduction.visit_agency,
                    "insurance_type": str(deduction.insurance_type),
                    "amount": deduction.amount,
                    "reason": deduction.reason,
                    "case_id": deduction.case_id,
                    "applies_in_month": deduction.applies_in_month,
                    **origin,
                }
            )
        await add_deductions.execute(conn, rows)

    return projection
