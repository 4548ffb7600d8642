"""`reimbursement.insured_facts` folds a consumer's batch (or a rebuild's page) per row in stream
order and writes each table once; the rows are what the facts one by one leave.

One batch, worked by hand (person P1 enrolled with 500.00 yuan on the account, P2 with 10.00):
- a balance of P2 before P2's enrolment is lost (no row yet), then P2 enrols with 1,000;
- P1 enrols (50,000), moves to 42,000, is restated a civil servant;
- a fact this projection does not take (PersonDied) sits inside the run and changes nothing;
- F1 approved (revision 1, visit region 320100) then changed (revision 2, to 320200): two
  versions; a cancellation of F1 (a fact of its own between runs) marks both;
- P1's 2026 stated twice for two claims: the second totals replace the first, both claims
  counted once;
- S1 settled directly then cancelled; a cancellation of an unknown settlement changes nothing.
A second batch then changes the stored rows: P1's balance to 30,000 and back to no civil servant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    EnrolmentStatus,
    FilingApproved,
    FilingCancelled,
    FilingChanged,
    FilingChannel,
    InsuranceType,
    PersonDied,
    PersonEnrolled,
    PersonUpdated,
    PersonYearStated,
)
from yidi_events.contracts.policy import FilingKind
from yidi_events.contracts.settlement import AccumulatorMovement, SettlementCancelled
from yidi_events.db import make_engine
from yidi_events.envelope import Envelope
from yidi_events.testing import Streams
from yidi_reimbursement import bootstrap
from yidi_reimbursement.adapters.projection import insured_facts
from yidi_reimbursement.adapters.tables import (
    counted_claims,
    filing_versions,
    person_years,
    persons,
    settled_visits,
)
from yidi_stack.bench.rebuild import visit_settled

ON = date(2026, 3, 2)
SUZHOU = "320500"
STREAMS = Streams(datetime(2026, 3, 2, 2, 0, tzinfo=UTC), ON)
envelope = STREAMS.envelope


def enrolled(person_id: str, balance: int) -> PersonEnrolled:
    return PersonEnrolled(
        person_id=person_id,
        insured_region=SUZHOU,
        insurance_type=InsuranceType.EMPLOYEE,
        person_category="11",
        civil_servant=False,
        assistance_identities=(),
        account_balance=balance,
        enrolment_status=EnrolmentStatus.ACTIVE,
        enrolled_on=ON,
    )


def updated(person_id: str, civil_servant: bool) -> PersonUpdated:
    return PersonUpdated(
        person_id=person_id,
        insured_region=SUZHOU,
        insurance_type=InsuranceType.EMPLOYEE,
        person_category="11",
        civil_servant=civil_servant,
        assistance_identities=(),
        updated_on=ON,
    )


def balance(person_id: str, value: int) -> AccountBalanceChanged:
    return AccountBalanceChanged(
        person_id=person_id, account_balance=value, change=0, reason="test", changed_on=ON
    )


def movement(eligible: int) -> AccumulatorMovement:
    return AccumulatorMovement(
        policy_year=2026,
        inpatient_admissions=1,
        outpatient_deductible_used=0,
        eligible_cum=eligible,
        basic_paid_cum=0,
        supplementary_base_cum=0,
        supplementary_paid_cum=0,
        assistance_paid_cum=0,
        account_balance=0,
    )


def year(eligible: int, claim: str) -> PersonYearStated:
    return PersonYearStated(
        person_id="P1",
        policy_year=2026,
        totals=movement(eligible),
        change=movement(eligible),
        source="reimbursement",
        reference=claim,
        visit_ledger_counted=0,
        stated_on=ON,
    )


def filing_terms() -> dict[str, Any]:
    return {
        "filing_id": "F1",
        "person_id": "P1",
        "kind": FilingKind.LONG_TERM,
        "long_term_type": None,
        "insured_region": SUZHOU,
        "visit_region": "320100",
        "destination_institution": None,
        "diagnosis": None,
        "valid_from": date(2026, 1, 1),
        "valid_to": None,
        "promise_based": False,
        "channel": FilingChannel.ONLINE,
    }


def cancellation_of(settlement_id: str) -> SettlementCancelled:
    s = replace(visit_settled(0), person_id="P1")
    return SettlementCancelled(
        settlement_id=f"{settlement_id}-R",
        original_settlement_id=settlement_id,
        visit_id=s.visit_id,
        person_id=s.person_id,
        insured_region=s.insured_region,
        visit_region=s.visit_region,
        institution_code=s.institution_code,
        clearing_agency=s.clearing_agency,
        clearing_category=s.clearing_category,
        insurance_type=s.insurance_type,
        medical_type=s.medical_type,
        totals=s.totals,
        fund_payments=s.fund_payments,
        account_balance_after=None,
        movement=s.movement,
        message_id="M-R",
        cancelled_at=s.settled_at,
    )


def batches() -> tuple[list[Envelope], list[Envelope]]:
    STREAMS.clear()
    settled = replace(visit_settled(0), settlement_id="S1", person_id="P1")
    first = [
        envelope("person-P2", balance("P2", 999)),
        envelope("person-P1", enrolled("P1", 50_000)),
        envelope("person-P1", balance("P1", 42_000)),
        envelope("person-P3", PersonDied(person_id="P3", death_date=ON, recorded_on=ON)),
        envelope("person-P1", updated("P1", True)),
        envelope("person-P2", enrolled("P2", 1_000)),
        envelope("filing-F1", FilingApproved(**filing_terms(), approved_on=ON, reviewer=None)),
        envelope(
            "filing-F1",
            FilingChanged(
                **(filing_terms() | {"visit_region": "320200"}), changed_on=ON, reason="moved"
            ),
        ),
        envelope("year-P1", year(10_000, "C1")),
        envelope("year-P1", year(25_000, "C2")),
        envelope("settlement-S1", settled),
        envelope("settlement-S1", cancellation_of("S1")),
        envelope("settlement-S9", cancellation_of("S9")),
        envelope(
            "filing-F1",
            FilingCancelled(filing_id="F1", person_id="P1", cancelled_on=ON, reason="ended"),
        ),
    ]
    second = [
        envelope("person-P1", balance("P1", 30_000)),
        envelope("person-P1", updated("P1", False)),
    ]
    return first, second


async def state(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:

        async def rows(*columns: Any) -> list[tuple[Any, ...]]:
            result = await conn.execute(sa.select(*columns).order_by(*columns))
            return [tuple(r) for r in result.all()]

        return {
            "persons": await rows(
                persons.c.person_id, persons.c.account_balance, persons.c.civil_servant
            ),
            "person_years": [
                (person, year, totals["eligible_cum"])
                for person, year, totals in await rows(
                    person_years.c.person_id, person_years.c.policy_year, person_years.c.totals
                )
            ],
            "counted_claims": await rows(counted_claims.c.claim_id, counted_claims.c.person_id),
            "filing_versions": await rows(
                filing_versions.c.filing_id,
                filing_versions.c.revision,
                filing_versions.c.visit_region,
                filing_versions.c.changed_on,
                filing_versions.c.cancelled_on,
            ),
            "settled_visits": await rows(
                settled_visits.c.settlement_id, settled_visits.c.cancelled
            ),
        }


AFTER_FIRST = {
    "persons": [("P1", 42_000, True), ("P2", 1_000, False)],
    "person_years": [("P1", 2026, 25_000)],
    "counted_claims": [("C1", "P1"), ("C2", "P1")],
    "filing_versions": [("F1", 1, "320100", None, ON), ("F1", 2, "320200", ON, ON)],
    "settled_visits": [("S1", True)],
}
AFTER_SECOND = AFTER_FIRST | {"persons": [("P1", 30_000, False), ("P2", 1_000, False)]}


async def test_a_batch_of_filing_and_settlement_facts_reads_as_the_facts_one_by_one(
    database: Callable[..., str],
) -> None:
    for one_by_one in (True, False):
        engine = make_engine(database(bootstrap.MIGRATIONS))
        projection = insured_facts()
        try:
            for batch, expected in zip(batches(), (AFTER_FIRST, AFTER_SECOND), strict=True):
                async with engine.begin() as conn:
                    if one_by_one:
                        for env in batch:
                            await projection.apply(conn, env)
                    else:
                        await projection.apply_many(conn, batch)
                assert await state(engine) == expected
        finally:
            await engine.dispose()
