"""The person's year and account at the insured place (参保地): the one truth.

The person's stream (`person-{id}`) is the ledger: every account credit and debit, every local
settlement at home and every visit-place ledger movement counted is a movement on it, never an
overwrite, and each leaves a statement the visit place settles against:

- `PersonYearStated`: the policy year's totals after the movement;
- `AccountBalanceChanged`: the account's movement and the balance it leaves.

Both carry `visit_ledger_counted`, the highest visit-place ledger sequence counted. A visit-place
movement is counted once, in sequence order: one already counted is no news (redelivery,
republish), one past the next is refused (the consumer parks gaps, so it is never expected).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, datetime

from yidi_events.contracts.filing import AccountBalanceChanged, PersonYearStated
from yidi_events.contracts.reimbursement import ClaimApproved
from yidi_events.contracts.settlement import AccumulatorMovement, PersonLedgerMoved
from yidi_events.kernel import Conflict, DomainError, Fen, business_date
from yidi_filing.domain.person import (
    LOCAL_SETTLEMENT,
    REIMBURSEMENT,
    VISIT_PLACE,
    Person,
    PersonEvent,
    enrolled,
)
from yidi_filing.domain.policy_book import PolicyBook


@dataclass(frozen=True, kw_only=True)
class LocalSettlement:
    """A settlement at home, recorded as the fact it is: how it moved the person's year, and
    what the account paid (a local cancellation moves the figures back: negative)."""

    local_settlement_id: str
    movement: AccumulatorMovement  # its account_balance is ignored: `account_paid` says it
    account_paid: Fen
    settled_on: date


def year_totals(person: Person, policy_year: int) -> AccumulatorMovement:
    return person.years.get(policy_year, AccumulatorMovement.zero(policy_year))


def decide_count_visit_movement(
    state: Person | None, moved: PersonLedgerMoved, now: datetime
) -> list[PersonEvent]:
    """Count one visit-place ledger movement: the facts happened, so neither a death nor an
    account the insured place meanwhile spent refuses them."""
    person = enrolled(state)
    if moved.sequence <= person.visit_ledger_counted:
        return []
    if moved.sequence != person.visit_ledger_counted + 1:
        raise Conflict(
            "person_year.ledger_gap",
            f"visit-place ledger movement {moved.sequence} arrived before "
            f"{person.visit_ledger_counted + 1}",
            field="sequence",
        )
    return _moved(
        person,
        moved.movement,
        moved.movement.account_balance,
        source=VISIT_PLACE,
        reference=moved.settlement_id,
        counted=moved.sequence,
        now=now,
    )


def decide_count_claim(
    state: Person | None, approved: ClaimApproved, now: datetime
) -> list[PersonEvent]:
    """Count an approved manual claim (手工报销) once, by its claim id: the claim was paid as a
    direct settlement would have been, so it moves the same year and account. Like a visit-place
    movement it happened, so neither a death nor a spent account refuses it; a redelivery is no
    news."""
    person = enrolled(state)
    if approved.claim_id in person.claims_counted:
        return []
    return _moved(
        person,
        approved.movement,
        approved.movement.account_balance,
        source=REIMBURSEMENT,
        reference=approved.claim_id,
        counted=person.visit_ledger_counted,
        now=now,
    )


def policy_year_on(book: PolicyBook, day: date) -> int:
    """The policy year `day` falls in under the insured place's policy of that day (a calendar
    year where none is published for it)."""
    policy = book.policy_on(day)
    return day.year if policy is None else policy.policy_year(day)


def decide_record_local_settlement(
    state: Person | None, local: LocalSettlement, book: PolicyBook, now: datetime
) -> list[PersonEvent]:
    """`book` is the insured place's policy book of the person's scheme: its policy decides
    which year the settlement day belongs to, so a forged year cannot open a fresh one."""
    person = enrolled(state)
    reference = local.local_settlement_id.strip()
    if not reference:
        raise DomainError(
            "person_year.local_settlement_id",
            "a local settlement needs its id",
            field="local_settlement_id",
        )
    if reference in person.local_settlements:
        raise Conflict(
            "person_year.duplicate_local_settlement",
            f"local settlement {reference} is recorded already",
            field="local_settlement_id",
        )
    if local.settled_on > business_date(now):
        raise DomainError(
            "person_year.future_date",
            f"settled_on {local.settled_on.isoformat()} is in the future",
            field="settled_on",
        )
    year = policy_year_on(book, local.settled_on)
    if local.movement.policy_year != year:
        raise DomainError(
            "person_year.policy_year",
            f"settled_on {local.settled_on.isoformat()} falls in policy year {year} of the "
            f"insured place's policy, not {local.movement.policy_year}",
            field="policy_year",
        )
    if local.account_paid > person.account_balance:
        raise Conflict(
            "person.insufficient_balance",
            f"the account cannot pay {local.account_paid} fen: it holds "
            f"{person.account_balance} fen",
            field="account_paid",
        )
    return _moved(
        person,
        local.movement,
        -local.account_paid,
        source=LOCAL_SETTLEMENT,
        reference=reference,
        counted=person.visit_ledger_counted,
        now=now,
    )


def _moved(
    person: Person,
    movement: AccumulatorMovement,
    account_change: Fen,
    *,
    source: str,
    reference: str,
    counted: int,
    now: datetime,
) -> list[PersonEvent]:
    change = replace(movement, account_balance=account_change)
    totals = year_totals(person, movement.policy_year).plus(change)
    if source == LOCAL_SETTLEMENT:
        _require_not_below_zero(totals)
    today = business_date(now)
    return [
        PersonYearStated(
            person_id=person.person_id,
            policy_year=movement.policy_year,
            totals=totals,
            change=change,
            source=source,
            reference=reference,
            visit_ledger_counted=counted,
            stated_on=today,
        ),
        AccountBalanceChanged(
            person_id=person.person_id,
            account_balance=person.account_balance + account_change,
            change=account_change,
            reason=f"{source} {reference}",
            changed_on=today,
            visit_ledger_counted=counted,
        ),
    ]


def _require_not_below_zero(totals: AccumulatorMovement) -> None:
    """A local movement back (a cancellation at home) cannot undo more than the year holds; the
    account's net movement of the year is spending, so it is the one figure below zero."""
    for f in fields(AccumulatorMovement):
        if f.name in ("policy_year", "account_balance", "chronic"):
            continue
        if getattr(totals, f.name) < 0:
            raise DomainError(
                "person_year.below_zero",
                f"the year's {f.name} would fall below zero",
                field=f.name,
            )
    for use in totals.chronic:
        if use.deductible_used < 0 or use.fund_paid < 0:
            raise DomainError(
                "person_year.below_zero",
                f"the year's chronic disease {use.disease_code} figures of {use.period} would "
                "fall below zero",
                field="chronic",
            )
