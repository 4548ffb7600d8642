"""The person's ledger at the visit place, and the figures a settlement starts from.

One stream per person (`person-ledger-{person_id}`) holds every movement this visit place makes
for the person, whatever the year or hospital: a settling handler loads it, decides, and appends
its `PersonLedgerMoved` at the version it loaded, so two concurrent spenders of one account (or
of one year's deductible) cannot both win; the loser decides again on the new figures.

The insured place holds the truth and states, with each figure, the highest ledger sequence it has
counted. What a settlement starts from is that statement plus this place's movements past it:
nothing it counted is added again, nothing it has not counted is left out, whatever the order or
repetition in which statements arrive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from yidi_benefits.accumulators import Accumulators, initial
from yidi_events.application import Aggregate
from yidi_events.contracts.settlement import AccumulatorMovement, PersonLedgerMoved
from yidi_events.kernel import Fen


@dataclass(frozen=True, kw_only=True)
class LedgerEntry:
    sequence: int
    movement: AccumulatorMovement
    settlement_id: str | None = None  # the settlement, cancellation or reinstatement that moved it


@dataclass(frozen=True, kw_only=True)
class StatedYear:
    """The insured place's latest statement of one policy year (None totals: none received)."""

    totals: AccumulatorMovement | None
    visit_ledger_counted: int


@dataclass(frozen=True, kw_only=True)
class StatedAccount:
    """The insured place's latest account balance and the ledger sequence it includes."""

    balance: Fen
    visit_ledger_counted: int


def stream_id(person_id: str) -> str:
    return f"person-ledger-{person_id}"


def evolve(entries: tuple[LedgerEntry, ...], event: Any) -> tuple[LedgerEntry, ...]:
    if isinstance(event, PersonLedgerMoved):
        return (
            *entries,
            LedgerEntry(
                sequence=event.sequence,
                movement=event.movement,
                settlement_id=event.settlement_id,
            ),
        )
    return entries


def _empty() -> tuple[LedgerEntry, ...]:
    return ()


LEDGER: Aggregate[tuple[LedgerEntry, ...]] = Aggregate(_empty, evolve)


def year_figures(policy_year: int, stated: StatedYear, own: Iterable[LedgerEntry]) -> Accumulators:
    """The year as stated, plus this place's movements of that year the statement has not
    counted. A movement of another year past the watermark is not this year's business."""
    figures = initial(policy_year)
    if stated.totals is not None:
        figures = figures.moved(stated.totals)
    for entry in own:
        mine = entry.movement.policy_year == policy_year
        if mine and entry.sequence > stated.visit_ledger_counted:
            figures = figures.moved(entry.movement)
    return figures


def account_balance(stated: StatedAccount, own: Iterable[LedgerEntry]) -> Fen:
    """The balance as stated, plus this place's account movements it has not counted: in every
    year, because the account is one."""
    return stated.balance + sum(
        e.movement.account_balance for e in own if e.sequence > stated.visit_ledger_counted
    )
