"""Filing's read models applied a run at a time (a rebuild's page, an append of many streams) leave
persons and filings as the facts applied one by one do: rows created in the run take their later
changes, stored rows take the run's changes merged (a later value of a column replacing an
earlier one), audit suspensions edit what was stored, and a change to a person never enrolled
changes nothing.

Stored before the run: Zhang (enrolled, balance 500.00 yuan, an audit suspension by case K0) and
Li's filing F-LI (pending). The run, interleaving persons and filings: Wang enrolled, his balance
set twice, his benefits suspended by the insured place, his filing F-WANG submitted then approved;
Zhang's balance set twice, audit case K1 suspending him, K0 ending, his death; F-LI rejected; a
death of Zhao, never enrolled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    BenefitSource,
    BenefitsResumed,
    BenefitsSuspended,
    EnrolmentStatus,
    FilingApproved,
    FilingChannel,
    FilingRejected,
    PersonDied,
    PersonEnrolledV1,
)
from yidi_events.contracts.policy import FilingKind, InsuranceType
from yidi_events.db import make_engine
from yidi_events.kernel import SystemClock
from yidi_events.runtime.projection import Projection, rebuild_from_store
from yidi_events.store import EventStore, NewEvent, StreamAppend
from yidi_filing.adapters.projection import read_models
from yidi_filing.adapters.tables import filings, persons
from yidi_filing.bootstrap import MIGRATIONS
from yidi_filing.domain.events import FilingSubmitted

SUZHOU, NANJING = "320500", "320100"
ON = date(2026, 3, 2)


def enrolled(person_id: str, balance: int) -> PersonEnrolledV1:
    return PersonEnrolledV1(
        person_id=person_id,
        insured_region=SUZHOU,
        insurance_type=InsuranceType.EMPLOYEE,
        person_category="11",
        civil_servant=False,
        assistance_identities=(),
        name=person_id,
        certificate_type="01",
        certificate_no=f"{person_id}-cert",
        gender="1",
        birth_date=date(1970, 5, 1),
        card_serial=None,
        account_balance=balance,
        enrolment_status=EnrolmentStatus.ACTIVE,
        enrolled_on=date(2020, 1, 1),
    )


def balance(person_id: str, fen: int) -> AccountBalanceChanged:
    return AccountBalanceChanged(
        person_id=person_id, account_balance=fen, change=0, reason="test", changed_on=ON
    )


def audit_suspended(person_id: str, case_id: str, until: date) -> BenefitsSuspended:
    return BenefitsSuspended(
        person_id=person_id,
        source=BenefitSource.AUDIT,
        effective_from=ON,
        until=until,
        reason="audit",
        case_id=case_id,
    )


TERMS: dict[str, Any] = {
    "kind": FilingKind.LONG_TERM,
    "long_term_type": None,
    "insured_region": SUZHOU,
    "visit_region": NANJING,
    "destination_institution": None,
    "diagnosis": None,
    "valid_from": ON,
    "valid_to": None,
    "promise_based": False,
    "channel": FilingChannel.ONLINE,
}


def submitted(filing_id: str, person_id: str) -> FilingSubmitted:
    return FilingSubmitted(
        filing_id=filing_id,
        person_id=person_id,
        **TERMS,
        supporting_documents=True,
        referral_opinion_from=None,
        admission_date=None,
        submitted_on=ON,
        review_due=date(2026, 3, 9),
        review_reasons=("manual",),
    )


# (stream, fact), in the order they are appended.
BEFORE: list[tuple[str, Any]] = [
    ("person-ZHANG", enrolled("ZHANG", 50_000)),
    ("person-ZHANG", audit_suspended("ZHANG", "K0", date(2026, 6, 30))),
    ("filing-F-LI", submitted("F-LI", "LI")),
]
RUN: list[tuple[str, Any]] = [
    ("person-WANG", enrolled("WANG", 10_000)),
    ("person-ZHANG", balance("ZHANG", 42_000)),
    ("person-WANG", balance("WANG", 9_000)),
    ("filing-F-WANG", submitted("F-WANG", "WANG")),
    ("person-ZHANG", audit_suspended("ZHANG", "K1", date(2026, 12, 31))),
    (
        "person-WANG",
        BenefitsSuspended(
            person_id="WANG",
            source=BenefitSource.INSURED_PLACE,
            effective_from=ON,
            until=None,
            reason="arrears",
            case_id=None,
        ),
    ),
    (
        "filing-F-WANG",
        FilingApproved(
            filing_id="F-WANG", person_id="WANG", **TERMS, approved_on=ON, reviewer="r1"
        ),
    ),
    (
        "filing-F-LI",
        FilingRejected(
            filing_id="F-LI", person_id="LI", reviewer="r2", reason="no proof", rejected_on=ON
        ),
    ),
    ("person-ZHANG", balance("ZHANG", 41_000)),
    (
        "person-ZHANG",
        BenefitsResumed(
            person_id="ZHANG",
            source=BenefitSource.AUDIT,
            effective_from=ON,
            reason="case closed",
            case_id="K0",
        ),
    ),
    ("person-WANG", balance("WANG", 8_500)),
    ("person-ZHANG", PersonDied(person_id="ZHANG", death_date=ON, recorded_on=ON)),
    ("person-ZHAO", PersonDied(person_id="ZHAO", death_date=ON, recorded_on=ON)),
]

# Worked from the facts above: Zhang's stream holds 2 facts before the run and 5 in it (version 7),
# Wang's 4 (version 4); each filing 2.
EXPECTED_PERSONS = {
    "WANG": (8_500, "suspended", None, [], 4),
    "ZHANG": (
        41_000,
        "active",
        ON,
        [{"case_id": "K1", "from": "2026-03-02", "until": "2026-12-31"}],
        7,
    ),
}
EXPECTED_FILINGS = {
    "F-LI": ("rejected", ON, "r2", "no proof", ["manual"], 2),
    "F-WANG": ("approved", ON, "r1", None, ["manual"], 2),
}


async def append(
    engine: AsyncEngine,
    versions: dict[str, int],
    projection: Projection,
    facts: Sequence[tuple[str, Any]],
) -> None:
    """Append the facts, each to its stream (`versions`: where each stream stands), in one
    transaction and project them as one run."""
    store = EventStore("filing", SystemClock())
    async with engine.begin() as conn:
        envelopes = []
        for stream, fact in facts:
            version = versions.get(stream, 0)
            (sealed,) = await store.append_streams(
                conn, [StreamAppend(stream, version, [NewEvent(fact, ON)])]
            )
            versions[stream] = version + 1
            envelopes.extend(sealed)
        await projection.apply_many(conn, envelopes)


async def state(engine: AsyncEngine) -> tuple[dict[str, Any], dict[str, Any]]:
    async with engine.connect() as conn:
        people = {
            r.person_id: (
                r.account_balance,
                r.benefits,
                r.death_date,
                r.audit_suspensions,
                r.version,
            )
            for r in await conn.execute(sa.select(persons))
        }
        cases = {
            r.filing_id: (
                r.status,
                r.decided_on,
                r.reviewer,
                r.decision_reason,
                r.review_reasons,
                r.version,
            )
            for r in await conn.execute(sa.select(filings))
        }
    return people, cases


async def test_a_run_of_person_and_filing_facts_reads_as_the_facts_one_by_one(
    database: Callable[..., str],
) -> None:
    projection = read_models()
    one_by_one = make_engine(database(MIGRATIONS))
    at_once = make_engine(database(MIGRATIONS))
    streams: dict[AsyncEngine, dict[str, int]] = {one_by_one: {}, at_once: {}}
    try:
        for engine, versions in streams.items():
            for fact in BEFORE:
                await append(engine, versions, projection, [fact])
        for fact in RUN:
            await append(one_by_one, streams[one_by_one], projection, [fact])
        await append(at_once, streams[at_once], projection, RUN)

        for engine in (one_by_one, at_once):
            assert await state(engine) == (EXPECTED_PERSONS, EXPECTED_FILINGS)
        # A rebuild reads the store in one page: one run from the start, the same rows.
        store = EventStore("filing", SystemClock())
        assert await rebuild_from_store(one_by_one, store, projection) == len(BEFORE) + len(RUN)
        assert await state(one_by_one) == (EXPECTED_PERSONS, EXPECTED_FILINGS)
    finally:
        await one_by_one.dispose()
        await at_once.dispose()
