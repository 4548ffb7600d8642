"""The figures a settlement starts from: the insured place's statement plus our ledger movements
past its watermark, never one counted twice, never one left out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from yidi_benefits.accumulators import Accumulators
from yidi_events.contracts.settlement import AccumulatorMovement, PersonLedgerMoved
from yidi_settlement.domain import person_ledger as pl
from yidi_settlement.domain.person_ledger import LedgerEntry, StatedAccount, StatedYear

ZERO = AccumulatorMovement.zero(2026)
STAY = replace(ZERO, inpatient_admissions=1, eligible_cum=500_000, basic_paid_cum=400_000)
SPEND = replace(ZERO, outpatient_deductible_used=10_000, account_balance=-5_000)
NEXT_YEAR = replace(ZERO, policy_year=2027, inpatient_admissions=1, account_balance=-2_000)

OWN = (
    LedgerEntry(sequence=1, movement=STAY),
    LedgerEntry(sequence=2, movement=SPEND),
    LedgerEntry(sequence=3, movement=NEXT_YEAR),
    LedgerEntry(sequence=4, movement=SPEND.negated()),  # the spend, cancelled
)


def test_with_no_statement_the_year_is_our_own_movements_of_that_year() -> None:
    figures = pl.year_figures(2026, StatedYear(totals=None, visit_ledger_counted=0), OWN)
    assert figures == Accumulators(
        policy_year=2026, inpatient_admissions=1, eligible_cum=500_000, basic_paid_cum=400_000
    )


def test_a_statement_counts_what_it_counted_and_we_add_only_the_rest() -> None:
    # The insured place counted 1 and 2 and has a home admission of its own (1 admission).
    home = replace(ZERO, inpatient_admissions=1, eligible_cum=100_000)
    stated_totals = replace(
        ZERO,
        inpatient_admissions=2,
        eligible_cum=600_000,
        basic_paid_cum=400_000,
        outpatient_deductible_used=10_000,
    )
    assert home.inpatient_admissions + STAY.inpatient_admissions == 2
    stated = StatedYear(totals=stated_totals, visit_ledger_counted=2)
    figures = pl.year_figures(2026, stated, OWN)
    # 3 is another year's; 4 moves the deductible back.
    assert figures == Accumulators(
        policy_year=2026,
        inpatient_admissions=2,
        eligible_cum=600_000,
        basic_paid_cum=400_000,
        outpatient_deductible_used=0,
    )


def test_the_balance_is_the_stated_one_plus_our_account_movements_past_it_in_every_year() -> None:
    assert pl.account_balance(StatedAccount(balance=100_000, visit_ledger_counted=0), OWN) == (
        100_000 - 5_000 - 2_000 + 5_000
    )
    # 1 and 2 are in the stated figure already: only 3 and 4 move it.
    assert pl.account_balance(StatedAccount(balance=95_000, visit_ledger_counted=2), OWN) == (
        95_000 - 2_000 + 5_000
    )
    assert pl.account_balance(StatedAccount(balance=98_000, visit_ledger_counted=4), OWN) == 98_000


def test_the_ledger_folds_its_movements_in_sequence() -> None:
    moved = [
        PersonLedgerMoved(
            person_id="P",
            insured_region="320500",
            sequence=entry.sequence,
            policy_year=entry.movement.policy_year,
            movement=entry.movement,
            reason="settlement",
            settlement_id=f"S{entry.sequence}",
            visit_id="V",
            moved_at=datetime(2026, 3, 1, tzinfo=UTC),
        )
        for entry in OWN
    ]
    # Each entry keeps which settlement moved it: a 2601 of a cancellation checks that nothing
    # moved the person after it.
    assert pl.LEDGER.fold(moved) == tuple(
        replace(entry, settlement_id=f"S{entry.sequence}") for entry in OWN
    )
    assert pl.stream_id("P") == "person-ledger-P"
