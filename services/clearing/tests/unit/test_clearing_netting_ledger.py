from datetime import date

import pytest
from hypothesis import given as hgiven
from hypothesis import strategies as st

from yidi_clearing.domain.events import JournalEntryPosted
from yidi_clearing.domain.ledger import (
    CENTRE_BANK,
    account_history,
    credit,
    debit,
    make_entry,
    netting_lines,
    obligation_lines,
    trial_balance,
)
from yidi_clearing.domain.netting import Obligation, net_positions
from yidi_events.kernel import DomainError

AGENCIES = ["320100", "320200", "320500", "321300", "611000"]
DAY = date(2026, 4, 10)

obligations = st.lists(
    st.builds(
        Obligation,
        st.sampled_from(AGENCIES),
        st.sampled_from(AGENCIES),
        st.integers(-(10**9), 10**9),
        st.text("abc", max_size=3),
    ).filter(lambda o: o.payer_agency != o.receiver_agency),
    max_size=50,
)


@hgiven(obligations, st.randoms(use_true_random=False))
def test_net_positions_sum_to_zero_and_ignore_order(items: list[Obligation], rnd: object) -> None:
    positions = net_positions(items)
    assert sum(p.net for p in positions) == 0
    for p in positions:
        assert p.net == p.receivable - p.payable
        assert p.receivable >= 0
        assert p.payable >= 0
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert net_positions(shuffled) == positions == net_positions(items)


@hgiven(obligations)
def test_each_position_is_what_the_agency_receives_minus_what_it_pays(
    items: list[Obligation],
) -> None:
    for p in net_positions(items):
        expected = sum(o.amount for o in items if o.receiver_agency == p.agency) - sum(
            o.amount for o in items if o.payer_agency == p.agency
        )
        assert p.net == expected


def test_a_negative_obligation_turns_round() -> None:
    (a, b) = net_positions([Obligation("320100", "320200", -300, "l1")])
    assert (a.agency, a.receivable, a.payable, a.net) == ("320100", 300, 0, 300)
    assert (b.agency, b.net) == ("320200", -300)


def _entry(entry_id: str, lines: list) -> JournalEntryPosted:  # type: ignore[type-arg]
    return make_entry(period="2026-03", entry_id=entry_id, memo="m", posted_on=DAY, lines=lines)


def test_an_unbalanced_entry_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        _entry("e1", [debit(CENTRE_BANK, 100, "r"), credit("receivable:320100", 99, "r")])
    assert (err.value.rule, err.value.field) == ("ledger.unbalanced", "lines")


@pytest.mark.parametrize(
    "lines",
    [
        [debit(CENTRE_BANK, 100, "r")],
        [debit(CENTRE_BANK, -5, "r"), credit("x", -5, "r")],
        [debit(CENTRE_BANK, 0, "r"), credit("x", 0, "r")],
    ],
)
def test_malformed_entries_are_refused(lines: list) -> None:  # type: ignore[type-arg]
    with pytest.raises(DomainError):
        _entry("e1", lines)


@hgiven(obligations)
def test_trial_balance_is_always_zero_and_netting_leaves_one_side(items: list[Obligation]) -> None:
    entries = []
    lines = obligation_lines(items)
    if lines:
        entries.append(_entry("obligations", lines))
    offsets = netting_lines(entries, "netting")
    if offsets:
        entries.append(_entry("netting", offsets))
    balances = trial_balance(entries)
    assert sum(balances.values()) == 0
    for p in net_positions(items):
        assert -balances.get(f"payable:{p.agency}", 0) == max(p.net, 0)
        assert balances.get(f"receivable:{p.agency}", 0) == max(-p.net, 0)


def test_an_account_history_explains_its_balance() -> None:
    entries = [
        _entry("o", obligation_lines([Obligation("320100", "320200", 1_000, "320100>320200")])),
        _entry(
            "r1", [debit(CENTRE_BANK, 400, "BANK-1"), credit("receivable:320100", 400, "BANK-1")]
        ),
        _entry(
            "r2", [debit(CENTRE_BANK, 600, "BANK-2"), credit("receivable:320100", 600, "BANK-2")]
        ),
    ]
    history = account_history(entries, "receivable:320100")
    assert [(h.entry_id, h.reference, h.balance) for h in history] == [
        ("o", "320100>320200", 1_000),
        ("r1", "BANK-1", 600),
        ("r2", "BANK-2", 0),
    ]
    assert history[-1].balance == trial_balance(entries)["receivable:320100"]
