"""The agency-level day statement (日对账, seed 000): one aggregate per (insured agency, visit
agency, business date).

A handler routes each cross-region settlement record to the stream of `DayId.of(record)`:

    state = fold(evolve, DayStatement(), events_of(day.stream_id))
    new = decide_record_settlement(state, record, now)        # [] when already recorded
    append(day.stream_id, new, expected_version)

Recording is the hot path (every settlement of the day), so the app decides it on a `DayHead`
kept in a row instead of the folded stream: `decide_record_on_head(head, recorded, record, now)`
appends after the row's version, and only a record that resolves a dispute
(`record_resolves_dispute`) takes the fold above. The head is a projection of the stream, so a
rebuild restores it.

The same fold serves `decide_issue_statement`, `decide_confirm_day`, `decide_dispute` and
`decide_accept_disputed`. A cancellation whose original settlement lies on ANOTHER day is recorded
on its own day and then also passed to `decide_reversal` on the original's day stream (the app
keeps a settlement_id -> day lookup), because a reversal resolves a dispute there.

Rules: late records update the day and reopen any confirmation; the day closes when both agencies
have confirmed; settlements under an open dispute are held out of that close and are released
into clearing in the month their dispute is resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from yidi_events.contracts.reconciliation import (
    DayClosed,
    DaySettlement,
    DaySettlementRecorded,
    DisputedSettlementReleased,
    Figures,
    SchemeTotals,
)
from yidi_events.decider import fold
from yidi_events.kernel import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    RegionRelation,
    business_date,
    relation,
)
from yidi_reconciliation.domain.events import (
    DayConfirmed,
    DayReopened,
    DayStatementIssued,
    DisputeResolved,
    SettlementDisputed,
)
from yidi_reconciliation.domain.records import (
    DEFAULT_SETTINGS,
    ReconciliationSettings,
    Scheme,
    SettlementRecord,
    Totals,
    to_clearing_settlement,
    to_day_settlement,
)

_DAY_STREAM = "reconciliation-day"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True, order=True)
class DayId:
    insured_region: str
    visit_region: str
    business_date: date

    @property
    def pair(self) -> str:
        # The insured agency owes the visit agency: the pair reads in the direction of payment.
        return f"{self.insured_region}>{self.visit_region}"

    @property
    def stream_id(self) -> str:
        return f"{_DAY_STREAM}:{self.pair}:{self.business_date.isoformat()}"

    @staticmethod
    def of_stream(stream_id: str) -> DayId:
        """The day a stream id names (the inverse of `stream_id`)."""
        kind, pair, on = stream_id.split(":")
        insured_region, visit_region = pair.split(">")
        if kind != _DAY_STREAM:
            raise ValueError(f"{stream_id} is not a day stream")
        return DayId(insured_region, visit_region, date.fromisoformat(on))

    @staticmethod
    def of(record: SettlementRecord) -> DayId:
        return DayId(record.insured_region, record.visit_region, record.business_date)


class DisputeStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REVERSED = "reversed"


@dataclass(frozen=True)
class Dispute:
    settlement_id: str
    raised_by: str
    reason: str
    status: DisputeStatus = DisputeStatus.OPEN


@dataclass(frozen=True)
class DayStatement:
    day: DayId | None = None
    settlements: Mapping[str, DaySettlement] = field(default_factory=dict)
    issued: bool = False
    confirmed_by: frozenset[str] = frozenset()
    disputes: Mapping[str, Dispute] = field(default_factory=dict)
    closed: bool = False
    close_count: int = 0
    cleared: frozenset[str] = frozenset()  # entered clearing, by a close or a release
    held_out: frozenset[str] = frozenset()  # disputed when a close happened, not yet released

    @property
    def open_disputes(self) -> frozenset[str]:
        return frozenset(s for s, d in self.disputes.items() if d.status is DisputeStatus.OPEN)

    def confirmable(self) -> list[DaySettlement]:
        """The day as an agency confirms it: everything but the settlements under open dispute."""
        held = self.open_disputes
        return [s for sid, s in self.settlements.items() if sid not in held]


# --- evolve ---------------------------------------------------------------------------------------


def evolve(state: DayStatement, event: Any) -> DayStatement:
    match event:
        case DaySettlementRecorded():
            day = state.day or DayId(event.insured_region, event.visit_region, event.business_date)
            settlements = {**state.settlements, event.settlement.settlement_id: event.settlement}
            return replace(state, day=day, settlements=settlements)
        case DayStatementIssued():
            return replace(state, issued=True)
        case DayConfirmed():
            return replace(state, confirmed_by=state.confirmed_by | {event.agency_region})
        case DayReopened():
            return replace(state, confirmed_by=frozenset(), closed=False)
        case SettlementDisputed():
            dispute = Dispute(event.settlement_id, event.agency_region, event.reason)
            return replace(state, disputes={**state.disputes, event.settlement_id: dispute})
        case DisputeResolved():
            resolved = replace(
                state.disputes[event.settlement_id], status=DisputeStatus(event.resolution)
            )
            return replace(state, disputes={**state.disputes, event.settlement_id: resolved})
        case DayClosed():
            return replace(
                state,
                closed=True,
                close_count=event.close_number,
                cleared=state.cleared | {s.settlement_id for s in event.settlements},
                held_out=state.held_out | set(event.held_settlement_ids),
            )
        case DisputedSettlementReleased():
            sid = event.settlement.settlement_id
            return replace(state, cleared=state.cleared | {sid}, held_out=state.held_out - {sid})
    return state


# --- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayHead:
    """What recording a settlement reads of its day, besides whether that settlement is already
    on it. The app keeps it in a row per day, so recording the thousandth settlement of a day
    costs what the first did instead of a fold of the thousand before it."""

    day: DayId | None = None
    issued: bool = False
    confirmed_by: frozenset[str] = frozenset()
    closed: bool = False
    open_disputes: frozenset[str] = frozenset()

    @staticmethod
    def of(state: DayStatement) -> DayHead:
        return DayHead(
            day=state.day,
            issued=state.issued,
            confirmed_by=state.confirmed_by,
            closed=state.closed,
            open_disputes=state.open_disputes,
        )


def evolve_head(head: DayHead, event: Any) -> DayHead:
    """The head moved past one event: `DayHead.of(evolve(state, event))` without the settlements."""
    match event:
        case DaySettlementRecorded():
            day = head.day or DayId(event.insured_region, event.visit_region, event.business_date)
            return replace(head, day=day)
        case DayStatementIssued():
            return replace(head, issued=True)
        case DayConfirmed():
            return replace(head, confirmed_by=head.confirmed_by | {event.agency_region})
        case DayReopened():
            return replace(head, confirmed_by=frozenset(), closed=False)
        case SettlementDisputed():
            return replace(head, open_disputes=head.open_disputes | {event.settlement_id})
        case DisputeResolved():
            return replace(head, open_disputes=head.open_disputes - {event.settlement_id})
        case DayClosed():
            return replace(head, closed=True)
    return head


def record_resolves_dispute(head: DayHead, record: SettlementRecord) -> bool:
    """Whether recording `record` also resolves a dispute on its day (see `decide_reversal`):
    only then does the decision need the whole day (the disputed settlement, what was held out)."""
    return record.is_refund and record.original_settlement_id in head.open_disputes


def decide_record_settlement(
    state: DayStatement,
    record: SettlementRecord,
    now: datetime,
    settings: ReconciliationSettings = DEFAULT_SETTINGS,
) -> list[Any]:
    events = decide_record_on_head(
        DayHead.of(state), record.settlement_id in state.settlements, record, now, settings
    )
    if not events:
        return []
    return events + decide_reversal(fold(evolve, state, events), record, now, settings)


def decide_record_on_head(
    head: DayHead,
    recorded: bool,
    record: SettlementRecord,
    now: datetime,
    settings: ReconciliationSettings = DEFAULT_SETTINGS,
) -> list[Any]:
    """Record a settlement on its day from the day's head alone (`recorded`: the settlement is
    already on the day). The dispute it may resolve is left to `decide_reversal`: callers check
    `record_resolves_dispute` first and decide on the whole day when it does."""
    settings.scheme_of(record.insurance_type)
    if relation(record.insured_region, record.visit_region) is RegionRelation.LOCAL:
        raise DomainError(
            "reconciliation.not_cross_region",
            f"Settlement {record.settlement_id} was insured and treated in the same city; it is"
            " not reconciled between agencies.",
            field="visit_region",
        )
    day = DayId.of(record)
    if head.day is not None and head.day != day:
        raise Conflict(
            "reconciliation.wrong_day",
            f"Settlement {record.settlement_id} belongs to {day.pair} on {day.business_date},"
            f" not to {head.day.pair} on {head.day.business_date}.",
            field="business_date",
        )
    if recorded:
        return []  # redelivered fact
    events: list[Any] = [
        DaySettlementRecorded(
            pair=day.pair,
            insured_region=day.insured_region,
            visit_region=day.visit_region,
            business_date=day.business_date,
            settlement=to_day_settlement(record),
            after_issue=head.issued,
            recorded_at=now,
        )
    ]
    if head.confirmed_by or head.closed:
        events.append(
            DayReopened(
                **_head(day),
                settlement_id=record.settlement_id,
                previously_confirmed_by=tuple(sorted(head.confirmed_by)),
                was_closed=head.closed,
                reopened_at=now,
            )
        )
    return events


def decide_reversal(
    state: DayStatement,
    cancellation: SettlementRecord,
    now: datetime,
    settings: ReconciliationSettings = DEFAULT_SETTINGS,
) -> list[Any]:
    """A cancellation resolves the open dispute on the settlement it cancels, if there is one."""
    original = cancellation.original_settlement_id
    if not cancellation.is_refund or original is None or original not in state.open_disputes:
        return []
    return _resolve(state, original, DisputeStatus.REVERSED, None, cancellation, now, settings)


def decide_issue_statement(state: DayStatement, now: datetime) -> list[Any]:
    day = _require_day(state)
    if state.issued:
        raise Conflict(
            "reconciliation.already_issued",
            f"The statement of {day.pair} for {day.business_date} was already issued.",
            field="business_date",
        )
    if business_date(now) <= day.business_date:
        raise Conflict(
            "reconciliation.day_not_over",
            f"{day.business_date} is not over yet (it closes at 24:00 Asia/Shanghai); the"
            " statement is issued the day after.",
            field="business_date",
        )
    return [
        DayStatementIssued(
            **_head(day),
            totals=Totals.sum(state.settlements.values()).as_figures(),
            issued_at=now,
        )
    ]


def decide_confirm_day(
    state: DayStatement,
    agency_region: str,
    now: datetime,
    settings: ReconciliationSettings = DEFAULT_SETTINGS,
) -> list[Any]:
    day = _require_day(state)
    _require_party(day, agency_region)
    _require_open_statement(state, day)
    if agency_region in state.confirmed_by:
        raise Conflict(
            "reconciliation.already_confirmed",
            f"Agency {agency_region} has already confirmed {day.pair} for {day.business_date}.",
            field="agency_region",
        )
    events: list[Any] = [
        DayConfirmed(
            **_head(day),
            agency_region=agency_region,
            totals=Totals.sum(state.confirmable()).as_figures(),
            confirmed_at=now,
        )
    ]
    after = fold(evolve, state, events)
    if after.confirmed_by >= {day.insured_region, day.visit_region}:
        events.append(_close(after, day, now, settings))
    return events


def decide_dispute(
    state: DayStatement, agency_region: str, settlement_id: str, reason: str, now: datetime
) -> list[Any]:
    day = _require_day(state)
    _require_party(day, agency_region)
    _require_open_statement(state, day)
    if settlement_id not in state.settlements:
        raise NotFound(
            "reconciliation.settlement_unknown",
            f"Settlement {settlement_id} is not in {day.pair} for {day.business_date}.",
            field="settlement_id",
        )
    if not reason.strip():
        raise DomainError(
            "reconciliation.reason_required",
            "A dispute must say what is wrong with the settlement.",
            field="reason",
        )
    if settlement_id in state.cleared:
        raise Conflict(
            "reconciliation.already_cleared",
            f"Settlement {settlement_id} was confirmed by both agencies and entered clearing;"
            " correct it by a cancellation instead.",
            field="settlement_id",
        )
    existing = state.disputes.get(settlement_id)
    if existing is not None:
        raise Conflict(
            "reconciliation.already_disputed",
            f"Settlement {settlement_id} was already disputed by {existing.raised_by}"
            f" ({existing.status.value}).",
            field="settlement_id",
        )
    return [
        SettlementDisputed(
            **_head(day),
            settlement_id=settlement_id,
            agency_region=agency_region,
            reason=reason.strip(),
            disputed_at=now,
        )
    ]


def decide_accept_disputed(
    state: DayStatement,
    agency_region: str,
    settlement_id: str,
    now: datetime,
    settings: ReconciliationSettings = DEFAULT_SETTINGS,
) -> list[Any]:
    """The disputing agency accepts the settlement as it is (it was right after all)."""
    day = _require_day(state)
    _require_party(day, agency_region)
    dispute = state.disputes.get(settlement_id)
    if dispute is None:
        raise NotFound(
            "reconciliation.dispute_unknown",
            f"Settlement {settlement_id} is not under dispute in {day.pair} for"
            f" {day.business_date}.",
            field="settlement_id",
        )
    if dispute.status is not DisputeStatus.OPEN:
        raise Conflict(
            "reconciliation.dispute_resolved",
            f"The dispute on settlement {settlement_id} was already resolved"
            f" ({dispute.status.value}).",
            field="settlement_id",
        )
    if dispute.raised_by != agency_region:
        # The other agency cannot overrule a dispute; only the one that raised it withdraws it.
        raise Forbidden(
            "reconciliation.not_disputing_agency",
            f"Only agency {dispute.raised_by}, which disputed settlement {settlement_id}, may"
            " accept it.",
            field="agency_region",
        )
    return _resolve(
        state, settlement_id, DisputeStatus.ACCEPTED, agency_region, None, now, settings
    )


# --- helpers --------------------------------------------------------------------------------------


def _head(day: DayId) -> dict[str, Any]:
    return {
        "pair": day.pair,
        "insured_region": day.insured_region,
        "visit_region": day.visit_region,
        "business_date": day.business_date,
    }


def _require_day(state: DayStatement) -> DayId:
    if state.day is None:
        raise NotFound(
            "reconciliation.day_unknown",
            "There is no day statement: no settlement was recorded for this pair and date.",
            field="business_date",
        )
    return state.day


def _require_party(day: DayId, agency_region: str) -> None:
    if agency_region not in (day.insured_region, day.visit_region):
        raise Forbidden(
            "reconciliation.not_party",
            f"Agency {agency_region} is not party to {day.pair}; only {day.insured_region}"
            f" (insured place) and {day.visit_region} (visit place) may act on it.",
            field="agency_region",
        )


def _require_open_statement(state: DayStatement, day: DayId) -> None:
    if not state.issued:
        raise Conflict(
            "reconciliation.not_issued",
            f"The statement of {day.pair} for {day.business_date} has not been issued yet.",
            field="business_date",
        )
    if state.closed:
        raise Conflict(
            "reconciliation.day_closed",
            f"{day.pair} for {day.business_date} is already closed.",
            field="business_date",
        )


def _resolve(
    state: DayStatement,
    settlement_id: str,
    status: DisputeStatus,
    resolved_by: str | None,
    cancellation: SettlementRecord | None,
    now: datetime,
    settings: ReconciliationSettings,
) -> list[Any]:
    day = _require_day(state)
    month = month_of(business_date(now))
    events: list[Any] = [
        DisputeResolved(
            **_head(day),
            settlement_id=settlement_id,
            resolution=status.value,
            resolved_by=resolved_by,
            reversal_settlement_id=cancellation.settlement_id if cancellation else None,
            month=month,
            resolved_at=now,
        )
    ]
    if settlement_id in state.held_out:
        settlement = state.settlements[settlement_id]
        events.append(
            DisputedSettlementReleased(
                **_head(day),
                month=month,
                scheme=settings.scheme_of(settlement.insurance_type).value,
                resolution=status.value,
                settlement=to_clearing_settlement(settlement),
                released_at=now,
            )
        )
    return events


def _close(
    state: DayStatement, day: DayId, now: datetime, settings: ReconciliationSettings
) -> DayClosed:
    entering = sorted(
        (s for s in state.confirmable() if s.settlement_id not in state.cleared),
        key=lambda s: s.settlement_id,
    )
    split = {scheme: Totals() for scheme in Scheme}
    for settlement in entering:
        scheme = settings.scheme_of(settlement.insurance_type)
        split[scheme] = split[scheme] + Totals.of(settlement)
    return DayClosed(
        **_head(day),
        month=month_of(day.business_date),
        close_number=state.close_count + 1,
        settlements=tuple(to_clearing_settlement(s) for s in entering),
        totals=SchemeTotals(
            employee=split[Scheme.EMPLOYEE].as_figures(),
            resident=split[Scheme.RESIDENT].as_figures(),
        ),
        held_settlement_ids=tuple(sorted(state.open_disputes)),
        closed_at=now,
    )


def confirmed_figures(state: DayStatement) -> Figures:
    """What has entered clearing from this day so far (closes and releases)."""
    return Totals.sum(state.settlements[s] for s in state.cleared).as_figures()
