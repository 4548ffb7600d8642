from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from clearing_testkit import CENTRE, NANJING, SUZHOU, WUXI, approver, clerk, settlement

from yidi_clearing.domain.actors import Actor
from yidi_clearing.domain.calendar import ClearingStep
from yidi_clearing.domain.clearing_period import ClearingPeriod, LineStatus, completed_steps
from yidi_clearing.domain.events import (
    AdjustmentApproved,
    JournalEntryPosted,
    LineConfirmed,
    LineDisputed,
    NetPositionsComputed,
    StatementApprovalGiven,
    StatementApproved,
    StatementGenerated,
)
from yidi_clearing.domain.ledger import trial_balance
from yidi_clearing.domain.period_decisions import (
    decide_approve_adjustment,
    decide_approve_statement,
    decide_compute_net_positions,
    decide_confirm_line,
    decide_dispute_line,
    decide_generate_statement,
    decide_propose_adjustment,
)
from yidi_clearing.domain.settings import ClearingSettings
from yidi_events.kernel import Conflict, DomainError, Forbidden, NotFound

Given = Callable[[list[Any]], ClearingPeriod]
DAY2, DAY5, DAY10 = date(2026, 4, 2), date(2026, 4, 5), date(2026, 4, 10)
INPUTS = [
    settlement("s1", NANJING, WUXI, fund=10_000),
    settlement("s2", WUXI, NANJING, fund=3_000),
    settlement("s3", NANJING, SUZHOU, fund=5_000),
    settlement("s4", SUZHOU, WUXI, fund=2_000),
]
ALICE, BOB = approver("alice"), approver("bob")


def generated() -> list[Any]:
    return decide_generate_statement(ClearingPeriod(), "2026-03", INPUTS, [], DAY2)


def confirmations(*line_ids: str) -> list[Any]:
    events: list[Any] = []
    for line_id in line_ids:
        for agency in line_id.split(">"):
            events.append(
                LineConfirmed(
                    period="2026-03",
                    line_id=line_id,
                    agency=agency,
                    confirmed_by=f"clerk-{agency}",
                    confirmed_on=DAY5,
                )
            )
    return events


ALL_LINES = ("320100>320200", "320100>320500", "320200>320100", "320500>320200")


def approved() -> list[Any]:
    return [
        *generated(),
        *confirmations(*ALL_LINES),
        StatementApprovalGiven(
            period="2026-03", input_hash="h", approver="alice", approved_on=DAY5
        ),
        StatementApproved(
            period="2026-03", input_hash="h", approvers=("alice", "bob"), approved_on=DAY5
        ),
    ]


def test_generating_twice_from_the_same_inputs_yields_no_second_statement(given: Given) -> None:
    events = generated()
    assert isinstance(events[0], StatementGenerated)
    assert (
        decide_generate_statement(given(events), "2026-03", list(reversed(INPUTS)), [], DAY2) == []
    )


def test_generating_again_from_other_inputs_is_refused(given: Given) -> None:
    with pytest.raises(Conflict) as err:
        decide_generate_statement(given(generated()), "2026-03", INPUTS[:2], [], DAY2)
    assert err.value.rule == "clearing.statement_exists"


def test_both_parties_confirm_a_line_and_a_retry_is_a_no_op(given: Given) -> None:
    state = given(generated())
    first = decide_confirm_line(state, "320100>320200", clerk(NANJING), DAY5)
    assert first == confirmations("320100>320200")[:1]
    state = given([*generated(), *first])
    assert state.lines["320100>320200"].status == LineStatus.PENDING
    assert decide_confirm_line(state, "320100>320200", clerk(NANJING), DAY5) == []
    state = given(
        [*generated(), *first, *decide_confirm_line(state, "320100>320200", clerk(WUXI), DAY5)]
    )
    assert state.lines["320100>320200"].status == LineStatus.CONFIRMED


def test_an_agency_may_act_only_on_its_own_lines(given: Given) -> None:
    state = given(generated())
    attempts: list[Callable[[], list[Any]]] = [
        lambda: decide_confirm_line(state, "320100>320200", clerk(SUZHOU), DAY5),
        lambda: decide_dispute_line(state, "320100>320200", "wrong", clerk(SUZHOU), DAY5),
    ]
    for decide in attempts:
        with pytest.raises(Forbidden) as err:
            decide()
        assert (err.value.rule, err.value.field) == ("clearing.not_party", "line_id")


def test_unknown_line_and_missing_statement_are_not_found(given: Given) -> None:
    with pytest.raises(NotFound):
        decide_confirm_line(given(generated()), "320100>611000", clerk(NANJING), DAY5)
    with pytest.raises(NotFound):
        decide_confirm_line(ClearingPeriod(), "320100>320200", clerk(NANJING), DAY5)


def test_a_disputed_line_is_held_out_of_netting(given: Given, settings: ClearingSettings) -> None:
    dispute = decide_dispute_line(
        given(generated()), "320500>320200", "s4 was cancelled", clerk(WUXI), DAY5
    )
    assert isinstance(dispute[0], LineDisputed)
    history = [
        *generated(),
        *confirmations("320100>320200", "320100>320500", "320200>320100"),
        *dispute,
        StatementApprovalGiven(
            period="2026-03", input_hash="h", approver="alice", approved_on=DAY5
        ),
        StatementApproved(
            period="2026-03", input_hash="h", approvers=("alice", "bob"), approved_on=DAY5
        ),
    ]
    events = decide_compute_net_positions(given(history), ALICE, settings, DAY10)
    netted = events[0]
    assert isinstance(netted, NetPositionsComputed)
    assert netted.held_line_ids == ("320500>320200",)
    assert {p.agency: p.net for p in netted.positions} == {
        NANJING: 3_000 - 15_000,
        WUXI: 10_000 - 3_000,
        SUZHOU: 5_000,
    }
    with pytest.raises(Conflict):
        decide_confirm_line(given(history), "320500>320200", clerk(WUXI), DAY5)


def test_a_dispute_needs_a_reason(given: Given) -> None:
    with pytest.raises(DomainError) as err:
        decide_dispute_line(given(generated()), "320100>320200", " ", clerk(WUXI), DAY5)
    assert err.value.field == "reason"


def test_statement_approval_takes_two_different_approvers(
    given: Given, settings: ClearingSettings
) -> None:
    history = [*generated(), *confirmations(*ALL_LINES)]
    first = decide_approve_statement(given(history), ALICE, settings, DAY5)
    assert [type(e) for e in first] == [StatementApprovalGiven]
    with pytest.raises(Forbidden) as err:
        decide_approve_statement(given([*history, *first]), ALICE, settings, DAY5)
    assert err.value.rule == "clearing.four_eyes"
    second = decide_approve_statement(given([*history, *first]), BOB, settings, DAY5)
    assert isinstance(second[0], StatementApproved)
    assert second[0].approvers == ("alice", "bob")
    assert given([*history, *first, *second]).approved
    assert decide_approve_statement(given([*history, *first, *second]), BOB, settings, DAY5) == []


@pytest.mark.parametrize(
    ("actor", "rule"),
    [
        (Actor("carol", CENTRE, frozenset()), "clearing.role"),
        (Actor("dave", NANJING, frozenset({"approver"})), "clearing.centre_only"),
    ],
)
def test_approval_needs_the_role_at_the_centre(
    given: Given, settings: ClearingSettings, actor: Actor, rule: str
) -> None:
    with pytest.raises(Forbidden) as err:
        decide_approve_statement(
            given([*generated(), *confirmations(*ALL_LINES)]), actor, settings, DAY5
        )
    assert err.value.rule == rule


def test_approval_waits_for_every_line(given: Given, settings: ClearingSettings) -> None:
    with pytest.raises(Conflict) as err:
        decide_approve_statement(
            given([*generated(), *confirmations(*ALL_LINES[:3])]), ALICE, settings, DAY5
        )
    assert err.value.rule == "clearing.lines_pending"
    assert "320500>320200" in err.value.message


def test_lines_freeze_once_approval_started(given: Given, settings: ClearingSettings) -> None:
    history = [*generated(), *confirmations(*ALL_LINES)]
    history += decide_approve_statement(given(history), ALICE, settings, DAY5)
    with pytest.raises(Conflict):
        decide_dispute_line(given(history), "320100>320200", "late doubt", clerk(WUXI), DAY5)


def test_netting_needs_an_approved_statement(given: Given, settings: ClearingSettings) -> None:
    with pytest.raises(Conflict) as err:
        decide_compute_net_positions(
            given([*generated(), *confirmations(*ALL_LINES)]), ALICE, settings, DAY10
        )
    assert err.value.rule == "clearing.statement_not_approved"


def test_netting_posts_balanced_obligations_and_is_computed_once(
    given: Given, settings: ClearingSettings
) -> None:
    events = decide_compute_net_positions(given(approved()), ALICE, settings, DAY10)
    netted, obligations, netting = events
    assert isinstance(netted, NetPositionsComputed)
    assert sum(p.net for p in netted.positions) == 0
    assert isinstance(obligations, JournalEntryPosted)
    assert isinstance(netting, JournalEntryPosted)
    balances = trial_balance([obligations, netting])
    assert sum(balances.values()) == 0
    # after netting each agency has only its net side left: payers owe, receivers are owed
    for p in netted.positions:
        owed_to_centre = balances.get(f"receivable:{p.agency}", 0)
        owed_by_centre = -balances.get(f"payable:{p.agency}", 0)
        assert (owed_to_centre, owed_by_centre) == ((-p.net, 0) if p.net < 0 else (0, p.net))
    state = given([*approved(), *events])
    assert decide_compute_net_positions(state, ALICE, settings, DAY10) == []
    assert {
        ClearingStep.STATEMENT,
        ClearingStep.CONFIRMATION,
        ClearingStep.NETTING,
    } <= completed_steps(state)


def test_adjustments_take_a_proposer_and_a_different_approver(
    given: Given, settings: ClearingSettings
) -> None:
    proposal = decide_propose_adjustment(
        given(approved()),
        adjustment_id="adj-1",
        payer_agency=SUZHOU,
        receiver_agency=NANJING,
        amount=1_500,
        reason="disputed line corrected",
        actor=ALICE,
        settings=settings,
        today=DAY5,
    )
    history = [*approved(), *proposal]
    with pytest.raises(Forbidden) as err:
        decide_approve_adjustment(given(history), "adj-1", ALICE, settings, DAY5)
    assert err.value.rule == "clearing.four_eyes"
    with pytest.raises(Conflict) as pending:
        decide_compute_net_positions(given(history), ALICE, settings, DAY10)
    assert pending.value.rule == "clearing.adjustments_pending"
    approval = decide_approve_adjustment(given(history), "adj-1", BOB, settings, DAY5)
    assert isinstance(approval[0], AdjustmentApproved)
    assert isinstance(approval[1], JournalEntryPosted)
    history += approval
    netted = decide_compute_net_positions(given(history), ALICE, settings, DAY10)[0]
    assert {p.agency: p.net for p in netted.positions}[SUZHOU] == 5_000 - 2_000 - 1_500
    assert netted.adjustment_ids == ("adj-1",)


def test_an_adjustment_must_move_a_positive_amount(
    given: Given, settings: ClearingSettings
) -> None:
    with pytest.raises(DomainError) as err:
        decide_propose_adjustment(
            given(approved()),
            adjustment_id="adj-1",
            payer_agency=SUZHOU,
            receiver_agency=NANJING,
            amount=0,
            reason="x",
            actor=ALICE,
            settings=settings,
            today=DAY5,
        )
    assert (err.value.rule, err.value.field) == ("clearing.adjustment_amount", "amount")
