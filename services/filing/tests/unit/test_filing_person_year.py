"""The person's year and account at the insured place, on the in-memory event store: visit-place
ledger movements counted once and in order, local settlements recorded as facts (one, or a file
all or nothing), every change stated with the watermark of what was counted.

Zhang holds 3,500.00 (350000 fen) on Monday 2 March 2026; every figure is worked by hand.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest
from filing_testkit import CLERK, NOW, TODAY, WUXI_CLERK, ZHANG, enrolled_zhang

from yidi_cli.sandbox import shared_dir
from yidi_events.application import InMemoryEventStore, Unit
from yidi_events.auth.agency import Principal
from yidi_events.contracts.filing import AccountBalanceChanged, PersonYearStated
from yidi_events.contracts.reimbursement import ClaimApproved
from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    PersonLedgerMoved,
    SettlementTotals,
)
from yidi_events.kernel import Conflict, DomainError
from yidi_filing.app import person_year, persons, policies
from yidi_filing.app.common import Context
from yidi_filing.domain.local_settlement_import import parse_local_settlements
from yidi_filing.domain.person_year import LocalSettlement

ZERO = AccumulatorMovement.zero(2026)
NANJING_STAY = replace(
    ZERO, inpatient_admissions=1, eligible_cum=200000, basic_paid_cum=180000, account_balance=-5000
)
HOME_STAY = LocalSettlement(
    local_settlement_id="L1",
    movement=replace(ZERO, inpatient_admissions=1, eligible_cum=100000, basic_paid_cum=90000),
    account_paid=20000,
    settled_on=date(2026, 2, 10),
)


STREAM = f"person-{ZHANG}"


async def enrolled() -> tuple[Context, InMemoryEventStore]:
    s = await enrolled_zhang()
    return s.ctx, s.store


def moved(sequence: int, movement: AccumulatorMovement = NANJING_STAY) -> PersonLedgerMoved:
    return PersonLedgerMoved(
        person_id=ZHANG,
        insured_region="320500",
        sequence=sequence,
        policy_year=movement.policy_year,
        movement=movement,
        reason="settlement",
        settlement_id=f"S{sequence}",
        visit_id="V1",
        moved_at=NOW,
    )


async def count(ctx: Context, movement: PersonLedgerMoved) -> None:
    async def work(unit: Unit) -> None:
        await person_year.count_visit_movement(ctx, unit, movement)

    await ctx.write.transact(work)


async def test_a_visit_place_movement_is_counted_once_and_stated_with_its_sequence() -> None:
    ctx, store = await enrolled()
    await count(ctx, moved(1))
    await count(ctx, moved(1))  # redelivered, or republished after the broker lost it
    assert store.payloads(STREAM)[1:] == [
        PersonYearStated(
            person_id=ZHANG,
            policy_year=2026,
            totals=NANJING_STAY,
            change=NANJING_STAY,
            source="visit_place",
            reference="S1",
            visit_ledger_counted=1,
            stated_on=TODAY,
        ),
        AccountBalanceChanged(
            person_id=ZHANG,
            account_balance=345000,
            change=-5000,
            reason="visit_place S1",
            changed_on=TODAY,
            visit_ledger_counted=1,
        ),
    ]


async def test_a_movement_before_its_predecessor_is_refused() -> None:
    ctx, store = await enrolled()
    with pytest.raises(Conflict) as refused:
        await count(ctx, moved(2))
    assert refused.value.rule == "person_year.ledger_gap"
    assert len(store.payloads(STREAM)) == 1


async def test_a_cancellation_moves_the_year_and_account_back() -> None:
    ctx, store = await enrolled()
    await count(ctx, moved(1))
    await count(ctx, moved(2, NANJING_STAY.negated()))
    stated, balance = store.payloads(STREAM)[-2:]
    assert stated.totals == ZERO
    assert (balance.account_balance, balance.change, balance.visit_ledger_counted) == (
        350000,
        5000,
        2,
    )


async def test_a_credit_is_a_movement_stated_with_the_watermark_counted_so_far() -> None:
    ctx, store = await enrolled()
    await count(ctx, moved(1))
    await persons.act(ctx, CLERK, ZHANG, persons.credit(10000, "monthly transfer"))
    [credit] = store.payloads(STREAM)[-1:]
    assert credit == AccountBalanceChanged(
        person_id=ZHANG,
        account_balance=355000,
        change=10000,
        reason="monthly transfer",
        changed_on=TODAY,
        visit_ledger_counted=1,
    )
    # Setting the balance is the movement that reaches it: the visit place's spending stays in.
    await persons.act(ctx, CLERK, ZHANG, persons.set_balance(400000, "correction"))
    assert store.payloads(STREAM)[-1].change == 45000


async def test_a_local_settlement_continues_the_year_the_visit_place_began() -> None:
    ctx, store = await enrolled()
    await count(ctx, moved(1))
    await person_year.record_local_settlement(ctx, CLERK, ZHANG, HOME_STAY)
    stated, balance = store.payloads(STREAM)[-2:]
    assert stated.totals == replace(
        ZERO,
        inpatient_admissions=2,
        eligible_cum=300000,
        basic_paid_cum=270000,
        account_balance=-25000,
    )
    assert (stated.source, stated.reference, stated.visit_ledger_counted) == (
        "local_settlement",
        "L1",
        1,
    )
    assert (balance.account_balance, balance.change) == (325000, -20000)


@pytest.mark.parametrize(
    ("local", "rule"),
    [
        (HOME_STAY, "person_year.duplicate_local_settlement"),
        (
            replace(HOME_STAY, local_settlement_id="L2", account_paid=330001),
            "person.insufficient_balance",
        ),
        (
            replace(
                HOME_STAY, local_settlement_id="L3", movement=replace(ZERO, eligible_cum=-100001)
            ),
            "person_year.below_zero",
        ),
        (
            replace(HOME_STAY, local_settlement_id="L4", settled_on=date(2026, 3, 3)),
            "person_year.future_date",
        ),
        (  # no policy published for Suzhou employees here: the calendar year dates it
            replace(
                HOME_STAY,
                local_settlement_id="L5",
                movement=replace(HOME_STAY.movement, policy_year=2031),
            ),
            "person_year.policy_year",
        ),
    ],
)
async def test_a_wrong_local_settlement_is_refused_and_changes_nothing(
    local: LocalSettlement, rule: str
) -> None:
    ctx, store = await enrolled()
    await person_year.record_local_settlement(ctx, CLERK, ZHANG, HOME_STAY)
    before = list(store.log)
    with pytest.raises(DomainError) as refused:
        await person_year.record_local_settlement(ctx, CLERK, ZHANG, local)
    assert refused.value.rule == rule
    assert store.log == before


CSV = (
    "person_id,local_settlement_id,policy_year,settled_on,inpatient_admissions,eligible_cum,"
    "account_paid\n"
    f"{ZHANG},L1,2026,2026-02-10,1,100000,20000\n"
    f"{ZHANG},L2,2026,2026-02-20,0,5000,3000\n"
)


async def test_a_file_of_local_settlements_is_recorded_whole() -> None:
    ctx, store = await enrolled()
    assert await person_year.import_local_settlements(ctx, CLERK, CSV, "csv") == 2
    balances = [
        p.account_balance for p in store.payloads(STREAM) if isinstance(p, AccountBalanceChanged)
    ]
    assert balances == [330000, 327000]


async def test_a_file_with_one_refused_row_records_nothing_and_names_the_row() -> None:
    ctx, store = await enrolled()
    content = CSV + f"{ZHANG},L3,2026,2026-02-21,0,0,999999\n"
    with pytest.raises(persons.RowErrors) as refused:
        await person_year.import_local_settlements(ctx, CLERK, content, "csv")
    assert [(e.row, e.rule) for e in refused.value.rows] == [(3, "person.insufficient_balance")]
    assert len(store.payloads(STREAM)) == 1
    with pytest.raises(persons.RowErrors) as other_region:
        await person_year.import_local_settlements(ctx, WUXI_CLERK, CSV, "csv")
    assert {e.rule for e in other_region.value.rows} == {"auth.region"}


def test_a_file_names_every_wrong_cell() -> None:
    content = (
        "person_id,local_settlement_id,policy_year,settled_on,eligible_cum,colour\n"
        f"{ZHANG},L1,2026,2026-13-01,ten,red\n"
        f"{ZHANG},L1,2026,2026-02-01,10,\n"
    )
    parsed = parse_local_settlements(content, "csv")
    assert [(e.row, e.field, e.rule) for e in parsed.errors] == [
        (1, "colour", "import.unknown_column"),
        (2, "colour", "import.unknown_column"),
    ]
    fixed = content.replace(",colour", "").replace(",red", "").replace(",10,", ",10")
    parsed = parse_local_settlements(fixed, "csv")
    assert [(e.row, e.field, e.rule) for e in parsed.errors] == [
        (1, "settled_on", "import.date"),
        (1, "eligible_cum", "import.integer"),
    ]


SUZHOU_EMPLOYEES = next(
    d
    for d in json.loads((shared_dir() / "sandbox/policies.json").read_text(encoding="utf-8"))
    if (d["insuplc_admdvs"], d["insutype"]) == ("320500", "310")
)


async def test_the_insured_places_policy_dates_the_year_of_a_local_settlement() -> None:
    # A year from 1 July: 10 February 2026 belongs to the year that began on 1 July 2025 (2025).
    ctx, store = await enrolled()
    july = {**SUZHOU_EMPLOYEES, "effective_from": "2025-07-01", "policy_year_start": "07-01"}
    await policies.publish(ctx, Principal("staff-320500", "320500", frozenset()), july)
    forged = replace(HOME_STAY, movement=replace(HOME_STAY.movement, policy_year=2026))
    with pytest.raises(DomainError) as refused:
        await person_year.record_local_settlement(ctx, CLERK, ZHANG, forged)
    assert (refused.value.rule, refused.value.field) == ("person_year.policy_year", "policy_year")
    dated = replace(HOME_STAY, movement=replace(HOME_STAY.movement, policy_year=2025))
    await person_year.record_local_settlement(ctx, CLERK, ZHANG, dated)
    stated = store.payloads(STREAM)[-2]
    assert (stated.policy_year, stated.totals.eligible_cum) == (2025, 100000)


# --- outpatient pooling: its own accumulator, counted like the others ---------------------------

POOLED_VISIT = replace(
    ZERO, outpatient_deductible_used=20000, outpatient_pooling_paid_cum=27000, account_balance=0
)


async def test_outpatient_pooling_is_counted_in_the_year_and_back_on_cancellation() -> None:
    ctx, store = await enrolled()
    await count(ctx, moved(1, POOLED_VISIT))
    await count(ctx, moved(2, POOLED_VISIT))
    # Two visits: 200.00 + 200.00 of deductible, 270.00 + 270.00 of pooling.
    stated = _last_year(store)
    assert (
        stated.totals.outpatient_deductible_used,
        stated.totals.outpatient_pooling_paid_cum,
    ) == (
        40000,
        54000,
    )
    await count(ctx, moved(3, POOLED_VISIT.negated()))
    assert _last_year(store).totals == POOLED_VISIT


def _last_year(store: InMemoryEventStore) -> PersonYearStated:
    return [p for p in store.payloads(STREAM) if isinstance(p, PersonYearStated)][-1]


def test_a_local_settlement_file_may_carry_outpatient_pooling() -> None:
    content = json.dumps(
        [
            {
                "person_id": ZHANG,
                "local_settlement_id": "L9",
                "policy_year": 2026,
                "settled_on": "2026-02-10",
                "outpatient_pooling_paid_cum": 15000,
            }
        ]
    )
    parsed = parse_local_settlements(content, "json")
    assert parsed.ok
    ((_, local),) = parsed.rows
    assert local.movement.outpatient_pooling_paid_cum == 15000


def approved_claim(claim_id: str, movement: AccumulatorMovement) -> ClaimApproved:
    zero_totals = SettlementTotals(**dict.fromkeys(SettlementTotals.__dataclass_fields__, 0))
    return ClaimApproved(
        claim_id=claim_id,
        person_id=ZHANG,
        insured_region="320500",
        insurance_type="310",
        policy_year=movement.policy_year,
        policy_version=1,
        totals=zero_totals,
        fund_payments=(),
        movement=movement,
        payable=0,
        approved_on=TODAY,
        payment_due=TODAY,
        approved_at=NOW,
    )


async def count_claim(ctx: Context, approved: ClaimApproved) -> None:
    async def work(unit: Unit) -> None:
        await person_year.count_claim(ctx, unit, approved)

    await ctx.write.transact(work)


async def test_an_approved_manual_claim_moves_the_year_once_beside_the_visit_place() -> None:
    ctx, store = await enrolled()
    await count(ctx, moved(1))
    claim = replace(
        ZERO,
        inpatient_admissions=1,
        eligible_cum=50000,
        basic_paid_cum=40000,
        account_balance=-3000,
    )
    await count_claim(ctx, approved_claim("RC1", claim))
    await count_claim(ctx, approved_claim("RC1", claim))  # redelivered: no news
    stated, balance = store.payloads(STREAM)[-2:]
    assert len(store.payloads(STREAM)) == 5  # enrolled, the visit's two, the claim's two
    # 200,000 + 50,000 eligible; 180,000 + 40,000 basic; two admissions; the account -5,000 -3,000
    assert stated.totals == replace(
        ZERO,
        inpatient_admissions=2,
        eligible_cum=250000,
        basic_paid_cum=220000,
        account_balance=-8000,
    )
    assert (stated.source, stated.reference, stated.visit_ledger_counted) == (
        "reimbursement",
        "RC1",
        1,
    )
    assert (balance.account_balance, balance.change) == (342000, -3000)
    # The visit place's next movement is still counted in sequence after it.
    await count(ctx, moved(2))
    assert store.payloads(STREAM)[-1].visit_ledger_counted == 2
