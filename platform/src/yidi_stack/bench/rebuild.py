"""rebuild_events_per_s: projections rebuilt from their sources, events per second.

The chain a settlement's facts travel, on fresh databases and a namespace of its own on the
bench's broker (so the live services are untouched):
1. N `settlement.VisitSettled` facts (real contract, cross-region, ~200 hospitals, a dozen insured
   cities, one day) appended to a settlement event store through `EventStore.append`, published
   by settlement's `Relay` to its topic;
2. reconciliation's consumed projection `reconciliation.settlements`: `Consumer.rebuild` (reset,
   re-read the topic). It records every settlement on its day statement, appending
   reconciliation's own `DaySettlementRecorded` facts as it goes, as live;
   audit's consumed projection `audit.settlement_facts` is rebuilt the same way (every visit
   evaluated against its person's history by the audit rules);
3. reconciliation's own day projection: `rebuild_from_store` over those facts;
4. they are published by reconciliation's relay, and clearing's consumed projection
   `clearing.reconciliation_inputs` is rebuilt with `Consumer.rebuild`;
5. N `filing.PersonDied` facts (one per generated person, the day after their visits) published
   by filing's relay, and audit's consumed projection `audit.filing_facts` rebuilt (each death
   evaluated against the person's settled visits);
6. N `audit.ClawbackDecided` facts are appended to audit's store beside the flags its rules
   raised, published by audit's relay, and clearing's `clearing.audit_inputs` is rebuilt.
Each rebuild's rows are compared with the state before it (rebuild = live) and the counts with N.
The settled visits and the clawbacks are projected into settlement's and audit's own tables as
they are appended (as their write paths do), and `audit.own` is rebuilt beside audit's consumers;
`rebuild_own` covers every other projection after the chain.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.contracts.audit import ClawbackDecided
from yidi_events.contracts.filing import PersonDied
from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    FundCode,
    FundPayment,
    SettlementTotals,
    VisitSettled,
)
from yidi_events.db import make_engine
from yidi_events.kernel import SystemClock
from yidi_events.runtime.consumer import Consumer
from yidi_events.runtime.kafka import KafkaSettings, ensure_topics, producer
from yidi_events.runtime.projection import Projection, rebuild_from_store
from yidi_events.runtime.relay import Relay
from yidi_events.settings import ServiceSettings
from yidi_events.store import EventStore, NewEvent, StreamAppend
from yidi_stack.bench.recon_day import INSURED_REGIONS, VISIT_REGION, WrongResult

DAY = date(2026, 3, 11)
NAMESPACE = "benchrebuild"


@dataclass(frozen=True)
class Rebuilt:
    projection: str
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


UNUSED_TOTALS = (
    "fully_self_paid",
    "over_limit",
    "pre_self_paid",
    "deductible_applied",
    "large_amount_fund",
    "critical_illness_fund",
    "civil_servant_subsidy",
    "medical_assistance",
    "hospital_borne",
)
"""A generated settlement's totals that stay 0: the basic fund and the account pay it all."""


def visit_settled(i: int) -> VisitSettled:
    fee = 5_000 + (i * 2654435761) % 800_000
    fund = fee * 6 // 10
    account = fee // 10
    cash = fee - fund - account
    zero = dict.fromkeys(UNUSED_TOTALS, 0)
    hospital = f"H3201{1 + i % 200:07d}"
    return VisitSettled(
        settlement_id=f"RB-{i:08d}",
        visit_id=f"RBV-{i:08d}",
        person_id=f"RBP-{i % 50_000:06d}",
        insured_region=INSURED_REGIONS[i % len(INSURED_REGIONS)],
        visit_region=VISIT_REGION,
        institution_code=hospital,
        clearing_agency=VISIT_REGION,
        clearing_category="11",
        insurance_type="310",
        medical_type="11",
        filing_kind="work",
        admitted_on=DAY,
        discharged_on=DAY,
        principal_diagnosis=None,
        totals=SettlementTotals(
            total_fee=fee,
            in_policy=fee,
            basic_fund=fund,
            fund_total=fund,
            account_paid=account,
            cash_paid=cash,
            personal_total=account + cash,
            **zero,
        ),
        fund_payments=(
            FundPayment(fund_code=FundCode.EMPLOYEE_BASIC, amount=fund),
            FundPayment(fund_code=FundCode.PERSONAL_ACCOUNT, amount=account),
        ),
        account_balance_after=100_000,
        movement=AccumulatorMovement(
            policy_year=2026,
            inpatient_admissions=0,
            outpatient_deductible_used=0,
            eligible_cum=fee,
            basic_paid_cum=fund,
            supplementary_base_cum=0,
            supplementary_paid_cum=0,
            assistance_paid_cum=0,
            account_balance=-account,
        ),
        message_id=f"RBM-{i:08d}",
        settled_at=datetime(2026, 3, 11, 2, 0, tzinfo=UTC) + timedelta(seconds=i % 40_000),
    )


def clawback_decided(i: int) -> ClawbackDecided:
    """A clawback of one of the generated settlements, on its agency pair."""
    return ClawbackDecided(
        clawback_id=f"RBC-{i:08d}",
        case_id=f"RBK-{i:08d}",
        person_id=f"RBP-{i % 50_000:06d}",
        settlement_ids=(f"RB-{i:08d}",),
        insured_region=INSURED_REGIONS[i % len(INSURED_REGIONS)],
        visit_region=VISIT_REGION,
        insurance_type="310",
        amount=100 + i % 10_000,
        decided_by="bench",
        decided_on=DAY,
    )


STREAMS_PER_TRANSACTION = 500


async def append_projected(
    engine: AsyncEngine,
    store: EventStore,
    projection: Projection,
    appends: Iterable[StreamAppend],
) -> Rebuilt:
    """Append the streams, each projected in the appending transaction as the write path projects
    one append (`project_with`); several streams share a transaction so the setup is not a round
    trip per stream. The live figure: events over the seconds spent projecting them."""
    events = 0
    projecting = 0.0
    pending: list[StreamAppend] = []

    async def flush() -> None:
        nonlocal events, projecting
        async with engine.begin() as conn:
            sealed = await store.append_streams(conn, pending)
            started = time.monotonic()
            for envelopes in sealed:
                await projection.apply_many(conn, envelopes)
            projecting += time.monotonic() - started
            events += sum(len(e) for e in sealed)
        pending.clear()

    for append in appends:
        pending.append(append)
        if len(pending) >= STREAMS_PER_TRANSACTION:
            await flush()
    if pending:
        await flush()
    return Rebuilt(projection.name, events, projecting)


async def _append_clawbacks(
    engine: AsyncEngine, store: EventStore, own: Projection, n: int
) -> Rebuilt:
    """Audit's decisions, projected into `audit.own` as its write path projects them."""
    streams = (
        StreamAppend(f"clawback:{fact.clawback_id}", 0, [NewEvent(fact, DAY)])
        for fact in map(clawback_decided, range(n))
    )
    return await append_projected(engine, store, own, streams)


async def _append_deaths(engine: AsyncEngine, store: EventStore, n: int) -> None:
    async with engine.begin() as conn:
        for i in range(n):
            fact = PersonDied(
                person_id=f"RBP-{i:06d}",
                death_date=DAY + timedelta(days=1),
                recorded_on=DAY + timedelta(days=2),
            )
            await store.append(conn, f"person:{fact.person_id}", 0, [NewEvent(fact, DAY)])


async def _append_settlements(
    engine: AsyncEngine, store: EventStore, own: Projection, n: int
) -> Rebuilt:
    """The settled visits, projected into settlement's own tables as its write path does."""
    streams = (
        StreamAppend(f"person:{fact.settlement_id}", 0, [NewEvent(fact, DAY)])
        for fact in map(visit_settled, range(n))
    )
    return await append_projected(engine, store, own, streams)


async def publish_all(relay: Relay, kafka: KafkaSettings) -> int:
    await relay.ensure_checkpoint()
    sender = producer(kafka, client_id=f"{relay.service}-bench-relay")
    await sender.start()
    sent = 0
    try:
        while published := await relay.publish_once(sender):
            sent += published
    finally:
        await sender.stop()
    return sent


async def snapshot(engine: AsyncEngine, projection: Projection) -> dict[str, Any]:
    async with engine.connect() as conn:
        return await projection.snapshot(conn)


def unequal(name: str, live: dict[str, Any], rebuilt: dict[str, Any]) -> WrongResult | None:
    """What differs between a projection's live rows and its rebuilt ones, table by table (rows
    each side, and the first row only one side holds), or None when they are equal."""
    tables = []
    for table, rows in live.items():
        again = rebuilt.get(table, [])
        if rows != again:
            # Rows may hold lists (JSON, arrays): compared by their repr, which sorted them.
            seen_live, seen_rebuilt = set(map(repr, rows)), set(map(repr, again))
            only_live = next((r for r in rows if repr(r) not in seen_rebuilt), None)
            only_rebuilt = next((r for r in again if repr(r) not in seen_live), None)
            tables.append(
                f"{table}: {len(rows)} live, {len(again)} rebuilt;"
                f" only live {only_live!r:.300}; only rebuilt {only_rebuilt!r:.300}"
            )
    if not tables:
        return None
    return WrongResult(f"the rebuilt {name} differs from the live one: " + " | ".join(tables))


async def timed_consumer(engine: AsyncEngine, consumer: Consumer) -> Rebuilt:
    live = await snapshot(engine, consumer.projection)
    started = time.monotonic()
    read = await consumer.rebuild()
    seconds = time.monotonic() - started
    if wrong := unequal(consumer.name, live, await snapshot(engine, consumer.projection)):
        raise wrong
    return Rebuilt(consumer.name, read, seconds)


async def timed_catch_up(consumer: Consumer) -> Rebuilt:
    """The live path's throughput: the consumer applying a backlog as it would after a burst
    (the same `process` its group loop calls), into the live tables."""
    started = time.monotonic()
    read = await consumer.catch_up()
    seconds = time.monotonic() - started
    return Rebuilt(consumer.name, read, seconds)


@dataclass(frozen=True)
class Chain:
    rebuilt: list[Rebuilt]
    live: list[Rebuilt]
    """Each projection's live pass before its rebuild: a consumer's first pass over the backlog,
    or the projecting of a service's own facts in their appending transactions."""


async def rebuild_chain(dsns: dict[str, str], bootstrap: str, *, events: int) -> Chain:
    from yidi_audit import bootstrap as audit
    from yidi_audit.adapters.read_models import own_projection as audit_own
    from yidi_clearing import bootstrap as clearing
    from yidi_reconciliation import bootstrap as reconciliation
    from yidi_reconciliation.adapters.day_views import make_day_projection
    from yidi_settlement.adapters.own_facts import make_projection as settlement_own
    from yidi_stack.bench.rebuild_own import rebuild_own, rest_of_chain

    kafka = KafkaSettings(bootstrap, namespace=NAMESPACE)
    await ensure_topics(kafka)
    clock = SystemClock()
    done: list[Rebuilt] = []
    live: list[Rebuilt] = []
    clawbacks = events

    settlement_engine = make_engine(dsns["settlement"], pool_size=2)
    settlement_store = EventStore("settlement", clock)
    try:
        own = settlement_own()
        live.append(await _append_settlements(settlement_engine, settlement_store, own, events))
        relay = Relay(settlement_engine, settlement_store, kafka, service="settlement")
        if await publish_all(relay, kafka) != events:
            raise WrongResult("settlement's relay did not publish every generated fact")
    finally:
        await settlement_engine.dispose()

    deaths = min(events, 50_000)  # one per generated person
    filing_engine = make_engine(dsns["filing"], pool_size=2)
    filing_store = EventStore("filing", clock)
    try:
        await _append_deaths(filing_engine, filing_store, deaths)
        relay = Relay(filing_engine, filing_store, kafka, service="filing")
        if await publish_all(relay, kafka) != deaths:
            raise WrongResult("filing's relay did not publish every generated death")
    finally:
        await filing_engine.dispose()

    def settings(service: str) -> ServiceSettings:
        return ServiceSettings(
            database_url=dsns[service],
            kafka_bootstrap=bootstrap,
            kafka_namespace=NAMESPACE,
            relay_enabled=False,
            consumers_enabled=False,
            db_pool_size=4,
        )

    audit_runtime = audit.build_runtime(settings("audit"))
    try:
        (facts,) = [c for c in audit_runtime.consumers if c.name == "audit.settlement_facts"]
        live.append(await timed_catch_up(facts))
        done.append(await timed_consumer(audit_runtime.engine, facts))
        async with audit_runtime.engine.connect() as conn:
            kept = await conn.scalar(sa.text("SELECT count(*) FROM audit_visit_facts"))
        if kept != events:
            raise WrongResult(f"audit holds {kept} of {events} settled visits")
        (died,) = [c for c in audit_runtime.consumers if c.name == "audit.filing_facts"]
        live.append(await timed_catch_up(died))
        done.append(await timed_consumer(audit_runtime.engine, died))
        async with audit_runtime.engine.connect() as conn:
            kept = await conn.scalar(sa.text("SELECT count(*) FROM audit_death_facts"))
        if kept != deaths:
            raise WrongResult(f"audit holds {kept} of {deaths} deaths")
        engine, store = audit_runtime.engine, audit_runtime.store
        own = audit_own()
        live.append(await _append_clawbacks(engine, store, own, clawbacks))
        done.append(await rebuild_own(engine, store, own, {"audit_clawbacks": clawbacks}))
        await publish_all(audit_runtime.relay, kafka)
    finally:
        await audit_runtime.engine.dispose()

    recon_runtime, _ = reconciliation.build(settings("reconciliation"))
    try:
        (settlements,) = [c for c in recon_runtime.consumers if c.name.endswith(".settlements")]
        # The first pass is the live one (it appends the day facts); the second is the rebuild.
        live.append(await timed_catch_up(settlements))
        done.append(await timed_consumer(recon_runtime.engine, settlements))
        async with recon_runtime.engine.connect() as conn:
            stored = await conn.scalar(sa.text("SELECT count(*) FROM settlement_records"))
        if stored != events:
            raise WrongResult(f"reconciliation holds {stored} of {events} settlements")

        days = make_day_projection()
        before = await snapshot(recon_runtime.engine, days)
        started = time.monotonic()
        applied = await rebuild_from_store(recon_runtime.engine, recon_runtime.store, days)
        seconds = time.monotonic() - started
        if wrong := unequal(days.name, before, await snapshot(recon_runtime.engine, days)):
            raise wrong
        done.append(Rebuilt(days.name, applied, seconds))
        await publish_all(recon_runtime.relay, kafka)
    finally:
        await recon_runtime.engine.dispose()

    clearing_runtime = clearing.build_runtime(settings("clearing"))
    try:
        (inputs,) = [
            c for c in clearing_runtime.consumers if c.name.endswith("reconciliation_inputs")
        ]
        live.append(await timed_catch_up(inputs))
        done.append(await timed_consumer(clearing_runtime.engine, inputs))
        async with clearing_runtime.engine.connect() as conn:
            recorded = await conn.scalar(sa.text("SELECT count(*) FROM day_records"))
        if recorded != events:
            raise WrongResult(f"clearing recorded {recorded} of {events} settlements")
        (deductions,) = [c for c in clearing_runtime.consumers if c.name.endswith("audit_inputs")]
        live.append(await timed_catch_up(deductions))
        done.append(await timed_consumer(clearing_runtime.engine, deductions))
        async with clearing_runtime.engine.connect() as conn:
            deducted = await conn.scalar(sa.text("SELECT count(*) FROM deduction_inputs"))
        if deducted != clawbacks:
            raise WrongResult(f"clearing holds {deducted} of {clawbacks} clawbacks")
    finally:
        await clearing_runtime.engine.dispose()
    await rest_of_chain(dsns, kafka, settings, events=events, settled=events, done=done, live=live)
    return Chain(done, live)
