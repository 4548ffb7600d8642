"""Fee investigation (费用协查) batches: one stream per batch, named by its build month "YYYY-MM".

The batch built at 00:00 on the 26th of month M holds the high-cost admissions settled from the
26th of M-1 to the 25th of M (`batch_window`). Once built it never changes. The visit place answers
each item by the 25th of M+1 (the day before the next build); unanswered items then roll into the
next batch and are counted there. The insured place confirms an answer within 5 working days, or
it is confirmed automatically.

How a handler uses it, at 00:00 on the 26th: for each earlier batch with unanswered items, append
`decide_roll_over(old, new_batch_id, build_date)` to the old stream and fold it; then append
`decide_build(new, build_date, candidates, earlier_states)`. Answers and confirmations are
`decide_answer` / `decide_confirm`; a daily job appends `decide_auto_confirm(state, today, ...)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from yidi_audit.domain.events import (
    InvestigationAnswered,
    InvestigationBatchBuilt,
    InvestigationConfirmed,
    InvestigationItem,
    InvestigationResult,
    InvestigationRolledOver,
)
from yidi_audit.domain.guards import Actor, add_months, require_agency, require_text
from yidi_events.application import Aggregate
from yidi_events.kernel import Conflict, DomainError, NotFound, WorkingCalendar

InvestigationEvent = (
    InvestigationBatchBuilt
    | InvestigationRolledOver
    | InvestigationAnswered
    | InvestigationConfirmed
)


@dataclass(frozen=True)
class InvestigationSettings:
    cut_day: int = 25  # a window ends on this day; the batch is built at 00:00 the next day
    confirm_working_days: int = 5

    @property
    def build_day(self) -> int:
        return self.cut_day + 1


DEFAULT_SETTINGS = InvestigationSettings()


def batch_id_of(build_date: date) -> str:
    return f"{build_date.year:04d}-{build_date.month:02d}"


def batch_window(
    build_date: date, settings: InvestigationSettings = DEFAULT_SETTINGS
) -> tuple[date, date]:
    """The days (first, last, inclusive) of the batch built on `build_date` (a 26th):
    2026-01-26 -> (2025-12-26, 2026-01-25)."""
    if build_date.day != settings.build_day:
        raise DomainError(
            "audit.investigation.build_day",
            f"协查 batches are built on day {settings.build_day} of a month, not on {build_date}",
            field="build_date",
        )
    return add_months(build_date, -1), build_date - timedelta(days=1)


def build_date_for(day: date, settings: InvestigationSettings = DEFAULT_SETTINGS) -> date:
    """The build date of the batch whose window holds `day`."""
    this_month = day.replace(day=settings.build_day)
    return this_month if day.day <= settings.cut_day else add_months(this_month, 1)


@dataclass(frozen=True)
class ItemState:
    item: InvestigationItem
    result: InvestigationResult | None = None
    answered_on: date | None = None
    confirm_by: date | None = None
    confirmed: bool = False
    rolled_to: str | None = None


@dataclass(frozen=True)
class BatchState:
    batch_id: str = ""
    built: bool = False
    window: tuple[date, date] | None = None
    answer_by: date | None = None
    items: dict[str, ItemState] = field(default_factory=dict)

    def unanswered(self) -> list[ItemState]:
        return [
            s for _, s in sorted(self.items.items()) if s.result is None and s.rolled_to is None
        ]


def evolve(state: BatchState, event: InvestigationEvent) -> BatchState:
    match event:
        case InvestigationBatchBuilt():
            return BatchState(
                batch_id=event.batch_id,
                built=True,
                window=(event.window_from, event.window_to),
                answer_by=event.answer_by,
                items={i.settlement_id: ItemState(i) for i in event.items},
            )
        case InvestigationRolledOver():
            item = replace(state.items[event.settlement_id], rolled_to=event.to_batch_id)
            return replace(state, items={**state.items, event.settlement_id: item})
        case InvestigationAnswered():
            item = replace(
                state.items[event.settlement_id],
                result=event.result,
                answered_on=event.answered_on,
                confirm_by=event.confirm_by,
            )
            return replace(state, items={**state.items, event.settlement_id: item})
        case InvestigationConfirmed():
            item = replace(state.items[event.settlement_id], confirmed=True)
            return replace(state, items={**state.items, event.settlement_id: item})
    return state


BATCH = Aggregate(BatchState, evolve)


def decide_roll_over(
    state: BatchState, to_batch_id: str, build_date: date
) -> list[InvestigationRolledOver]:
    """Items of this batch still unanswered when the next batch is built move to it."""
    if not state.built or state.answer_by is None or state.answer_by >= build_date:
        return []
    return [
        InvestigationRolledOver(
            batch_id=state.batch_id,
            settlement_id=s.item.settlement_id,
            to_batch_id=to_batch_id,
            rolled_on=build_date,
        )
        for s in state.unanswered()
    ]


def decide_build(
    state: BatchState,
    build_date: date,
    candidates: Iterable[InvestigationItem],
    earlier: Iterable[BatchState] = (),
    settings: InvestigationSettings = DEFAULT_SETTINGS,
) -> list[InvestigationEvent]:
    """Build the batch once: admissions settled in the window, plus items rolled into it."""
    if state.built:
        raise Conflict(
            "audit.investigation.batch_immutable",
            f"协查 batch {state.batch_id} is already built and cannot change",
            field="batch_id",
        )
    batch_id = batch_id_of(build_date)
    first, last = batch_window(build_date, settings)
    chosen = {c.settlement_id: c for c in candidates if first <= c.settled_on <= last}
    rolled = {
        s.item.settlement_id: replace(s.item, rolled_from_batch=old.batch_id)
        for old in earlier
        for s in old.items.values()
        if s.rolled_to == batch_id
    }
    items = {**chosen, **rolled}
    return [
        InvestigationBatchBuilt(
            batch_id=batch_id,
            window_from=first,
            window_to=last,
            built_on=build_date,
            answer_by=add_months(build_date, 1) - timedelta(days=1),
            items=tuple(items[k] for k in sorted(items)),
            rolled_over_count=len(rolled),
        )
    ]


def _item(state: BatchState, settlement_id: str) -> ItemState:
    found = state.items.get(settlement_id)
    if found is None:
        raise NotFound(
            "audit.investigation.item_not_found",
            f"settlement {settlement_id} is not in 协查 batch {state.batch_id or '(not built)'}",
            field="settlement_id",
        )
    return found


def decide_answer(
    state: BatchState,
    settlement_id: str,
    answerer: Actor,
    result: InvestigationResult,
    reason: str,
    on: date,
    calendar: WorkingCalendar,
    settings: InvestigationSettings = DEFAULT_SETTINGS,
) -> list[InvestigationEvent]:
    item = _item(state, settlement_id)
    if item.rolled_to is not None:
        raise Conflict(
            "audit.investigation.rolled_over",
            f"settlement {settlement_id} was not answered in time and moved to batch "
            f"{item.rolled_to}; answer it there",
            field="settlement_id",
        )
    if item.result is not None:
        raise Conflict(
            "audit.investigation.already_answered",
            f"settlement {settlement_id} was already answered ({item.result})",
            field="settlement_id",
        )
    require_agency(
        answerer,
        item.item.visit_region,
        rule="audit.investigation.wrong_agency",
        role="visit-place",
    )
    text = reason.strip()
    if result is InvestigationResult.ISSUE_FOUND:
        text = require_text(
            reason,
            rule="audit.investigation.reason_required",
            field="reason",
            what="核查有误 reason",
        )
    return [
        InvestigationAnswered(
            batch_id=state.batch_id,
            settlement_id=settlement_id,
            result=result,
            reason=text,
            answered_by=answerer.actor_id,
            answered_on=on,
            confirm_by=calendar.add_working_days(on, settings.confirm_working_days),
            late=state.answer_by is not None and on > state.answer_by,
        )
    ]


def _confirmable(state: BatchState, settlement_id: str) -> ItemState:
    item = _item(state, settlement_id)
    if item.result is None:
        raise Conflict(
            "audit.investigation.not_answered",
            f"settlement {settlement_id} has no answer to confirm yet",
            field="settlement_id",
        )
    if item.confirmed:
        raise Conflict(
            "audit.investigation.already_confirmed",
            f"the answer on settlement {settlement_id} is already confirmed",
            field="settlement_id",
        )
    return item


def decide_confirm(
    state: BatchState, settlement_id: str, confirmer: Actor, on: date
) -> list[InvestigationEvent]:
    item = _confirmable(state, settlement_id)
    require_agency(
        confirmer,
        item.item.insured_region,
        rule="audit.investigation.wrong_agency",
        role="insured-place",
    )
    return [
        InvestigationConfirmed(
            batch_id=state.batch_id,
            settlement_id=settlement_id,
            confirmed_on=on,
            confirmed_by=confirmer.actor_id,
            automatic=False,
        )
    ]


def decide_auto_confirm(state: BatchState, today: date) -> list[InvestigationEvent]:
    """Answers whose last confirmation day has passed are confirmed automatically."""
    return [
        InvestigationConfirmed(
            batch_id=state.batch_id,
            settlement_id=sid,
            confirmed_on=today,
            confirmed_by="",
            automatic=True,
        )
        for sid, s in sorted(state.items.items())
        if s.result is not None
        and not s.confirmed
        and s.confirm_by is not None
        and s.confirm_by < today
    ]
