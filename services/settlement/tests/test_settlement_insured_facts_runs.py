"""Settlement's `insured_facts` folds a consumer's batch (or a rebuild's page) per row in stream
order and writes each table once; the rows are what the facts one by one leave.

One batch, worked by hand:
- P1's identity arrives before the enrolment (its own table: the same row either way); P1 enrols
  with 500.00 yuan, moves to 420.00 counting the visit place's ledger to sequence 3, dies on
  2 March and is terminated;
- F1 approved then cancelled (one filings row, approved, cancelled on 2 March; one version); F2
  rejected unknown (no row);
- audit suspends P1's direct settlement (case K1, March) and ends it on 10 March;
- filing suspends P1's benefits from 5 March (no case: key filing:2026-03-05); a resumption on 20
  March (a fact of its own between runs, it ends the open filing suspension) then a new one
  (case X2, open);
- chronic certificate CC1 certified then revoked on 2 March;
- P1's 2026 stated counting to sequence 3.
A second batch changes stored rows: an update's identity (no certificate: the name changes, the
certificate stays) and the balance to 300.00 counted to 5.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from yidi_events.contracts.audit import (
    DirectSettlementSuspended,
    DirectSettlementSuspensionEnded,
    SuspensionEndReason,
)
from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    BenefitSource,
    BenefitsResumed,
    BenefitsSuspended,
    ChronicDiseaseCertified,
    ChronicDiseaseRevoked,
    EnrolmentStatus,
    EnrolmentStatusChanged,
    FilingApproved,
    FilingCancelled,
    FilingChannel,
    FilingRejected,
    InsuranceType,
    PersonDied,
    PersonEnrolled,
    PersonIdentified,
    PersonUpdated,
    PersonYearStated,
)
from yidi_events.contracts.policy import FilingKind
from yidi_events.contracts.settlement import AccumulatorMovement
from yidi_events.db import make_engine
from yidi_events.envelope import Envelope
from yidi_events.testing import Streams
from yidi_settlement import bootstrap
from yidi_settlement.adapters.insured_facts import make_projection
from yidi_settlement.adapters.tables import (
    chronic_certificates,
    filing_versions,
    filings,
    person_identities,
    person_suspensions,
    person_years,
    persons,
)

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


def balance(person_id: str, value: int, counted: int) -> AccountBalanceChanged:
    return AccountBalanceChanged(
        person_id=person_id,
        account_balance=value,
        change=0,
        reason="test",
        changed_on=ON,
        visit_ledger_counted=counted,
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


def year(eligible: int, claim: str, counted: int = 0) -> PersonYearStated:
    return PersonYearStated(
        person_id="P1",
        policy_year=2026,
        totals=movement(eligible),
        change=movement(eligible),
        source="visit_place",
        reference=claim,
        visit_ledger_counted=counted,
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


def identified(name: str, certificate: str | None) -> PersonIdentified:
    return PersonIdentified(
        person_id="P1",
        name=name,
        certificate_type="01" if certificate else None,
        certificate_no=certificate,
        gender="1",
        birth_date=date(1990, 1, 1),
        card_serial=None,
    )


def batches() -> tuple[list[Envelope], list[Envelope]]:
    STREAMS.clear()
    march = (date(2026, 3, 1), date(2026, 3, 31))
    first = [
        envelope("identity-P1", identified("张三", "320500199001011234")),
        envelope("person-P1", enrolled("P1", 50_000)),
        envelope("person-P1", balance("P1", 42_000, 3)),
        envelope("person-P1", PersonDied(person_id="P1", death_date=ON, recorded_on=ON)),
        envelope(
            "person-P1",
            EnrolmentStatusChanged(
                person_id="P1",
                enrolment_status=EnrolmentStatus.TERMINATED,
                effective_from=ON,
                reason="died",
            ),
        ),
        envelope("filing-F1", FilingApproved(**filing_terms(), approved_on=ON, reviewer=None)),
        envelope(
            "filing-F2",
            FilingRejected(
                filing_id="F2", person_id="P1", reviewer="r", reason="x", rejected_on=ON
            ),
        ),
        envelope(
            "filing-F1",
            FilingCancelled(filing_id="F1", person_id="P1", cancelled_on=ON, reason="died"),
        ),
        envelope(
            "case-K1",
            DirectSettlementSuspended(
                person_id="P1",
                suspended_from=march[0],
                suspended_until=march[1],
                case_id="K1",
                insured_region=SUZHOU,
                decided_by="auditor",
            ),
        ),
        envelope(
            "case-K1",
            DirectSettlementSuspensionEnded(
                person_id="P1",
                case_id="K1",
                insured_region=SUZHOU,
                ended_on=date(2026, 3, 10),
                reason=SuspensionEndReason.LIFTED,
            ),
        ),
        envelope("person-P1", suspended(date(2026, 3, 5), None)),
        envelope(
            "person-P1",
            BenefitsResumed(
                person_id="P1",
                source=BenefitSource.INSURED_PLACE,
                effective_from=date(2026, 3, 20),
                reason="paid up",
                case_id=None,
            ),
        ),
        envelope("person-P1", suspended(date(2026, 3, 25), "X2")),
        envelope(
            "chronic-CC1",
            ChronicDiseaseCertified(
                certificate_id="CC1",
                person_id="P1",
                insured_region=SUZHOU,
                disease_code="M03900",
                disease_name="高血压",
                evidence_institution="H32050000001",
                evidence_institution_name="苏州医院",
                evidence_date=ON,
                diagnosing_doctor=None,
                valid_from=ON,
                valid_to=None,
                channel=FilingChannel.COUNTER,
                submitted_by_institution=None,
                certified_on=ON,
            ),
        ),
        envelope(
            "chronic-CC1",
            ChronicDiseaseRevoked(
                certificate_id="CC1",
                person_id="P1",
                disease_code="M03900",
                reason="died",
                revoked_on=ON,
            ),
        ),
        envelope("year-P1", year(10_000, "S-1", counted=3)),
    ]
    second = [
        envelope("identity-P1", identified("张三丰", None)),
        envelope("person-P1", balance("P1", 30_000, 5)),
    ]
    return first, second


def suspended(effective_from: date, case_id: str | None) -> BenefitsSuspended:
    return BenefitsSuspended(
        person_id="P1",
        source=BenefitSource.INSURED_PLACE,
        effective_from=effective_from,
        until=None,
        reason="arrears",
        case_id=case_id,
    )


async def state(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:

        async def rows(*columns: Any) -> list[tuple[Any, ...]]:
            result = await conn.execute(sa.select(*columns).order_by(*columns))
            return [tuple(r) for r in result.all()]

        return {
            "persons": await rows(
                persons.c.person_id,
                persons.c.account_balance,
                persons.c.visit_ledger_counted,
                persons.c.enrolment_status,
                persons.c.death_date,
            ),
            "person_identities": await rows(
                person_identities.c.person_id,
                person_identities.c.name,
                person_identities.c.certificate_no,
            ),
            "filings": await rows(filings.c.filing_id, filings.c.approved, filings.c.cancelled_on),
            "filing_versions": await rows(
                filing_versions.c.filing_id,
                filing_versions.c.revision,
                filing_versions.c.changed_on,
            ),
            "person_suspensions": await rows(
                person_suspensions.c.suspension_key,
                person_suspensions.c.source,
                person_suspensions.c.ended_on,
            ),
            "chronic_certificates": await rows(
                chronic_certificates.c.certificate_id, chronic_certificates.c.revoked_on
            ),
            "person_years": await rows(
                person_years.c.person_id,
                person_years.c.policy_year,
                person_years.c.visit_ledger_counted,
            ),
        }


AFTER_FIRST = {
    "persons": [("P1", 42_000, 3, "terminated", ON)],
    "person_identities": [("P1", "张三", "320500199001011234")],
    "filings": [("F1", True, ON)],
    "filing_versions": [("F1", 1, None)],
    "person_suspensions": [
        ("audit:K1", "audit", date(2026, 3, 10)),
        ("filing:2026-03-05", "insured_place", date(2026, 3, 20)),
        ("filing:X2", "insured_place", None),
    ],
    "chronic_certificates": [("CC1", ON)],
    "person_years": [("P1", 2026, 3)],
}
AFTER_SECOND = AFTER_FIRST | {
    "persons": [("P1", 30_000, 5, "terminated", ON)],
    "person_identities": [("P1", "张三丰", "320500199001011234")],
}


async def test_a_batch_of_insured_place_facts_reads_as_the_facts_one_by_one(
    database: Callable[..., str],
) -> None:
    for one_by_one in (True, False):
        engine = make_engine(database(bootstrap.MIGRATIONS))
        projection = make_projection()
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
