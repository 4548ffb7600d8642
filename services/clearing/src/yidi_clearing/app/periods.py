"""Handlers of a clearing period: load the period's stream, fold, decide, append, project — in one
transaction of the runtime's write path (retried from the start when a concurrent writer moved the
stream).

The stream of period "2026-03" is "clearing-period:2026-03"; its version is what makes two
concurrent statement runs produce one statement (the second append fails on the unique
(stream_id, stream_version) and, retried, finds the statement already there).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from yidi_clearing.domain import cash, period_decisions, prepaid, prepaid_fund
from yidi_clearing.domain.actors import Actor, require_approver, require_centre
from yidi_clearing.domain.calendar import (
    ClearingStep,
    due_steps,
    late_steps,
    require_days_closed,
    schedule,
)
from yidi_clearing.domain.clearing_period import (
    ClearingPeriod,
    LineStatus,
    PeriodFolding,
    completed_steps,
    fold_period,
)
from yidi_clearing.domain.events import LineConfirmed, LineDisputed, StatementGenerated
from yidi_clearing.domain.inputs import ConfirmedSettlement, Deduction
from yidi_clearing.domain.period import parse_period
from yidi_clearing.domain.settings import ClearingSettings
from yidi_clearing.domain.statement import Statement, build_statement
from yidi_events import registry
from yidi_events.application import Aggregate, Snapshot, Unit, WritePath
from yidi_events.store.event_store import ConcurrencyError

Decide = Callable[[Unit, ClearingPeriod, date], Awaitable[list[Any]]]
DecideWithFund = Callable[
    [ClearingPeriod, prepaid_fund.PrepaidFund, date], tuple[list[Any], list[Any]]
]

FUND = Aggregate(prepaid_fund.PrepaidFund, prepaid_fund.evolve)

PERIOD = Aggregate(PeriodFolding, PeriodFolding.then)
"""The whole period: linear in its stream (two confirmations per line, the statement)."""


class PeriodRows(Protocol):
    """What period decisions read besides the stream (adapters/rows.py)."""

    async def inputs(
        self, unit: Unit, period: str
    ) -> tuple[list[ConfirmedSettlement], list[Deduction]]:
        """Everything that may enter the period's statement, as it stands in this unit."""
        ...

    async def line_view(
        self, unit: Unit, period: str, line_id: str
    ) -> tuple[ClearingPeriod, int] | None:
        """The period as one line's decisions see it and the stream version it is at, from the
        `clearing.own` rows kept in the same transaction as every append; None before a
        statement."""
        ...

    def keep(self, state: ClearingPeriod) -> None:
        """The statement a unit of this process generated and committed: its lines need not be
        read back for the next command on the period."""
        ...

    async def statement(self, unit: Unit, period: str) -> tuple[ClearingPeriod, int] | None:
        """The period as its statement and every line's decisions make it (no approvals,
        netting or cash) and the stream version the rows reflect, from the `clearing.own` rows
        kept in the same transaction as every append (the statement's lines, which never change,
        may be kept in the process); None before a statement."""
        ...


KEPT_IN_ROWS = tuple(
    registry.event_type_of(t) for t in (StatementGenerated, LineConfirmed, LineDisputed)
)


def whole_period(rows: PeriodRows, period: str) -> Aggregate[PeriodFolding]:
    """The whole period without decoding its statement or its line decisions: the statement (one
    fact carrying every settlement id of the month) and two decisions per line (25,000 facts of a
    400-agency month) are read from `statements` and `period_lines` instead (`PeriodRows.statement`),
    and only the rest of the stream (approvals, netting, cash: a few facts) is folded."""

    async def read(unit: Unit, stream_id: str) -> tuple[PeriodFolding, int] | None:
        kept = await rows.statement(unit, period)
        if kept is None:
            return None
        statement, version = kept
        events = await unit.load(stream_id, excluding=KEPT_IN_ROWS)
        # A fact committed between the two reads makes `version` stale, so the append after a
        # decision on this state is refused and retried, as with a full fold.
        return PERIOD.fold((e.payload for e in events), PeriodFolding(statement)), version

    return Aggregate(PeriodFolding, PeriodFolding.then, Snapshot(read, current=True))


def period_as_line(rows: PeriodRows, period: str, line_id: str) -> Aggregate[PeriodFolding]:
    """The period as one line's decisions see it: confirming one line of 89,000 reads two rows
    (and the stream past their version) instead of decoding and folding 178,000 facts."""

    async def read(unit: Unit, stream_id: str) -> tuple[PeriodFolding, int] | None:
        kept = await rows.line_view(unit, period, line_id)
        return None if kept is None else (PeriodFolding(kept[0]), kept[1])

    return Aggregate(PeriodFolding, PeriodFolding.then, Snapshot(read))


def stream_of(period: str) -> str:
    return f"clearing-period:{period}"


def fund_stream_of(fund_id: str) -> str:
    return f"prepaid-fund:{fund_id}"


@dataclass
class PeriodHandlers:
    write: WritePath
    settings: ClearingSettings
    rows: PeriodRows

    def today(self) -> date:
        return self.write.today()

    async def _read(self, period: str, aggregate: Aggregate[PeriodFolding]) -> ClearingPeriod:
        parse_period(period)

        async def read(unit: Unit) -> ClearingPeriod:
            return (await self.write.load(unit, stream_of(period), aggregate)).state.freeze()

        return await self.write.transact(read)

    async def load(self, period: str) -> ClearingPeriod:
        return await self._read(period, whole_period(self.rows, period))

    async def load_line(self, period: str, line_id: str) -> ClearingPeriod:
        return await self._read(period, period_as_line(self.rows, period, line_id))

    async def execute(
        self, period: str, decide: Decide, aggregate: Aggregate[PeriodFolding] | None = None
    ) -> ClearingPeriod:
        parse_period(period)
        stream_id = stream_of(period)
        aggregate = aggregate or whole_period(self.rows, period)

        async def work(unit: Unit) -> ClearingPeriod:
            loaded = await self.write.load(unit, stream_id, aggregate)
            state = loaded.state.freeze()
            today = self.today()
            new = await decide(unit, state, today)
            try:
                await self.write.append(unit, stream_id, loaded.version, new, day=today)
            except IntegrityError as exc:
                # An input already cleared by another period committed meanwhile: decide again on
                # inputs that exclude it (the unique key on statement_items, not a prior check).
                raise ConcurrencyError(stream_id, loaded.version) from exc
            return fold_period(state, new)

        return await self.write.transact(work)

    async def execute_with_fund(
        self, period: str, decide: DecideWithFund
    ) -> tuple[ClearingPeriod, prepaid_fund.PrepaidFund]:
        """A decision on the period and the prepaid fund together, in one unit: the fund's
        stream version serialises every period that draws on it."""
        parse_period(period)
        stream_id, fund_id = stream_of(period), fund_stream_of(self.settings.prepaid_fund.fund_id)

        async def work(unit: Unit) -> tuple[ClearingPeriod, prepaid_fund.PrepaidFund]:
            loaded = await self.write.load(unit, stream_id, whole_period(self.rows, period))
            fund = await self.write.load(unit, fund_id, FUND)
            state = loaded.state.freeze()
            today = self.today()
            period_events, fund_events = decide(state, fund.state, today)
            await self.write.append(unit, stream_id, loaded.version, period_events, day=today)
            await self.write.append(unit, fund_id, fund.version, fund_events, day=today)
            after = fund.state
            for event in fund_events:
                after = prepaid_fund.evolve(after, event)
            return fold_period(state, period_events), after

        return await self.write.transact(work)

    async def fund(self) -> prepaid_fund.PrepaidFund:
        stream_id = fund_stream_of(self.settings.prepaid_fund.fund_id)

        async def read(unit: Unit) -> prepaid_fund.PrepaidFund:
            return (await self.write.load(unit, stream_id, FUND)).state

        return await self.write.transact(read)

    async def establish_fund(
        self, q4_monthly_amounts: tuple[int, int, int], actor: Actor
    ) -> prepaid_fund.PrepaidFund:
        fund_id = self.settings.prepaid_fund.fund_id
        today = self.today()
        await self.write.execute(
            fund_stream_of(fund_id),
            FUND,
            lambda s: prepaid_fund.decide_establish(
                s,
                fund_id=fund_id,
                q4_monthly_amounts=q4_monthly_amounts,
                actor=actor,
                settings=self.settings,
                today=today,
            ),
        )
        return await self.fund()

    async def top_up_fund(
        self, request_id: str, *, amount: int, bank_reference: str, actor: Actor
    ) -> prepaid_fund.PrepaidFund:
        today = self.today()
        await self.write.execute(
            fund_stream_of(self.settings.prepaid_fund.fund_id),
            FUND,
            lambda s: prepaid_fund.decide_top_up(
                s,
                request_id=request_id,
                amount=amount,
                bank_reference=bank_reference,
                actor=actor,
                settings=self.settings,
                today=today,
            ),
        )
        return await self.fund()

    # --- statement ------------------------------------------------------------------------------

    async def generate(self, period: str, actor: Actor) -> ClearingPeriod:
        require_centre(actor, self.settings)

        async def decide(unit: Unit, state: ClearingPeriod, today: date) -> list[Any]:
            if state.generated:
                return []  # run again (operator, schedule, retry): the statement stands
            require_days_closed(period, today, self.settings)
            settlements, deductions = await self.rows.inputs(unit, period)
            return period_decisions.decide_generate_statement(
                state, period, settlements, deductions, today
            )

        state = await self.execute(period, decide)
        self.rows.keep(state)
        return state

    async def preview(self, period: str) -> Statement:
        """The statement the period's inputs give now: its hash equals the generated statement's
        while no input arrived since, and operators see what it would be built from."""
        settlements, deductions = await self.write.transact(
            lambda unit: self.rows.inputs(unit, period)
        )
        return build_statement(period, settlements, deductions)

    async def preview_hash(self, period: str) -> str:
        return (await self.preview(period)).input_hash

    async def confirm_line(self, period: str, line_id: str, actor: Actor) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(lambda s, t: period_decisions.decide_confirm_line(s, line_id, actor, t)),
            period_as_line(self.rows, period, line_id),
        )

    async def dispute_line(
        self, period: str, line_id: str, reason: str, actor: Actor
    ) -> ClearingPeriod:
        return await self.execute(
            period,
            _sync(lambda s, t: period_decisions.decide_dispute_line(s, line_id, reason, actor, t)),
            period_as_line(self.rows, period, line_id),
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
        """Record a payer's cash; what the prepaid fund advanced for the period is repaid from it
        first, in the same unit."""

        def decide(
            state: ClearingPeriod, fund: prepaid_fund.PrepaidFund, today: date
        ) -> tuple[list[Any], list[Any]]:
            events = cash.decide_record_remittance(
                state,
                agency=agency,
                bank_reference=bank_reference,
                amount=amount,
                received_on=received_on,
                actor=actor,
                settings=self.settings,
            )
            if not events:
                return [], []
            fund_events, entries = prepaid_fund.decide_repay(
                fund,
                period=period,
                bank_reference=bank_reference,
                agency=agency,
                amount=amount,
                today=received_on,
            )
            return [*events, *entries], fund_events

        return (await self.execute_with_fund(period, decide))[0]

    async def request_disbursement(
        self, period: str, *, disbursement_id: str, agency: str, amount: int, actor: Actor
    ) -> ClearingPeriod:
        def decide(
            state: ClearingPeriod, fund: prepaid_fund.PrepaidFund, today: date
        ) -> tuple[list[Any], list[Any]]:
            events = cash.decide_request_disbursement(
                state,
                disbursement_id=disbursement_id,
                agency=agency,
                amount=amount,
                actor=actor,
                settings=self.settings,
                today=today,
                fund=fund,
            )
            return events, []

        return (await self.execute_with_fund(period, decide))[0]

    async def approve_disbursement(
        self, period: str, disbursement_id: str, actor: Actor
    ) -> ClearingPeriod:
        """Pay a requested disbursement; the prepaid fund pays what late payers' cash does not
        cover, and warns (and asks for a top-up at red) as it is used."""

        def decide(
            state: ClearingPeriod, fund: prepaid_fund.PrepaidFund, today: date
        ) -> tuple[list[Any], list[Any]]:
            events = cash.decide_approve_disbursement(
                state, disbursement_id, actor, self.settings, today, fund=fund
            )
            if not events:
                return [], []
            request = state.disbursement_requests[disbursement_id]
            from_fund = cash.fund_share(state, request.amount, fund, today, self.settings)
            if not from_fund:
                return events, []
            return events, prepaid_fund.decide_advance(
                fund,
                period=period,
                disbursement_id=disbursement_id,
                agency=request.agency,
                amount=from_fund,
                late_agencies=cash.late_payers(state, today, self.settings),
                settings=self.settings,
                today=today,
            )

        return (await self.execute_with_fund(period, decide))[0]

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

        async def decide(unit: Unit, state: ClearingPeriod, today: date) -> list[Any]:
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
    async def run(_: Unit, state: ClearingPeriod, today: date) -> list[Any]:
        return decide(state, today)

    return run
