"""Folding a period is linear and equals evolving it one event at a time."""

from datetime import date
from functools import reduce
from typing import Any

from clearing_testkit import NANJING, SUZHOU, WUXI, approver, settlement
from hypothesis import given
from hypothesis import strategies as st

from yidi_clearing.domain.clearing_period import (
    ClearingPeriod,
    LineStatus,
    evolve,
    fold_period,
)
from yidi_clearing.domain.events import (
    AdjustmentApproved,
    AdjustmentProposed,
    LineConfirmed,
    LineDisputed,
    StatementApprovalGiven,
)
from yidi_clearing.domain.period_decisions import decide_generate_statement

DAY2, DAY5 = date(2026, 4, 2), date(2026, 4, 5)
PAIRS = [(NANJING, WUXI), (WUXI, NANJING), (NANJING, SUZHOU), (SUZHOU, WUXI), (WUXI, SUZHOU)]


def confirmed(line_id: str, agency: str) -> LineConfirmed:
    return LineConfirmed(
        period="2026-03",
        line_id=line_id,
        agency=agency,
        confirmed_by=f"clerk-{agency}",
        confirmed_on=DAY5,
    )


def month() -> list[Any]:
    """A statement, confirmations, a dispute, an adjustment and a first approval."""
    inputs = [settlement(f"s{i}", p, r, fund=1_000 + i) for i, (p, r) in enumerate(PAIRS)]
    events: list[Any] = decide_generate_statement(ClearingPeriod(), "2026-03", inputs, [], DAY2)
    for payer, receiver in PAIRS[:-1]:
        for agency in (payer, receiver):
            events.append(confirmed(f"{payer}>{receiver}", agency))
    events.append(
        LineDisputed(
            period="2026-03",
            line_id=f"{WUXI}>{SUZHOU}",
            agency=WUXI,
            disputed_by="clerk",
            reason="not ours",
            disputed_on=DAY5,
        )
    )
    proposal = AdjustmentProposed(
        period="2026-03",
        adjustment_id="adj-1",
        payer_agency=NANJING,
        receiver_agency=WUXI,
        amount=100,
        reason="late correction",
        proposed_by="alice",
        proposed_on=DAY5,
    )
    events.append(proposal)
    events.append(
        AdjustmentApproved(
            period="2026-03",
            adjustment_id="adj-1",
            payer_agency=NANJING,
            receiver_agency=WUXI,
            amount=100,
            proposed_by="alice",
            approved_by="bob",
            approved_on=DAY5,
        )
    )
    events.append(
        StatementApprovalGiven(
            period="2026-03", input_hash="h", approver=approver("alice").user_id, approved_on=DAY5
        )
    )
    return events


@given(st.integers(min_value=0, max_value=len(month())))
def test_folding_in_two_goes_equals_folding_at_once_and_one_by_one(split: int) -> None:
    events = month()
    at_once = fold_period(ClearingPeriod(), events)
    one_by_one = reduce(evolve, events, ClearingPeriod())
    first = fold_period(ClearingPeriod(), events[:split])
    snapshot = (dict(first.lines), dict(first.adjustments), first.journal)
    in_two = fold_period(first, events[split:])
    assert at_once == one_by_one == in_two
    # The state a caller holds is never changed by folding more onto it.
    assert (first.lines, first.adjustments, first.journal) == snapshot
    assert at_once.lines[f"{WUXI}>{SUZHOU}"].status == LineStatus.DISPUTED
    assert at_once.adjustments["adj-1"].approved_by == "bob"
    assert at_once.first_approver == "alice"


def test_a_month_of_many_lines_folds_to_every_line_confirmed() -> None:
    # How fast a 400-agency month folds is `make bench`'s clearing_400_s, not a test's stopwatch.
    agencies = [f"{p:02d}{c:02d}00" for p in range(11, 66) for c in range(1, 5)]
    pairs = [(a, b) for a in agencies for b in agencies if a != b][:2_000]
    inputs = [settlement(f"s{i}", p, r, fund=500) for i, (p, r) in enumerate(pairs)]
    events: list[Any] = decide_generate_statement(ClearingPeriod(), "2026-03", inputs, [], DAY2)
    events += [confirmed(f"{p}>{r}", agency) for p, r in pairs for agency in (p, r)]
    state = fold_period(ClearingPeriod(), events)
    assert len(state.lines) == 2_000
    assert all(s.status == LineStatus.CONFIRMED for s in state.lines.values())
