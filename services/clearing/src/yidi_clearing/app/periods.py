"""Handlers of a clearing period: load the period's stream, fold, decide, append, project — in one
transaction (retried from the start when a concurrent writer moved the stream).

The stream of period "2026-03" is "clearing-period:2026-03"; its version is what makes two
concurrent statement runs produce one statement (the second append fails on the unique
(stream_id, stream_version) and, retried, finds the statement already there).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_clearing.adapters import queries
from yidi_clearing.app.projection import OWN
from yidi_clearing.domain import cash, period_decisions, prepaid
from yidi_clearing.domain.actors import Actor, require_approver, require_centre
from yidi_clearing.domain.calendar import ClearingStep, due_steps, late_steps, schedule
from yidi_clearing.domain.clearing_period import (
    ClearingPeriod,
    LineStatus,
    completed_steps,
    fold_period,
)
from yidi_clearing.domain.period import parse_period, require_period_ended
from yidi_clearing.domain.settings import ClearingSettings
from yidi_clearing.domain.statement import Statement, build_statement
from yidi_events.db import in_transaction
from yidi_events.kernel import business_date
from yidi_events.service import Runtime
from yidi_events.store import NewEvent
from yidi_events.store.event_store import ConcurrencyError

Decide = Callable[[AsyncConnection, ClearingPeriod, date], Awaitable[list[Any]]]
# (stream version, state) a decision starts from, read inside the command's transaction.
Load = Callable[[AsyncConnection], Awaitable[tuple[int, ClearingPeriod]]]


def stream_of(period: str) -> str:
    return f"clearing-period:{period}"


@dataclass
class PeriodHandlers:
    runtime: Runtime
    settings: ClearingSettings

    def today(self) -> date:
        return business_date(self.runtime.clock.now())

    async def load(self, period: str) -> ClearingPeriod:
        parse_period(period)
        async with self.runtime.engine.connect() as conn:
            return await self._state(conn, period)

    async def _state(self, conn: AsyncConnection, period: str) -> ClearingPeriod:
        return (await self._fold(conn, period))[1]

    async def _fold(self, conn: AsyncConnection, period: str) -> tuple[int, ClearingPeriod]:
        """The whole period: linear in its stream (two confirmations per line, the statement)."""
        stream = await self.runtime.store.load(conn, stream_of(period))
        return len(stream), fold_period(ClearingPeriod(), [e.payload for e in stream])

    async def _line(
        self, conn: AsyncConnection, period: str, line_id: str
    ) -> tuple[int, ClearingPeriod]:
        """The period as one line's decisions see it, from the `clearing.own` rows kept in the
        same transaction as every append: confirming one line of 89,000 reads two rows instead of
        decoding and folding 178,000 facts. The rows' stream version is the expected version of
        the append, so a concurrent writer is refused exactly as after a full fold."""
        found = await queries.line_view_of_period(conn, period, line_id)
        return found if found is not None else await self._fold(conn, period)

    async def load_line(self, period: str, line_id: str) -> ClearingPeriod:
        parse_period(period)
        async with self.runtime.engine.connect() as conn:
            return (await self._line(conn, period, line_id))[1]

    async def execute(
        self, period: str, decide: Decide, load: Load | None = None
    ) -> ClearingPeriod:
        parse_period(period)
        stream_id = stream_of(period)

        async def work(conn: AsyncConnection) -> ClearingPeriod:
            version, state = await (load(conn) if load else self._fold(conn, period))
            today = self.today()
            new = await decide(conn, state, today)
            envelopes = await self.runtime.store.append(
                conn, stream_id, version, [NewEvent(p, today) for p in new]
            )
            try:
                for envelope in envelopes:
                    await OWN.apply(conn, envelope)
            except IntegrityError as exc:
                # An input already cleared by another period committed meanwhile: decide again on
                # inputs that exclude it (the unique key on statement_items, not a prior check).
                raise ConcurrencyError(stream_id, version) from exc
            return fold_period(state, new)

        return await in_transaction(self.runtime.engine, work)

    # --- statement ------------------------------------------------------------------------------

    async def generate(self, period: str, actor: Actor) -> ClearingPeriod:
        require_centre(actor, self.settings)

        async def decide(conn: AsyncConnection, state: ClearingPeriod, today: date) -> list[Any]:
            if state.generated:
                return []  # run again (operator, schedule, retry): the statement stands
            require_period_ended(period, today)
            settlements, deductions = await queries.period_inputs(conn, period)
            return period_decisions.decide_generate_statement(
                state, period, settlements, deductions, today
            )

        return await self.execute(period, decide)

    async def preview(self, period: str) -> Statement:
        """The statement the period's inputs give now: its hash equals the generated statement's
        while no input arrived since, and operators see what it would be built from."""
        async with self.runtime.engine.connect() as conn:
            settlements, deductions = await queries.period_inputs(conn, period)
        return build_statement(period, settlements, deductions)

    async def preview_hash(self, period: str) -> str:
        return (await self.preview(period)).input_hash

    async def confirm_line(self, period: str, line_id: str, actor: Actor) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(lambda s, t: period_decisions.decide_confirm_line(s, line_id, actor, t)),
            lambda conn: self._line(conn, period, line_id),
        )

    async def dispute_line(
        self, period: str, line_id: str, reason: str, actor: Actor
    ) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(lambda s, t: period_decisions.decide_dispute_line(s, line_id, reason, actor, t)),
            lambda conn: self._line(conn, period, line_id),
        )

    async def approve(self, period: str, actor: Actor) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(
                lambda s, t: period_decisions.decide_approve_statement(s, actor, self.settings, t)
            ),
        )

    async def propose_adjustment(
        self,
        period: str,
        *,
        adjustment_id: str,
        payer_agency: str,
        receiver_agency: str,
        amount: int,
        reason: str,
        actor: Actor,
    ) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(
                lambda s, t: period_decisions.decide_propose_adjustment(
                    s,
                    adjustment_id=adjustment_id,
                    payer_agency=payer_agency,
                    receiver_agency=receiver_agency,
                    amount=amount,
                    reason=reason,
                    actor=actor,
                    settings=self.settings,
                    today=t,
                )
            ),
        )

    async def approve_adjustment(
        self, period: str, adjustment_id: str, actor: Actor
    ) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(
                lambda s, t: period_decisions.decide_approve_adjustment(
                    s, adjustment_id, actor, self.settings, t
                )
            ),
        )

    async def net(self, period: str, actor: Actor) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(
                lambda s, t: period_decisions.decide_compute_net_positions(
                    s, actor, self.settings, t
                )
            ),
        )

    # --- cash -----------------------------------------------------------------------------------

    async def record_remittance(
        self,
        period: str,
        *,
        agency: str,
        bank_reference: str,
        amount: int,
        received_on: date,
        actor: Actor,
    ) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(
                lambda s, _t: cash.decide_record_remittance(
                    s,
                    agency=agency,
                    bank_reference=bank_reference,
                    amount=amount,
                    received_on=received_on,
                    actor=actor,
                    settings=self.settings,
                )
            ),
        )

    async def request_disbursement(
        self, period: str, *, disbursement_id: str, agency: str, amount: int, actor: Actor
    ) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(
                lambda s, t: cash.decide_request_disbursement(
                    s,
                    disbursement_id=disbursement_id,
                    agency=agency,
                    amount=amount,
                    actor=actor,
                    settings=self.settings,
                    today=t,
                )
            ),
        )

    async def approve_disbursement(
        self, period: str, disbursement_id: str, actor: Actor
    ) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(
                lambda s, t: cash.decide_approve_disbursement(
                    s, disbursement_id, actor, self.settings, t
                )
            ),
        )

    async def check_prepaid_fund(
        self,
        period: str,
        *,
        fund_id: str,
        q4_monthly_amounts: tuple[int, int, int],
        actor: Actor,
    ) -> tuple[ClearingPeriod, dict[str, Any]]:
        """Size the fund from last year's Q4 and warn when this month's clearing uses 70% / 90%."""
        require_centre(actor, self.settings)
        fund_settings = self.settings.prepaid_fund
        fund = prepaid.prepaid_fund_amount(q4_monthly_amounts, fund_settings)
        found: dict[str, Any] = {}

        async def decide(conn: AsyncConnection, state: ClearingPeriod, today: date) -> list[Any]:
            amount = clearing_amount(state)
            found.update(
                fund_id=fund_id,
                fund_amount=fund,
                clearing_amount=amount,
                usage=str(prepaid.usage(amount, fund)),
                level=str(prepaid.warning_level(amount, fund, fund_settings)),
            )
            return prepaid.decide_prepaid_warning(
                period=period,
                fund_id=fund_id,
                fund_amount=fund,
                clearing_amount=amount,
                settings=fund_settings,
                today=today,
            )

        state = await self.execute(period, decide)
        return state, found

    # --- calendar -------------------------------------------------------------------------------

    def calendar(self, period: str, state: ClearingPeriod, today: date) -> dict[str, Any]:
        done = completed_steps(state)
        return {
            "period": period,
            "today": today.isoformat(),
            "schedule": {str(s): d.isoformat() for s, d in schedule(period, self.settings).items()},
            "done": sorted(str(s) for s in done),
            "due": [str(s) for s in due_steps(period, today, self.settings, done)],
            "late": [str(s) for s in late_steps(period, today, self.settings, done)],
        }

    async def run_due(self, period: str, actor: Actor) -> dict[str, Any]:
        """Do what the calendar says is due and can be done without a person's judgement
        (the statement; netting once two approvers signed), and say what waits on whom."""
        require_centre(actor, self.settings)
        state = await self.load(period)
        today = self.today()
        ran: list[str] = []
        waiting: list[dict[str, str]] = []
        for step in due_steps(period, today, self.settings, completed_steps(state)):
            if step == ClearingStep.STATEMENT:
                state = await self.generate(period, actor)
                ran.append(str(step))
            elif step == ClearingStep.NETTING and state.approved:
                require_approver(actor, self.settings)
                state = await self.net(period, actor)
                ran.append(str(step))
            else:
                waiting.append({"step": str(step), "waiting_for": _waiting_for(step, state)})
        view = self.calendar(period, state, self.today())
        return {**view, "ran": ran, "waiting": waiting}


def clearing_amount(state: ClearingPeriod) -> int:
    """What the month moves: the net payers' total once netted, else the statement's lines."""
    if state.netted:
        return state.total_owed()
    return sum(max(0, s.line.amount) for s in state.lines.values())


def _waiting_for(step: ClearingStep, state: ClearingPeriod) -> str:
    if step == ClearingStep.CONFIRMATION:
        pending = sorted(i for i, s in state.lines.items() if s.status == LineStatus.PENDING)
        return f"agencies to confirm or dispute lines {', '.join(pending)}"
    if step == ClearingStep.NETTING:
        return "two approvers to approve the statement"
    if step == ClearingStep.REMITTANCE:
        return "net payers' remittances to arrive"
    return "disbursements to net receivers (two people each)"


def _sync(
    decide: Callable[[ClearingPeriod, date], list[Any]],
) -> Decide:
    async def run(_: AsyncConnection, state: ClearingPeriod, today: date) -> list[Any]:
        return decide(state, today)

    return run
