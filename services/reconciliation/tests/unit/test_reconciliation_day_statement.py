"""The agency day statement: given events, when a command, then events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from yidi_events.contracts.reconciliation import (
    DayClosed,
    DaySettlementRecorded,
    DisputedSettlementReleased,
)
from yidi_events.decider import fold
from yidi_events.kernel import Conflict, DomainError, Forbidden
from yidi_events.registry import decode, encode, spec_of
from yidi_reconciliation.domain.day_statement import (
    DayHead,
    DayId,
    DayStatement,
    decide_accept_disputed,
    decide_confirm_day,
    decide_dispute,
    decide_issue_statement,
    decide_record_settlement,
    decide_reversal,
    evolve,
    evolve_head,
)
from yidi_reconciliation.domain.events import (
    DayConfirmed,
    DayReopened,
    DayStatementIssued,
    DisputeResolved,
    SettlementDisputed,
)
from yidi_reconciliation.domain.month_close import (
    DayProgress,
    close_deadline,
    late_days,
    progress_of,
)
from yidi_reconciliation.domain.records import FundPayment, SettlementRecord

SUZHOU, NANJING, WUXI = "320500", "320100", "320200"
DAY = date(2026, 3, 2)


def at(d: date, hour: int = 9) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


NEXT = at(date(2026, 3, 3))


def rec(
    sid: str, total: int = 10000, *, refund_of: str | None = None, **kw: object
) -> SettlementRecord:
    sign = -1 if refund_of else 1
    fund, account = sign * total * 7 // 10, sign * total // 10
    fields: dict[str, object] = {
        "settlement_id": sid,
        "visit_id": f"V{sid}",
        "person_id": "P1",
        "institution_code": "H32010000001",
        "clearing_agency": NANJING,
        "insured_region": SUZHOU,
        "visit_region": NANJING,
        "insurance_type": "310",
        "clearing_category": "21",
        "business_date": DAY,
        "total_fee": sign * total,
        "fund_total": fund,
        "account_paid": account,
        "cash_paid": sign * total - fund - account,
        "is_refund": refund_of is not None,
        "original_settlement_id": refund_of,
        "fund_payments": (FundPayment("310100", fund), FundPayment("310200", account)),
    }
    fields.update(kw)
    return SettlementRecord(**fields)  # type: ignore[arg-type]


def given(*steps: Any) -> tuple[DayStatement, list[Any]]:
    """Run commands in order, returning the final state and every event so far."""
    state, history = DayStatement(), []
    for step in steps:
        events = step(state)
        history.extend(events)
        state = fold(evolve, state, events)
    return state, history


SAME_DAY = at(DAY, 10)


def record(r: SettlementRecord, now: datetime = SAME_DAY) -> Any:
    return lambda s: decide_record_settlement(s, r, now)


def issue(now: datetime = NEXT) -> Any:
    return lambda s: decide_issue_statement(s, now)


def confirm(agency: str, now: datetime = NEXT) -> Any:
    return lambda s: decide_confirm_day(s, agency, now)


def dispute(agency: str, sid: str, reason: str = "amount differs from our record") -> Any:
    return lambda s: decide_dispute(s, agency, sid, reason, NEXT)


def types(events: list[Any]) -> list[type]:
    return [type(e) for e in events]


def test_both_agencies_confirming_closes_the_day_with_clearing_facts() -> None:
    state, _ = given(
        record(rec("S1", 10000)),
        record(rec("S2", 5000, insurance_type="390", fund_payments=(FundPayment("390100", 3500),))),
        issue(),
        confirm(NANJING),
    )
    assert not state.closed
    events = decide_confirm_day(state, SUZHOU, NEXT)
    assert types(events) == [DayConfirmed, DayClosed]
    closed = events[1]
    assert closed.pair == "320500>320100"
    assert closed.month == "2026-03"
    assert closed.close_number == 1
    assert [s.settlement_id for s in closed.settlements] == ["S1", "S2"]
    s1 = closed.settlements[0]
    assert (s1.insured_region, s1.visit_region, s1.insurance_type) == (SUZHOU, NANJING, "310")
    assert (s1.fund_total, s1.account_paid) == (7000, 1000)
    assert {p.fund_code: p.amount for p in s1.fund_payments} == {"310100": 7000, "310200": 1000}
    assert (closed.totals.employee.count, closed.totals.employee.fund_total) == (1, 7000)
    assert (closed.totals.resident.count, closed.totals.resident.fund_total) == (1, 3500)
    assert closed.held_settlement_ids == ()
    assert fold(evolve, state, events).closed


def test_one_confirmation_does_not_close_and_the_same_agency_cannot_confirm_twice() -> None:
    state, history = given(record(rec("S1")), issue(), confirm(NANJING))
    assert types(history)[-1] is DayConfirmed
    with pytest.raises(Conflict) as err:
        decide_confirm_day(state, NANJING, NEXT)
    assert err.value.rule == "reconciliation.already_confirmed"


def test_a_dispute_holds_that_settlement_out_of_the_closed_totals() -> None:
    state, history = given(
        record(rec("S1", 10000)),
        record(rec("S2", 20000)),
        issue(),
        dispute(SUZHOU, "S2"),
        confirm(SUZHOU),
        confirm(NANJING),
    )
    disputed = next(e for e in history if isinstance(e, SettlementDisputed))
    assert (disputed.agency_region, disputed.reason) == (SUZHOU, "amount differs from our record")
    confirmed = [e for e in history if isinstance(e, DayConfirmed)]
    assert all(c.totals.count == 1 and c.totals.total_fee == 10000 for c in confirmed)
    closed = history[-1]
    assert isinstance(closed, DayClosed)
    assert [s.settlement_id for s in closed.settlements] == ["S1"]
    assert closed.totals.employee.fund_total == 7000
    assert closed.held_settlement_ids == ("S2",)
    assert state.closed
    assert state.held_out == {"S2"}


def test_held_settlement_accepted_later_is_released_in_the_month_of_resolution() -> None:
    state, _ = given(
        record(rec("S1")),
        record(rec("S2", 20000)),
        issue(),
        dispute(SUZHOU, "S2"),
        confirm(SUZHOU),
        confirm(NANJING),
    )
    april = at(date(2026, 4, 2))
    events = decide_accept_disputed(state, SUZHOU, "S2", april)
    assert types(events) == [DisputeResolved, DisputedSettlementReleased]
    resolved, released = events
    assert (resolved.resolution, resolved.resolved_by, resolved.month) == (
        "accepted",
        SUZHOU,
        "2026-04",
    )
    assert released.month == "2026-04"
    assert released.scheme == "employee"
    assert (released.settlement.settlement_id, released.settlement.fund_total) == ("S2", 14000)
    after = fold(evolve, state, events)
    assert after.held_out == frozenset()
    assert "S2" in after.cleared
    with pytest.raises(Conflict) as err:
        decide_accept_disputed(after, SUZHOU, "S2", april)
    assert err.value.rule == "reconciliation.dispute_resolved"


def test_dispute_resolved_before_close_enters_the_close_itself() -> None:
    _state, history = given(
        record(rec("S1")),
        issue(),
        dispute(NANJING, "S1"),
        lambda s: decide_accept_disputed(s, NANJING, "S1", NEXT),
        confirm(SUZHOU),
        confirm(NANJING),
    )
    closed = history[-1]
    assert isinstance(closed, DayClosed)
    assert [s.settlement_id for s in closed.settlements] == ["S1"]
    assert not any(isinstance(e, DisputedSettlementReleased) for e in history)


def test_only_the_disputing_agency_accepts_a_disputed_settlement() -> None:
    state, _ = given(record(rec("S1")), issue(), dispute(SUZHOU, "S1"))
    with pytest.raises(Forbidden) as err:
        decide_accept_disputed(state, NANJING, "S1", NEXT)
    assert err.value.rule == "reconciliation.not_disputing_agency"


def test_reversal_on_the_same_day_resolves_the_dispute_and_releases_the_original() -> None:
    state, _ = given(
        record(rec("S1")),
        record(rec("S2", 20000)),
        issue(),
        dispute(SUZHOU, "S2"),
        confirm(SUZHOU),
        confirm(NANJING),
    )
    late_cancel = rec("C2", 20000, refund_of="S2")
    events = decide_record_settlement(state, late_cancel, at(date(2026, 3, 5)))
    assert types(events) == [
        DaySettlementRecorded,
        DayReopened,
        DisputeResolved,
        DisputedSettlementReleased,
    ]
    assert events[2].resolution == "reversed"
    assert events[2].reversal_settlement_id == "C2"
    assert events[3].month == "2026-03"


def test_reversal_from_another_day_resolves_the_dispute_on_the_original_day() -> None:
    state, _ = given(record(rec("S1")), issue(), dispute(NANJING, "S1"))
    cancel = rec("C1", 10000, refund_of="S1", business_date=date(2026, 3, 3))
    events = decide_reversal(state, cancel, at(date(2026, 3, 3)))
    assert types(events) == [DisputeResolved]  # day not closed yet: it enters the close itself
    assert decide_reversal(state, rec("S9"), NEXT) == []
    assert decide_reversal(state, rec("C9", refund_of="S7"), NEXT) == []


def test_late_record_after_close_reopens_and_the_next_close_carries_only_it() -> None:
    state, _ = given(record(rec("S1")), issue(), confirm(SUZHOU), confirm(NANJING))
    assert state.closed
    late = decide_record_settlement(state, rec("S2", 3000), at(date(2026, 3, 4)))
    assert types(late) == [DaySettlementRecorded, DayReopened]
    assert late[0].after_issue is True
    reopened = late[1]
    assert reopened.previously_confirmed_by == (NANJING, SUZHOU)
    assert reopened.was_closed
    assert reopened.settlement_id == "S2"
    state = fold(evolve, state, late)
    assert not state.closed
    assert state.confirmed_by == frozenset()
    events = decide_confirm_day(state, SUZHOU, at(date(2026, 3, 4)))
    state = fold(evolve, state, events)
    events = decide_confirm_day(state, NANJING, at(date(2026, 3, 4)))
    closed = events[-1]
    assert isinstance(closed, DayClosed)
    assert closed.close_number == 2
    assert [s.settlement_id for s in closed.settlements] == ["S2"]
    assert closed.totals.employee.total_fee == 3000


def test_late_record_after_one_confirmation_reopens_it() -> None:
    state, _ = given(record(rec("S1")), issue(), confirm(NANJING))
    events = decide_record_settlement(state, rec("S2"), NEXT)
    assert types(events) == [DaySettlementRecorded, DayReopened]
    state = fold(evolve, state, events)
    # Suzhou alone confirming no longer closes: Nanjing's earlier confirmation was withdrawn.
    assert types(decide_confirm_day(state, SUZHOU, NEXT)) == [DayConfirmed]


def test_record_before_issue_or_without_confirmations_does_not_reopen() -> None:
    state, history = given(record(rec("S1")), issue())
    events = decide_record_settlement(state, rec("S2"), NEXT)
    assert types(events) == [DaySettlementRecorded]
    assert events[0].after_issue is True
    assert history[0].after_issue is False


def test_recording_changes_a_head_only_by_placing_its_day() -> None:
    # The day projection relies on it: an existing head row moves only its version.
    state, history = given(record(rec("S1")), issue(), confirm(NANJING), dispute(SUZHOU, "S1"))
    late, _reopened = decide_record_settlement(state, rec("S2"), NEXT)
    head = DayHead.of(state)
    assert evolve_head(head, late) == head
    assert evolve_head(DayHead(), late) == DayHead(day=DayId(SUZHOU, NANJING, DAY))
    assert DayHead.of(fold(evolve, DayStatement(), history)) == fold(
        evolve_head, DayHead(), history
    )


def test_the_same_settlement_twice_records_nothing() -> None:
    state, _ = given(record(rec("S1")), issue(), confirm(NANJING))
    assert decide_record_settlement(state, rec("S1"), NEXT) == []


@pytest.mark.parametrize(
    "command",
    [
        lambda s: decide_confirm_day(s, WUXI, NEXT),
        lambda s: decide_dispute(s, WUXI, "S1", "not ours", NEXT),
        lambda s: decide_accept_disputed(s, WUXI, "S1", NEXT),
    ],
)
def test_an_agency_outside_the_pair_is_refused(command: Any) -> None:
    state, _ = given(record(rec("S1")), issue(), dispute(SUZHOU, "S1"))
    with pytest.raises(Forbidden) as err:
        command(state)
    assert err.value.rule == "reconciliation.not_party"
    assert err.value.field == "agency_region"


def test_statement_is_issued_only_after_the_day_is_over_in_shanghai() -> None:
    state, _ = given(record(rec("S1")))
    # 2026-03-02 15:59 UTC is 23:59 in Shanghai: still the same business day.
    with pytest.raises(Conflict) as err:
        decide_issue_statement(state, datetime(2026, 3, 2, 15, 59, tzinfo=UTC))
    assert err.value.rule == "reconciliation.day_not_over"
    (issued,) = decide_issue_statement(state, datetime(2026, 3, 2, 16, 0, tzinfo=UTC))
    assert isinstance(issued, DayStatementIssued)
    assert (issued.totals.count, issued.totals.total_fee) == (1, 10000)
    with pytest.raises(Conflict):
        decide_issue_statement(fold(evolve, state, [issued]), NEXT)


def test_confirm_or_dispute_before_issue_is_refused() -> None:
    state, _ = given(record(rec("S1")))
    with pytest.raises(Conflict) as err:
        decide_confirm_day(state, NANJING, NEXT)
    assert err.value.rule == "reconciliation.not_issued"
    with pytest.raises(Conflict):
        decide_dispute(state, NANJING, "S1", "x", NEXT)


def test_dispute_refusals() -> None:
    state, _ = given(record(rec("S1")), issue())
    with pytest.raises(DomainError) as err:
        decide_dispute(state, SUZHOU, "S9", "x", NEXT)
    assert err.value.rule == "reconciliation.settlement_unknown"
    with pytest.raises(DomainError) as err:
        decide_dispute(state, SUZHOU, "S1", "   ", NEXT)
    assert err.value.rule == "reconciliation.reason_required"
    disputed, _ = given(record(rec("S1")), issue(), dispute(SUZHOU, "S1"))
    with pytest.raises(Conflict) as err:
        decide_dispute(disputed, NANJING, "S1", "x", NEXT)
    assert err.value.rule == "reconciliation.already_disputed"
    closed, _ = given(record(rec("S1")), issue(), confirm(SUZHOU), confirm(NANJING))
    with pytest.raises(Conflict) as err:
        decide_dispute(closed, SUZHOU, "S1", "x", NEXT)
    assert err.value.rule == "reconciliation.day_closed"
    reopened = fold(evolve, closed, decide_record_settlement(closed, rec("S2"), NEXT))
    with pytest.raises(Conflict) as err:
        decide_dispute(reopened, SUZHOU, "S1", "x", NEXT)
    assert err.value.rule == "reconciliation.already_cleared"


def test_local_settlements_and_wrong_days_are_refused() -> None:
    with pytest.raises(DomainError) as err:
        decide_record_settlement(DayStatement(), rec("S1", insured_region="320100"), NEXT)
    assert err.value.rule == "reconciliation.not_cross_region"
    state, _ = given(record(rec("S1")))
    with pytest.raises(Conflict) as err:
        decide_record_settlement(state, rec("S2", business_date=date(2026, 3, 3)), NEXT)
    assert err.value.rule == "reconciliation.wrong_day"
    with pytest.raises(DomainError) as err:
        decide_record_settlement(DayStatement(), rec("S3", insurance_type="340"), NEXT)
    assert err.value.rule == "reconciliation.insurance_type_unknown"


def test_every_event_survives_the_wire() -> None:
    _, history = given(
        record(rec("S1")),
        record(rec("S2")),
        issue(),
        dispute(SUZHOU, "S2"),
        confirm(SUZHOU),
        confirm(NANJING),
        lambda s: decide_accept_disputed(s, SUZHOU, "S2", at(date(2026, 4, 1))),
    )
    for event in history:
        spec = spec_of(event)
        assert spec.partition_key(event) == "320500>320100"
        assert decode(spec.event_type, spec.version, encode(event)) == event


# --- month close -----------------------------------------------------------------------------------


def test_month_close_deadline_is_the_3rd_of_the_next_month() -> None:
    assert close_deadline(date(2026, 3, 31)) == date(2026, 4, 3)
    assert close_deadline(date(2026, 12, 1)) == date(2027, 1, 3)


def test_late_days_are_listed_on_the_4th_not_the_3rd() -> None:
    march_open = DayProgress(DayId(SUZHOU, NANJING, date(2026, 3, 31)), closed=False)
    march_closed = DayProgress(DayId(SUZHOU, NANJING, date(2026, 3, 30)), closed=True)
    april_open = DayProgress(DayId(SUZHOU, NANJING, date(2026, 4, 1)), closed=False)
    early = DayProgress(DayId(WUXI, NANJING, date(2026, 3, 1)), closed=False)
    days = [march_open, march_closed, april_open, early]
    assert late_days(days, date(2026, 4, 3)) == []
    assert late_days(days, date(2026, 4, 4)) == [early.day, march_open.day]


def test_progress_follows_the_day_statement() -> None:
    assert progress_of(DayStatement()) is None
    state, _ = given(record(rec("S1")), issue(), confirm(SUZHOU), confirm(NANJING))
    assert progress_of(state) == DayProgress(DayId(SUZHOU, NANJING, DAY), closed=True)
