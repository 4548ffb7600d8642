"""The rest of rebuild_events_per_s: every projection the settlement chain (`rebuild.py`) does not
reach, so the figure is the slowest over all of them (issue 20).

A service's own projection is kept by the write path in the appending transaction
(`Runtime(own=...)`, `project_with`): here each generated stream is appended with
`EventStore.append_streams` and projected in the same transaction the same way, which is the live
pass (the time spent projecting is its figure); `rebuild_from_store` then rebuilds it beside the
live tables and swaps. A consumed projection is fed by its source's relay and timed like the
chain's (`Consumer.catch_up` live, then `Consumer.rebuild`). Every rebuild is compared with the
live rows (`Projection.snapshot`) and its row counts with what was generated.

Covered here, after the chain (same namespace, same databases, plus reimbursement's):
- filing's `filing.read_models` over N generated filing facts (a person's enrolment, a filing
  submitted and approved on submission), then published by filing's relay;
- settlement's `insured_facts` (a consumer of filing's topics and audit's) and `settlement_own`
  (the chain's settled visits, projected as they were appended);
- reimbursement's `reimbursement.insured_facts` (the chain's settled visits and the filing facts)
  and `reimbursement.claims_own` over generated claims (received, checked, reviewed, approved,
  paid) and their payment batches;
- clearing's `clearing.own` over a year of generated periods: each a statement and both agencies'
  confirmation of every line;
- audit's `audit.own` (the chain's clawbacks, projected as they were appended, and the flags its
  rules raised) is rebuilt in the chain, beside the audit consumers.
Filing's person-year, claims and audit-policy process managers hold no tables (their state is
their streams), so there is nothing of theirs to rebuild.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.contracts.filing import (
    EnrolmentStatus,
    FilingApproved,
    FilingChannel,
    PersonEnrolledV1,
)
from yidi_events.contracts.policy import FilingKind, InsuranceType
from yidi_events.contracts.reimbursement import (
    ClaimApproved,
    ClaimChecked,
    ClaimFeeLine,
    ClaimInvoice,
    ClaimPaid,
    ClaimReceived,
    ClaimReviewed,
    LedgerEntry,
)
from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    FundCode,
    FundPayment,
    SettlementTotals,
)
from yidi_events.db import make_engine
from yidi_events.kernel import SystemClock
from yidi_events.runtime.kafka import KafkaSettings
from yidi_events.runtime.projection import Projection, rebuild_from_store
from yidi_events.runtime.relay import Relay
from yidi_events.settings import ServiceSettings
from yidi_events.store import EventStore, NewEvent, StreamAppend
from yidi_stack.bench.clearing_month import agencies
from yidi_stack.bench.rebuild import (
    DAY,
    UNUSED_TOTALS,
    Rebuilt,
    append_projected,
    publish_all,
    snapshot,
    timed_catch_up,
    timed_consumer,
    unequal,
)
from yidi_stack.bench.recon_day import INSURED_REGIONS, VISIT_REGION, WrongResult

Settings = Callable[[str], ServiceSettings]


async def rebuild_own(
    engine: AsyncEngine, store: EventStore, projection: Projection, counts: dict[str, int]
) -> Rebuilt:
    """`rebuild_from_store`, timed; the rebuilt rows must equal the live ones and each table in
    `counts` hold that many rows."""
    live = await snapshot(engine, projection)
    started = time.monotonic()
    applied = await rebuild_from_store(engine, store, projection)
    seconds = time.monotonic() - started
    if wrong := unequal(projection.name, live, await snapshot(engine, projection)):
        raise wrong
    await check_counts(engine, projection.name, counts)
    return Rebuilt(projection.name, applied, seconds)


async def check_counts(engine: AsyncEngine, name: str, counts: dict[str, int]) -> None:
    async with engine.connect() as conn:
        for table, expected in counts.items():
            held = await conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))
            if held != expected:
                raise WrongResult(f"{name}: {table} holds {held} rows, {expected} generated")


# --- filing -----------------------------------------------------------------------------------


def enrolled_person(i: int) -> PersonEnrolledV1:
    region = INSURED_REGIONS[i % len(INSURED_REGIONS)]
    birth = date(1950, 1, 1) + timedelta(days=(i * 7919) % 20_000)
    return PersonEnrolledV1(
        person_id=f"RBE-{i:07d}",
        insured_region=region,
        insurance_type=InsuranceType.EMPLOYEE if i % 3 else InsuranceType.RESIDENT,
        person_category="11" if i % 3 else "21",
        civil_servant=i % 17 == 0,
        assistance_identities=(),
        name=f"参保人{i}",
        certificate_type="01",
        certificate_no=f"{region}{birth:%Y%m%d}{i % 1000:03d}X",
        gender="1" if i % 2 else "2",
        birth_date=birth,
        card_serial=f"CS{i:09d}",
        account_balance=50_000 + (i * 2654435761) % 500_000,
        enrolment_status=EnrolmentStatus.ACTIVE,
        enrolled_on=date(2020, 1, 1) + timedelta(days=i % 2_000),
    )


def approved_filing(i: int) -> tuple[Any, FilingApproved]:
    """A long-term filing (moved for work) submitted online and approved by the rules on
    submission, as filing's submit command appends it."""
    from yidi_filing.domain.events import FilingSubmitted

    person = enrolled_person(i)
    submitted_on = DAY - timedelta(days=1 + i % 300)
    terms: dict[str, Any] = {
        "filing_id": f"RBF-{i:07d}",
        "person_id": person.person_id,
        "kind": FilingKind.LONG_TERM,
        "long_term_type": None,
        "insured_region": person.insured_region,
        "visit_region": VISIT_REGION,
        "destination_institution": None,
        "diagnosis": None,
        "valid_from": submitted_on,
        "valid_to": None,
        "promise_based": False,
        "channel": FilingChannel.ONLINE,
    }
    submitted = FilingSubmitted(
        **terms,
        supporting_documents=True,
        referral_opinion_from=None,
        admission_date=None,
        submitted_on=submitted_on,
        review_due=None,
        review_reasons=(),
    )
    return submitted, FilingApproved(**terms, approved_on=submitted_on, reviewer=None)


def filing_streams(persons: int) -> Iterable[StreamAppend]:
    """Each person's enrolment, and their filing submitted and approved: three facts a person."""
    for i in range(persons):
        person = enrolled_person(i)
        submitted, approved = approved_filing(i)
        yield StreamAppend(f"person-{person.person_id}", 0, [NewEvent(person, DAY)])
        yield StreamAppend(
            f"filing-{approved.filing_id}",
            0,
            [NewEvent(submitted, approved.approved_on), NewEvent(approved, approved.approved_on)],
        )


# --- reimbursement ----------------------------------------------------------------------------

_NO_FUNDS = (*UNUSED_TOTALS, "account_paid")


def claim_facts(i: int) -> list[Any]:
    """One manual claim's life: received at the counter, checked, reviewed, approved, paid."""
    person = enrolled_person(i)
    claim_id = f"RBR-{i:07d}"
    fee = 20_000 + (i * 2654435761) % 2_000_000
    fund = fee * 7 // 10
    cash = fee - fund
    received_on = DAY - timedelta(days=20)
    at = datetime(2026, 2, 19, 2, 0, tzinfo=UTC) + timedelta(seconds=i % 30_000)
    hospital = f"H3201{1 + i % 200:07d}"
    return [
        ClaimReceived(
            claim_id=claim_id,
            person_id=person.person_id,
            insured_region=person.insured_region,
            channel="counter",
            institution_code=hospital,
            institution_name=f"第{1 + i % 200}人民医院",
            visit_region=VISIT_REGION,
            hospital_level="3",
            medical_type="21",
            emergency=False,
            admitted_on=received_on - timedelta(days=12),
            discharged_on=received_on - timedelta(days=5),
            invoices=(
                ClaimInvoice(
                    invoice_code="32010126",
                    invoice_number=f"{i:010d}",
                    amount=fee,
                    issued_on=received_on - timedelta(days=5),
                    issuing_institution=hospital,
                ),
            ),
            fee_lines=(
                ClaimFeeLine(
                    line_no="1",
                    catalogue_code="001101000010000-110100001",
                    item_name="住院诊查费",
                    quantity="1",
                    unit_price=f"{fee // 100}.{fee % 100:02d}",
                    amount=fee,
                    fee_date=received_on - timedelta(days=6),
                ),
            ),
            claimed_total=fee,
            discharge_summary_ref=f"DS-{i:07d}",
            bank_account=f"6222{i:015d}",
            use_account=False,
            received_by="officer-1",
            received_on=received_on,
            acceptance_due=received_on + timedelta(days=7),
            received_at=at,
        ),
        ClaimChecked(
            claim_id=claim_id,
            person_id=person.person_id,
            filing_kind="long_term",
            checked_by="officer-1",
            checked_on=received_on + timedelta(days=1),
            review_due=received_on + timedelta(days=15),
            reviewers_needed=1,
            checked_at=at + timedelta(days=1),
        ),
        ClaimReviewed(
            claim_id=claim_id,
            person_id=person.person_id,
            reviewer="reviewer-1",
            note="",
            reviewed_on=received_on + timedelta(days=2),
            reviewed_at=at + timedelta(days=2),
        ),
        ClaimApproved(
            claim_id=claim_id,
            person_id=person.person_id,
            insured_region=person.insured_region,
            insurance_type=person.insurance_type.value,
            policy_year=2026,
            policy_version=1,
            totals=SettlementTotals(
                total_fee=fee,
                in_policy=fee,
                basic_fund=fund,
                fund_total=fund,
                cash_paid=cash,
                personal_total=cash,
                **dict.fromkeys(_NO_FUNDS, 0),
            ),
            fund_payments=(FundPayment(fund_code=FundCode.EMPLOYEE_BASIC, amount=fund),),
            movement=AccumulatorMovement(
                policy_year=2026,
                inpatient_admissions=1,
                outpatient_deductible_used=0,
                eligible_cum=fee,
                basic_paid_cum=fund,
                supplementary_base_cum=0,
                supplementary_paid_cum=0,
                assistance_paid_cum=0,
                account_balance=0,
            ),
            payable=fund,
            approved_on=received_on + timedelta(days=3),
            payment_due=received_on + timedelta(days=13),
            approved_at=at + timedelta(days=3),
        ),
        ClaimPaid(
            claim_id=claim_id,
            person_id=person.person_id,
            insured_region=person.insured_region,
            amount=fund,
            payment_batch=f"RBB-{i // 100:05d}",
            entries=(
                LedgerEntry(account=f"fund:{person.insured_region}", debit=fund, credit=0),
                LedgerEntry(account="bank_payable", debit=0, credit=fund),
            ),
            paid_on=received_on + timedelta(days=10),
            paid_at=at + timedelta(days=10),
        ),
    ]


def reimbursement_streams(claims: int) -> Iterable[StreamAppend]:
    """Every claim's stream, then one payment batch per hundred claims."""
    from yidi_reimbursement.domain.events import BankTransfer, PaymentBatchExported

    for i in range(claims):
        facts = claim_facts(i)
        yield StreamAppend(f"claim-{facts[0].claim_id}", 0, [NewEvent(f, DAY) for f in facts])
    for start in range(0, claims, 100):
        transfers = []
        for i in range(start, min(claims, start + 100)):
            received, *_, paid = claim_facts(i)
            transfers.append(
                BankTransfer(
                    claim_id=paid.claim_id,
                    person_id=paid.person_id,
                    bank_account=received.bank_account,
                    amount=paid.amount,
                )
            )
        batch = PaymentBatchExported(
            batch_id=f"RBB-{start // 100:05d}",
            insured_region=INSURED_REGIONS[0],
            transfers=tuple(transfers),
            total=sum(t.amount for t in transfers),
            exported_on=DAY - timedelta(days=10),
            exported_by="officer-2",
            exported_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
        )
        yield StreamAppend(f"payment-batch-{batch.batch_id}", 0, [NewEvent(batch, DAY)])


# --- clearing ---------------------------------------------------------------------------------

PERIODS = tuple(f"2025-{m:02d}" for m in range(4, 13)) + tuple(f"2026-{m:02d}" for m in (1, 2, 3))


def clearing_streams(events: int) -> tuple[list[StreamAppend], int, int]:
    """A year of periods between 40 agencies, each a statement of `events / 36` lines (one or two
    insurance types a line, three settlements a part) and both agencies' confirmation of every
    line: about `events` facts. Returns the appends, the lines and the settlement items."""
    from yidi_clearing.app.periods import stream_of
    from yidi_clearing.domain.events import (
        LineConfirmed,
        StatementGenerated,
        StatementLine,
        StatementPart,
    )

    codes = agencies(40)
    pairs = [(p, r) for p in codes for r in codes if p != r]
    per_period = min(len(pairs), max(1, events // (3 * len(PERIODS))))
    appends: list[StreamAppend] = []
    items = 0
    n = 0
    for k, period in enumerate(PERIODS):
        lines: list[StatementLine] = []
        for j in range(per_period):
            payer, receiver = pairs[(k * 7 + j) % len(pairs)]
            parts: list[StatementPart] = []
            for insurance_type in ("310", "390")[: 1 + j % 2]:
                fund = 10_000 + (n * 2654435761) % 900_000
                account = fund // 7
                ids = tuple(f"RBS-{n:07d}-{x}" for x in range(3))
                n += 1
                items += len(ids)
                parts.append(
                    StatementPart(
                        insurance_type=insurance_type,
                        fund_paid=fund,
                        account_paid=account,
                        audit_deducted=0,
                        clawed_back=0,
                        amount=fund + account,
                        settlement_ids=ids,
                        audit_deduction_ids=(),
                        clawback_ids=(),
                    )
                )
            lines.append(
                StatementLine(
                    line_id=f"{payer}>{receiver}",
                    payer_agency=payer,
                    receiver_agency=receiver,
                    parts=tuple(parts),
                    amount=sum(p.amount for p in parts),
                )
            )
        year, month = int(period[:4]), int(period[5:])
        generated_on = date(year + month // 12, month % 12 + 1, 4)
        statement = StatementGenerated(
            period=period,
            input_hash=hashlib.sha256(period.encode()).hexdigest(),
            generated_on=generated_on,
            lines=tuple(lines),
            held=(),
        )
        appends.append(StreamAppend(stream_of(period), 0, [NewEvent(statement, generated_on)]))
        # Each confirmation is its own command's append, at the stream's next version.
        confirmations = [
            LineConfirmed(
                period=period,
                line_id=line.line_id,
                agency=agency,
                confirmed_by=f"clerk-{agency}",
                confirmed_on=generated_on + timedelta(days=1 + j % 5),
            )
            for j, line in enumerate(lines)
            for agency in (line.payer_agency, line.receiver_agency)
        ]
        appends.extend(
            StreamAppend(stream_of(period), version, [NewEvent(fact, fact.confirmed_on)])
            for version, fact in enumerate(confirmations, start=1)
        )
    return appends, len(PERIODS) * per_period, items


# --- the chain's rest -------------------------------------------------------------------------


async def rest_of_chain(
    dsns: dict[str, str],
    kafka: KafkaSettings,
    settings: Settings,
    *,
    events: int,
    settled: int,
    done: list[Rebuilt],
    live: list[Rebuilt],
) -> None:
    """Filing, settlement, reimbursement and clearing, after the chain published its `settled`
    visits, the deaths and audit's facts on the bench's namespace; about `events` generated facts
    for each projection of a service's own events."""
    from yidi_clearing import bootstrap as clearing
    from yidi_clearing.app.projection import own_projection as clearing_own
    from yidi_filing.adapters.projection import read_models
    from yidi_reimbursement import bootstrap as reimbursement
    from yidi_reimbursement.adapters.projection import claims_own
    from yidi_settlement import bootstrap as settlement
    from yidi_settlement.adapters.own_facts import make_projection as settlement_own

    persons = max(1, events // 3)
    filing_engine = make_engine(dsns["filing"], pool_size=2)
    filing_store = EventStore("filing", SystemClock())
    try:
        filing = read_models()
        live.append(
            await append_projected(filing_engine, filing_store, filing, filing_streams(persons))
        )
        done.append(
            await rebuild_own(
                filing_engine, filing_store, filing, {"persons": persons, "filings": persons}
            )
        )
        relay = Relay(filing_engine, filing_store, kafka, service="filing")
        if await publish_all(relay, kafka) != 3 * persons:
            raise WrongResult("filing's relay did not publish every generated filing fact")
    finally:
        await filing_engine.dispose()

    settlement_runtime = settlement.build_runtime(settings("settlement"))
    try:
        (insured,) = settlement_runtime.consumers
        live.append(await timed_catch_up(insured))
        done.append(await timed_consumer(settlement_runtime.engine, insured))
        await check_counts(
            settlement_runtime.engine,
            insured.name,
            {"persons": persons, "person_identities": persons, "filings": persons},
        )
        own = settlement_own()
        done.append(
            await rebuild_own(
                settlement_runtime.engine, settlement_runtime.store, own, {"settlements": settled}
            )
        )
    finally:
        await settlement_runtime.engine.dispose()

    claims = max(1, events // 5)
    reimbursement_runtime = reimbursement.build_runtime(settings("reimbursement"))
    try:
        (facts,) = reimbursement_runtime.consumers
        live.append(await timed_catch_up(facts))
        done.append(await timed_consumer(reimbursement_runtime.engine, facts))
        await check_counts(
            reimbursement_runtime.engine,
            facts.name,
            {"settled_visits": settled, "persons": persons, "filing_versions": persons},
        )
        engine, store = reimbursement_runtime.engine, reimbursement_runtime.store
        own = claims_own()
        live.append(await append_projected(engine, store, own, reimbursement_streams(claims)))
        batches = (claims + 99) // 100
        expected = {"claims": claims, "notifications": 3 * claims, "payment_batches": batches}
        done.append(await rebuild_own(engine, store, own, expected))
    finally:
        await reimbursement_runtime.engine.dispose()

    clearing_runtime = clearing.build_runtime(settings("clearing"))
    try:
        engine, store = clearing_runtime.engine, clearing_runtime.store
        appends, lines, items = clearing_streams(events)
        own = clearing_own()
        live.append(await append_projected(engine, store, own, appends))
        expected = {
            "statements": len(PERIODS),
            "period_lines": lines,
            "statement_items": items,
            "period_heads": len(PERIODS),
        }
        done.append(await rebuild_own(engine, store, own, expected))
        async with engine.connect() as conn:
            unconfirmed = await conn.scalar(
                sa.text("SELECT count(*) FROM period_lines WHERE cardinality(confirmed_by) <> 2")
            )
        if unconfirmed:
            raise WrongResult(f"clearing.own: {unconfirmed} lines without both confirmations")
    finally:
        await clearing_runtime.engine.dispose()
