"""The reconciliation service against real servers: its app on a fresh database, and a
settlement-side event store in another fresh database whose facts reach the service the way they
do in production (relay -> broker -> the service's consumer)."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.auth.agency import issue_token
from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    FundCode,
    FundPayment,
    SettlementCancelled,
    SettlementReversed,
    SettlementTotals,
    VisitSettled,
)
from yidi_events.db import make_engine
from yidi_events.envelope import Envelope
from yidi_events.kernel import SHANGHAI, ControlledClock
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.runtime.projection import Projection
from yidi_events.runtime.relay import Relay
from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings
from yidi_events.store import EventStore, NewEvent
from yidi_events.topics import topic
from yidi_reconciliation import bootstrap
from yidi_reconciliation.app.days import Days

DAY = date(2026, 3, 10)
HOSPITAL = "H32010000001"
NANJING, SUZHOU, SUQIAN = "320100", "320500", "321300"


def totals(total_fee: int, fund_total: int, account_paid: int) -> SettlementTotals:
    cash = total_fee - fund_total - account_paid
    return SettlementTotals(
        total_fee=total_fee,
        fully_self_paid=0,
        over_limit=0,
        pre_self_paid=0,
        in_policy=total_fee,
        deductible_applied=0,
        basic_fund=fund_total,
        large_amount_fund=0,
        critical_illness_fund=0,
        civil_servant_subsidy=0,
        medical_assistance=0,
        fund_total=fund_total,
        account_paid=account_paid,
        cash_paid=cash,
        personal_total=account_paid + cash,
        hospital_borne=0,
    )


MOVEMENT = AccumulatorMovement(
    policy_year=2026,
    inpatient_admissions=0,
    outpatient_deductible_used=0,
    eligible_cum=0,
    basic_paid_cum=0,
    supplementary_base_cum=0,
    supplementary_paid_cum=0,
    assistance_paid_cum=0,
    account_balance=0,
)


@dataclass
class Settlement:
    """The settlement service's side: its own event store, relayed to the shared broker."""

    engine: AsyncEngine
    store: EventStore
    kafka: KafkaSettings
    versions: dict[str, int] = field(default_factory=dict)
    settled: dict[str, VisitSettled] = field(default_factory=dict)

    async def append(self, stream: str, payload: Any, day: date) -> None:
        async with self.engine.begin() as conn:
            version = self.versions.get(stream, 0)
            await self.store.append(conn, stream, version, [NewEvent(payload, day)])
            self.versions[stream] = version + 1

    async def settle(
        self,
        settlement_id: str,
        *,
        insured_region: str = SUZHOU,
        total_fee: int = 10000,
        fund_total: int = 7000,
        account_paid: int = 1000,
        insurance_type: str = "310",
        day: date = DAY,
        person_id: str | None = None,
    ) -> VisitSettled:
        person = person_id or f"P{insured_region}{settlement_id}"
        fund = FundCode.EMPLOYEE_BASIC if insurance_type == "310" else FundCode.RESIDENT_BASIC
        event = VisitSettled(
            settlement_id=settlement_id,
            visit_id=f"V-{settlement_id}",
            person_id=person,
            insured_region=insured_region,
            visit_region=NANJING,
            institution_code=HOSPITAL,
            clearing_agency=NANJING,
            clearing_category="11",
            insurance_type=insurance_type,
            medical_type="11",
            filing_kind="long_term",
            admitted_on=day,
            discharged_on=day,
            principal_diagnosis=None,
            totals=totals(total_fee, fund_total, account_paid),
            fund_payments=(
                FundPayment(fund_code=fund, amount=fund_total),
                FundPayment(fund_code=FundCode.PERSONAL_ACCOUNT, amount=account_paid),
            ),
            account_balance_after=None,
            movement=MOVEMENT,
            message_id=f"M-{settlement_id}",
            settled_at=datetime.combine(day, time(10), SHANGHAI),
        )
        self.settled[settlement_id] = event
        await self.append(f"settlement-person:{person}", event, day)
        return event

    async def cancel(self, cancellation_id: str, original_id: str, day: date = DAY) -> None:
        o = self.settled[original_id]
        event = SettlementCancelled(
            settlement_id=cancellation_id,
            original_settlement_id=original_id,
            visit_id=o.visit_id,
            person_id=o.person_id,
            insured_region=o.insured_region,
            visit_region=o.visit_region,
            institution_code=o.institution_code,
            clearing_agency=o.clearing_agency,
            clearing_category=o.clearing_category,
            insurance_type=o.insurance_type,
            medical_type=o.medical_type,
            totals=o.totals.negated(),
            fund_payments=tuple(
                FundPayment(fund_code=p.fund_code, amount=-p.amount) for p in o.fund_payments
            ),
            account_balance_after=None,
            movement=o.movement.negated(),
            message_id=f"M-{cancellation_id}",
            cancelled_at=datetime.combine(day, time(15), SHANGHAI),
        )
        await self.append(f"settlement-person:{o.person_id}", event, day)

    async def reverse(self, settlement_id: str, day: date = DAY) -> None:
        """2601: the hospital never received the outcome of the settling call."""
        o = self.settled[settlement_id]
        event = SettlementReversed(
            person_id=o.person_id,
            institution_code=o.institution_code,
            original_message_id=o.message_id,
            reversed_transaction="2207",
            settlement_id=settlement_id,
            message_id=f"M-rev-{settlement_id}",
            reversed_at=datetime.combine(day, time(16), SHANGHAI),
        )
        await self.append(f"settlement-person:{o.person_id}", event, day)

    async def reverse_cancellation(
        self, cancellation_id: str, original_id: str, day: date = DAY
    ) -> None:
        """2601 of a 2208: the cancellation is undone and the settlement stands again."""
        o = self.settled[original_id]
        event = SettlementReversed(
            person_id=o.person_id,
            institution_code=o.institution_code,
            original_message_id=f"M-{cancellation_id}",
            reversed_transaction="2208",
            settlement_id=cancellation_id,
            message_id=f"M-rev-{cancellation_id}",
            reversed_at=datetime.combine(day, time(16), SHANGHAI),
        )
        await self.append(f"settlement-person:{o.person_id}", event, day)

    async def publish(self) -> int:
        relay = Relay(self.engine, self.store, self.kafka, service="settlement")
        await relay.ensure_checkpoint()
        kafka = producer(self.kafka, client_id="settlement-test")
        await kafka.start()
        try:
            total = 0
            while sent := await relay.publish_once(kafka):
                total += sent
            return total
        finally:
            await kafka.stop()


@dataclass
class Service:
    app: FastAPI
    runtime: Runtime
    days: Days
    http: httpx.AsyncClient
    settlement: Settlement
    secret: str

    @property
    def day_views(self) -> Projection:
        """The day projection the runtime keeps in the writing transaction."""
        (views,) = self.runtime.own
        return views

    @property
    def clock(self) -> ControlledClock:
        assert isinstance(self.runtime.clock, ControlledClock)
        return self.runtime.clock

    async def deliver(self) -> None:
        """Relay the settlement side's new facts and let the consumer catch up."""
        await self.settlement.publish()
        await self.runtime.consumers[0].catch_up()

    def token(self, region: str, *, kind: str = "agency", roles: tuple[str, ...] = ()) -> str:
        return issue_token(
            self.secret, user_id=f"u-{region}", region=region, roles=roles, kind=kind
        )

    def as_agency(self, region: str, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(region, **kw)}"}

    async def his(self, name: str, command: dict[str, Any], institution: str = HOSPITAL) -> Any:
        """A hospital's command as the HIS gateway forwards it."""
        gateway = self.as_agency(NANJING, kind="service", roles=("his",))
        body = {
            "name": name,
            "institution_code": institution,
            "message_id": f"msg-{name}",
            "visit_region": NANJING,
            "insured_region": None,
            "command": command,
        }
        return await self.http.post("/v1/internal/his", json=body, headers=gateway)

    async def own_events(self) -> list[Envelope]:
        """Publish the service's own events and read its topic back."""
        kafka = producer(self.runtime.settings.kafka(), client_id="recon-test")
        await kafka.start()
        try:
            await self.runtime.relay.ensure_checkpoint()
            while await self.runtime.relay.publish_once(kafka):
                pass
        finally:
            await kafka.stop()
        return await read_topic(
            self.settlement.kafka, topic("reconciliation", self.settlement.kafka.namespace)
        )


async def read_topic(kafka: KafkaSettings, name: str) -> list[Envelope]:
    reader = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        await reader._client.force_metadata_update()
        parts = [TopicPartition(name, p) for p in sorted(reader.partitions_for_topic(name) or ())]
        reader.assign(parts)
        await reader.seek_to_beginning(*parts)
        ends = await reader.end_offsets(parts)
        found: list[Envelope] = []
        while [tp for tp in parts if await reader.position(tp) < ends[tp]]:
            for batch in (await reader.getmany(timeout_ms=200)).values():
                found.extend(Envelope.from_bytes(r.value) for r in batch)
        return found
    finally:
        await reader.stop()


def scope(start: date = DAY, end: date = DAY, **changes: Any) -> dict[str, Any]:
    """The statement scope of a hospital's check, in the forwarded command's names."""
    return {
        "clearing_agency": NANJING,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "include_refunds": True,
        "insurance_type": "310",
        "clearing_category": "11",
    } | changes


def zipped(rows: list[tuple[str, ...]]) -> bytes:
    header = "setl_id\tmdtrt_id\tpsn_no\tmedfee_sumamt\tfund_pay_sumamt\tacct_pay\trefd_setl_flag"
    text = "\n".join([header, *("\t".join(r) for r in rows)]) + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("detail.txt", text.encode("utf-8"))
    return buffer.getvalue()


def unzipped_rows(encoded: str) -> dict[str, dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(encoded))) as archive:
        (member,) = archive.namelist()
        lines = archive.read(member).decode("utf-8").splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    return {r["setl_id"]: r for r in rows}


@pytest.fixture
async def service(
    database: Callable[..., str], kafka_settings: KafkaSettings
) -> AsyncIterator[Service]:
    settings = ServiceSettings(
        database_url=database(bootstrap.MIGRATIONS),
        kafka_bootstrap=kafka_settings.bootstrap,
        kafka_namespace=kafka_settings.namespace,
        relay_enabled=False,
        consumers_enabled=False,
        clock="controlled",
        clock_start=datetime.combine(DAY, time(9), SHANGHAI),
        log_json=False,
        log_level="WARNING",
    )
    app = bootstrap.create(settings)
    settlement_engine = make_engine(database())
    settlement = Settlement(
        settlement_engine, EventStore("settlement", ControlledClock()), kafka_settings
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://reconciliation"
        ) as http,
    ):
        yield Service(
            app,
            app.state.runtime,
            app.state.days,
            http,
            settlement,
            settings.auth_secret.get_secret_value(),
        )
    await settlement_engine.dispose()
