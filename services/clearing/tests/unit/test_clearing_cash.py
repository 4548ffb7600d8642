from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from clearing_testkit import CENTRE, NANJING, SUZHOU, WUXI, approver, clerk

from yidi_clearing.domain.calendar import ClearingStep
from yidi_clearing.domain.cash import (
    decide_approve_disbursement,
    decide_record_remittance,
    decide_request_disbursement,
    disbursable,
    is_late,
    outstanding,
    owed,
)
from yidi_clearing.domain.clearing_period import ClearingPeriod, completed_steps
from yidi_clearing.domain.events import (
    DisbursementRecorded,
    NetPosition,
    NetPositionsComputed,
    PrepaidFundWarningRaised,
    RemittanceRecorded,
    StatementGenerated,
)
from yidi_clearing.domain.ledger import trial_balance
from yidi_clearing.domain.prepaid import (
    WarningLevel,
    decide_prepaid_warning,
    prepaid_fund_amount,
    warning_level,
)
from yidi_clearing.domain.settings import ClearingSettings, DisbursementPolicy, PrepaidFundSettings
from yidi_events.kernel import Conflict, DomainError, Forbidden

Given = Callable[[list[Any]], ClearingPeriod]
ALICE, BOB = approver("alice"), approver("bob")
# Nanjing pays 6,000; Wuxi receives 4,000 and Suzhou 2,000 (fen).
NETTED: list[Any] = [
    StatementGenerated(
        period="2026-03", input_hash="h", generated_on=date(2026, 4, 2), lines=(), held=()
    ),
    NetPositionsComputed(
        period="2026-03",
        positions=(
            NetPosition(agency=NANJING, receivable=0, payable=6_000, net=-6_000),
            NetPosition(agency=WUXI, receivable=4_000, payable=0, net=4_000),
            NetPosition(agency=SUZHOU, receivable=2_000, payable=0, net=2_000),
        ),
        line_ids=(),
        held_line_ids=(),
        adjustment_ids=(),
        computed_on=date(2026, 4, 10),
    ),
]


def remit(
    state: ClearingPeriod, ref: str, amount: int, on: date, settings: ClearingSettings
) -> list[Any]:
    return decide_record_remittance(
        state,
        agency=NANJING,
        bank_reference=ref,
        amount=amount,
        received_on=on,
        actor=ALICE,
        settings=settings,
    )


def test_only_a_net_payer_owes_and_can_be_late(given: Given, settings: ClearingSettings) -> None:
    state = given(NETTED)
    assert (owed(state, NANJING), outstanding(state, NANJING)) == (6_000, 6_000)
    assert (owed(state, WUXI), outstanding(state, WUXI)) == (0, 0)
    assert is_late(state, NANJING, date(2026, 4, 16), settings)
    assert not is_late(state, WUXI, date(2026, 4, 16), settings)


def test_partial_and_late_remittances_are_tracked(given: Given, settings: ClearingSettings) -> None:
    first = remit(given(NETTED), "B1", 2_000, date(2026, 4, 15), settings)
    recorded = first[0]
    assert isinstance(recorded, RemittanceRecorded)
    assert (recorded.owed, recorded.received_total, recorded.outstanding, recorded.late) == (
        6_000,
        2_000,
        4_000,
        False,
    )
    state = given([*NETTED, *first])
    assert outstanding(state, NANJING) == 4_000
    assert not is_late(state, NANJING, date(2026, 4, 15), settings)
    assert is_late(state, NANJING, date(2026, 4, 16), settings)
    second = remit(state, "B2", 4_000, date(2026, 4, 16), settings)
    assert second[0].late
    assert second[0].outstanding == 0
    state = given([*NETTED, *first, *second])
    assert not is_late(state, NANJING, date(2026, 4, 20), settings)
    assert ClearingStep.REMITTANCE in completed_steps(state)
    assert trial_balance(state.journal)["centre_bank"] == 6_000


def test_remittance_refusals(given: Given, settings: ClearingSettings) -> None:
    state = given([*NETTED, *remit(given(NETTED), "B1", 2_000, date(2026, 4, 15), settings)])
    assert remit(state, "B1", 2_000, date(2026, 4, 15), settings) == []  # a retry
    cases: list[tuple[Callable[[], list[Any]], str]] = [
        (
            lambda: remit(state, "B1", 3_000, date(2026, 4, 15), settings),
            "clearing.duplicate_bank_reference",
        ),
        (
            lambda: remit(state, "B9", 4_001, date(2026, 4, 15), settings),
            "clearing.over_remittance",
        ),
        (lambda: remit(state, "B9", 0, date(2026, 4, 15), settings), "clearing.amount_positive"),
        (
            lambda: decide_record_remittance(
                state,
                agency=WUXI,
                bank_reference="B9",
                amount=1,
                received_on=date(2026, 4, 15),
                actor=ALICE,
                settings=settings,
            ),
            "clearing.not_net_payer",
        ),
        (
            lambda: remit(given(NETTED[:1]), "B9", 1, date(2026, 4, 15), settings),
            "clearing.not_netted",
        ),
    ]
    for attempt, rule in cases:
        with pytest.raises(DomainError) as err:
            attempt()
        assert err.value.rule == rule
    with pytest.raises(Forbidden):
        decide_record_remittance(
            state,
            agency=NANJING,
            bank_reference="B9",
            amount=1,
            received_on=date(2026, 4, 15),
            actor=clerk(NANJING),
            settings=settings,
        )


def test_disbursement_is_pro_rata_until_all_cash_arrives(
    given: Given, settings: ClearingSettings
) -> None:
    state = given([*NETTED, *remit(given(NETTED), "B1", 1_001, date(2026, 4, 15), settings)])
    # 1,001 arrived of 6,000: Wuxi floor(1001*4000/6000)=667, Suzhou floor(1001*2000/6000)=333
    assert (disbursable(state, WUXI, settings), disbursable(state, SUZHOU, settings)) == (667, 333)
    assert disbursable(state, NANJING, settings) == 0
    full = given([*NETTED, *remit(given(NETTED), "B1", 6_000, date(2026, 4, 15), settings)])
    assert (disbursable(full, WUXI, settings), disbursable(full, SUZHOU, settings)) == (
        4_000,
        2_000,
    )
    waiting = ClearingSettings(disbursement_policy=DisbursementPolicy.IN_FULL_ONLY)
    assert disbursable(state, WUXI, waiting) == 0


def _request(
    state: ClearingPeriod, did: str, agency: str, amount: int, settings: ClearingSettings
) -> list[Any]:
    return decide_request_disbursement(
        state,
        disbursement_id=did,
        agency=agency,
        amount=amount,
        actor=ALICE,
        settings=settings,
        today=date(2026, 4, 20),
    )


def test_disbursement_takes_four_eyes_and_never_exceeds_the_cash(
    given: Given, settings: ClearingSettings
) -> None:
    history = [*NETTED, *remit(given(NETTED), "B1", 3_000, date(2026, 4, 15), settings)]
    with pytest.raises(DomainError) as err:
        _request(given(history), "D1", WUXI, 2_001, settings)
    assert err.value.rule == "clearing.over_disbursement"
    history += _request(given(history), "D1", WUXI, 2_000, settings)
    assert disbursable(given(history), WUXI, settings) == 0  # the request reserved its share
    with pytest.raises(Forbidden) as eyes:
        decide_approve_disbursement(given(history), "D1", ALICE, settings, date(2026, 4, 20))
    assert eyes.value.rule == "clearing.four_eyes"
    paid = decide_approve_disbursement(given(history), "D1", BOB, settings, date(2026, 4, 20))
    assert isinstance(paid[0], DisbursementRecorded)
    assert (paid[0].amount, paid[0].disbursed_total, paid[0].outstanding) == (2_000, 2_000, 2_000)
    history += paid
    balances = trial_balance(given(history).journal)
    assert balances["centre_bank"] == 1_000
    assert sum(balances.values()) == 0
    with pytest.raises(Conflict):
        _request(given(history), "D2", NANJING, 1, settings)


def test_when_everything_is_paid_every_account_is_back_to_zero(
    given: Given, settings: ClearingSettings
) -> None:
    # Books opened by the obligations/netting entries of a real netting run
    from test_clearing_period import ALICE as A
    from test_clearing_period import approved

    from yidi_clearing.domain.period_decisions import decide_compute_net_positions

    history = approved()
    history += decide_compute_net_positions(given(history), A, settings, date(2026, 4, 10))
    state = given(history)
    for p in state.positions or ():
        if p.net < 0:
            history += decide_record_remittance(
                given(history),
                agency=p.agency,
                bank_reference=f"B-{p.agency}",
                amount=-p.net,
                received_on=date(2026, 4, 15),
                actor=ALICE,
                settings=settings,
            )
    for p in state.positions or ():
        if p.net > 0:
            history += _request(given(history), f"D-{p.agency}", p.agency, p.net, settings)
            history += decide_approve_disbursement(
                given(history), f"D-{p.agency}", BOB, settings, date(2026, 4, 20)
            )
    final = given(history)
    assert all(v == 0 for v in trial_balance(final.journal).values())
    assert ClearingStep.DISBURSEMENT in completed_steps(final)


def test_prepaid_fund_is_two_months_of_the_q4_average() -> None:
    assert prepaid_fund_amount((100, 100, 101), PrepaidFundSettings()) == 201  # 2*301/3=200.67
    assert (
        prepaid_fund_amount((3_000_000, 3_300_000, 3_600_000), PrepaidFundSettings()) == 6_600_000
    )


@pytest.mark.parametrize(
    ("clearing", "level"),
    [
        (6_999, WarningLevel.GREEN),
        (7_000, WarningLevel.YELLOW),
        (8_999, WarningLevel.YELLOW),
        (9_000, WarningLevel.RED),
        (12_000, WarningLevel.RED),
    ],
)
def test_prepaid_warning_boundaries(clearing: int, level: WarningLevel) -> None:
    assert warning_level(clearing, 10_000, PrepaidFundSettings()) == level


def test_prepaid_warning_event_only_when_not_green() -> None:
    kwargs: dict[str, Any] = dict(
        period="2026-03",
        fund_id="F1",
        fund_amount=10_000,
        settings=PrepaidFundSettings(),
        today=date(2026, 4, 10),
    )
    assert decide_prepaid_warning(clearing_amount=6_999, **kwargs) == []
    (raised,) = decide_prepaid_warning(clearing_amount=9_000, **kwargs)
    assert isinstance(raised, PrepaidFundWarningRaised)
    assert (raised.level, raised.usage) == ("red", Decimal("0.9000"))
    with pytest.raises(DomainError):
        warning_level(1, 0, PrepaidFundSettings())
    assert ClearingSettings().provincial_centre == CENTRE
