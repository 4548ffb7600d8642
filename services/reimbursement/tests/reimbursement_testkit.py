"""The reimbursement service against real servers, beside the real filing service (in-process, its
own database) and a settlement-side event store: facts travel relay -> broker -> consumer both
ways. The sandbox's e-invoice verification server runs under uvicorn on a free port and the
service asks it over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_cli.sandbox import shared_dir
from yidi_events.auth.agency import issue_token
from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    FundCode,
    FundPayment,
    SettlementTotals,
    VisitSettled,
)
from yidi_events.db import make_engine
from yidi_events.kernel import SHANGHAI, ControlledClock
from yidi_events.runtime.consumer import Consumer
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.runtime.relay import Relay
from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings
from yidi_events.store import EventStore, NewEvent
from yidi_events.store.schema import events
from yidi_filing import bootstrap as filing_bootstrap
from yidi_filing.domain.identity import resident_id_check_char
from yidi_reimbursement import bootstrap
from yidi_reimbursement.adapters.tables import claimed_invoices, claims, notifications
from yidi_reimbursement.verification_server import create_verification_app
from yidi_stack.embedded import free_port, wait_for_port

SUZHOU, NANJING = "320500", "320100"
HOSPITAL = "H32010000009"  # the sandbox's non-networked Nanjing hospital
PERSON = "32050000000000000001"
START = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # Friday 6 March 2026, 10:00 in Shanghai
DETAIL = """line_no,catalogue_code,item_name,quantity,unit_price,amount,fee_date
1,XA001,急诊诊查,1,300.00,300.00,2026-03-01
2,XB002,药品,10,45.50,455.00,2026-03-01
3,C001,自费材料,1,245.00,245.00,2026-03-02
"""


def certificate(region: str, birth: date, seq: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq * 2 + 1:03d}"
    return first17 + resident_id_check_char(first17)


def claim_body(numbers: tuple[str, str], **changes: Any) -> dict[str, Any]:
    """An emergency admission at the non-networked hospital: two invoices, 600.00 + 400.00."""
    return {
        "person_id": PERSON,
        "institution_code": HOSPITAL,
        "institution_name": "南京市非联网医院",
        "visit_region": NANJING,
        "hospital_level": "2",
        "medical_type": "21",
        "emergency": True,
        "admitted_on": "2026-03-01",
        "discharged_on": "2026-03-02",
        "invoices": [
            {
                "invoice_code": "32060126",
                "invoice_number": n,
                "amount": a,
                "issued_on": "2026-03-02",
                "issuing_institution": HOSPITAL,
            }
            for n, a in zip(numbers, (60_000, 40_000), strict=True)
        ],
        "detail_file": DETAIL,
        "discharge_summary_ref": "DS-2026-0301",
        "bank_account": "6222020200112233445",
    } | changes


@dataclass
class Verifier:
    """The sandbox's e-invoice verification service, over real HTTP."""

    url: str

    async def issue(self, number: str, amount: int, issued_on: str = "2026-03-02") -> None:
        async with httpx.AsyncClient(base_url=self.url) as http:
            response = await http.post(
                "/v1/invoices",
                json={
                    "invoice_code": "32060126",
                    "invoice_number": number,
                    "amount": f"{amount // 100}.{amount % 100:02d}",
                    "issued_on": issued_on,
                    "issuing_institution": HOSPITAL,
                },
            )
            assert response.status_code == 201, response.text

    async def void(self, number: str) -> None:
        async with httpx.AsyncClient(base_url=self.url) as http:
            assert (await http.post(f"/v1/invoices/32060126/{number}/void")).status_code == 200


@pytest.fixture
async def verifier() -> AsyncIterator[Verifier]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_verification_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    await asyncio.to_thread(wait_for_port, port, 30)
    yield Verifier(f"http://127.0.0.1:{port}")
    server.should_exit = True
    await task


@dataclass
class SettlementSide:
    engine: AsyncEngine
    store: EventStore
    kafka: KafkaSettings
    versions: dict[str, int] = field(default_factory=dict)

    async def settle_directly(self, settlement_id: str, admitted: date, discharged: date) -> None:
        zero = dict.fromkeys(SettlementTotals.__dataclass_fields__, 0)
        event = VisitSettled(
            settlement_id=settlement_id,
            visit_id=f"V-{settlement_id}",
            person_id=PERSON,
            insured_region=SUZHOU,
            visit_region=NANJING,
            institution_code=HOSPITAL,
            clearing_agency=NANJING,
            clearing_category="21",
            insurance_type="310",
            medical_type="21",
            filing_kind="emergency",
            admitted_on=admitted,
            discharged_on=discharged,
            principal_diagnosis=None,
            totals=SettlementTotals(**zero),
            fund_payments=(FundPayment(fund_code=FundCode.EMPLOYEE_BASIC, amount=0),),
            account_balance_after=None,
            movement=AccumulatorMovement.zero(2026),
            message_id=f"M-{settlement_id}",
            settled_at=datetime.combine(discharged, time(10), SHANGHAI),
        )
        stream = f"settlement-person:{PERSON}"
        async with self.engine.begin() as conn:
            version = self.versions.get(stream, 0)
            await self.store.append(conn, stream, version, [NewEvent(event, discharged)])
            self.versions[stream] = version + 1
        await publish(Relay(self.engine, self.store, self.kafka, service="settlement"), self.kafka)


async def publish(relay: Relay, kafka: KafkaSettings) -> None:
    await relay.ensure_checkpoint()
    sender = producer(kafka, client_id=f"{relay.service}-test")
    await sender.start()
    try:
        while await relay.publish_once(sender):
            pass
    finally:
        await sender.stop()


@dataclass
class Stack:
    app: FastAPI
    runtime: Runtime
    http: httpx.AsyncClient
    filing_app: FastAPI
    filing: httpx.AsyncClient
    settlement: SettlementSide
    verifier: Verifier
    secret: str
    kafka: KafkaSettings

    @property
    def filing_runtime(self) -> Runtime:
        runtime: Runtime = self.filing_app.state.runtime
        return runtime

    def auth(
        self, region: str = SUZHOU, *roles: str, kind: str = "agency", user: str | None = None
    ) -> dict[str, str]:
        token = issue_token(
            self.secret, user_id=user or f"staff-{region}", region=region, roles=roles, kind=kind
        )
        return {"authorization": f"Bearer {token}"}

    def officer(self, user: str = "clerk-1") -> dict[str, str]:
        return self.auth(SUZHOU, "reimbursement", user=user)

    async def facts_from_filing(self) -> None:
        await publish(self.filing_runtime.relay, self.kafka)
        await self.consumer(self.runtime, "reimbursement.insured_facts").catch_up()

    async def claims_to_filing(self) -> None:
        await publish(self.runtime.relay, self.kafka)
        await self.consumer(self.filing_runtime, "filing.reimbursed_claims").catch_up()

    @staticmethod
    def consumer(runtime: Runtime, name: str) -> Consumer:
        return next(c for c in runtime.consumers if c.projection.name == name)

    def clock(self) -> ControlledClock:
        assert isinstance(self.runtime.clock, ControlledClock)
        return self.runtime.clock

    async def state(self) -> dict[str, Any]:
        """The event store and every claim table: what 'nothing was written' compares."""
        snapshot: dict[str, Any] = {}
        async with self.runtime.engine.connect() as conn:
            for table in (events, claims, claimed_invoices, notifications):
                rows = (await conn.execute(sa.select(table))).all()
                snapshot[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return snapshot

    async def enrol_and_publish_policy(self) -> None:
        """Filing enrols 张建国 (Suzhou employee, retired) and publishes the sandbox's Suzhou
        employee policy; the facts reach reimbursement through the broker."""
        person = {
            "person_id": PERSON,
            "insured_region": SUZHOU,
            "insurance_type": "310",
            "person_category": "1201",
            "name": "张建国",
            "certificate_no": certificate(SUZHOU, date(1956, 3, 12), 1),
            "gender": "1",
            "birth_date": "1956-03-12",
            "account_balance": 350_000,
        }
        response = await self.filing.post("/v1/persons", json=person, headers=self.auth())
        assert response.status_code == 201, response.text
        documents = json.loads((shared_dir() / "sandbox" / "policies.json").read_text())
        document = next(
            d for d in documents if (d["insuplc_admdvs"], d["insutype"]) == (SUZHOU, "310")
        )
        response = await self.filing.post("/v1/policies", json=document, headers=self.auth())
        assert response.status_code == 201, response.text
        await self.facts_from_filing()


def _settings(dsn: str, kafka: KafkaSettings, **more: Any) -> ServiceSettings:
    return ServiceSettings(
        database_url=dsn,
        kafka_bootstrap=kafka.bootstrap,
        kafka_namespace=kafka.namespace,
        relay_enabled=False,
        consumers_enabled=False,
        clock="controlled",
        clock_start=START,
        log_json=False,
        log_level="WARNING",
        **more,
    )


@pytest.fixture
async def stack(
    database: Callable[..., str], kafka_settings: KafkaSettings, verifier: Verifier
) -> AsyncIterator[Stack]:
    settings = _settings(
        database(bootstrap.MIGRATIONS),
        kafka_settings,
        reimbursement_verification_url=verifier.url,
    )
    app = bootstrap.create(settings)
    filing_app = filing_bootstrap.create(
        _settings(database(filing_bootstrap.MIGRATIONS), kafka_settings)
    )
    settlement_engine = make_engine(database())
    settlement = SettlementSide(
        settlement_engine, EventStore("settlement", ControlledClock()), kafka_settings
    )
    async with (
        app.router.lifespan_context(app),
        filing_app.router.lifespan_context(filing_app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://r") as http,
        httpx.AsyncClient(transport=httpx.ASGITransport(filing_app), base_url="http://f") as fhttp,
    ):
        yield Stack(
            app,
            app.state.runtime,
            http,
            filing_app,
            fhttp,
            settlement,
            verifier,
            settings.auth_secret.get_secret_value(),
            kafka_settings,
        )
    await settlement_engine.dispose()
