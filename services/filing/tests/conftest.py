"""Fixtures of the filing service tests: the real app (real PostgreSQL, real broker) driven
through its HTTP API, with a controlled clock so the 6-month rules can be walked through.

Test modules cannot import this conftest (importlib mode), so helpers come as the `svc` fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from yidi_events.auth.agency import issue_token
from yidi_events.runtime.kafka import KafkaSettings
from yidi_events.settings import ServiceSettings
from yidi_events.store.schema import events
from yidi_filing.adapters.tables import filings, person_certificates, persons, policies
from yidi_filing.app.common import Context
from yidi_filing.bootstrap import MIGRATIONS, create
from yidi_filing.domain.identity import resident_id_check_char

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2026-03-02, 10:00 in Shanghai
TODAY = date(2026, 3, 2)
SUZHOU, WUXI, NANJING, SHANGLUO = "320500", "320200", "320100", "611000"


def certificate(region: str, birth: date, seq: int, *, male: bool = True) -> str:
    """A valid resident ID number (check digit included)."""
    serial = seq * 2 + (1 if male else 0)
    first17 = f"{region}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + resident_id_check_char(first17)


@dataclass
class Svc:
    app: FastAPI
    client: httpx.AsyncClient
    settings: ServiceSettings
    secret: str

    @property
    def context(self) -> Context:
        context: Context = self.app.state.filing
        return context

    def auth(
        self, region: str, *roles: str, kind: str = "agency", user: str | None = None
    ) -> dict[str, str]:
        token = issue_token(
            self.secret, user_id=user or f"staff-{region}", region=region, roles=roles, kind=kind
        )
        return {"authorization": f"Bearer {token}"}

    def person_auth(self, person_id: str, region: str) -> dict[str, str]:
        return self.auth(region, kind="person", user=person_id)

    async def post(self, path: str, body: Any = None, *, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(path, json=body, headers=headers)

    async def enrol(
        self,
        person_id: str,
        region: str,
        *,
        seq: int = 1,
        insurance_type: str = "310",
        **extra: Any,
    ) -> dict[str, Any]:
        body = {
            "person_id": person_id,
            "insured_region": region,
            "insurance_type": insurance_type,
            "person_category": "1101" if insurance_type == "310" else "1501",
            "name": "测试人员",
            "certificate_no": certificate(region, date(1980, 5, 17), seq),
            "gender": "1",
            "birth_date": "1980-05-17",
            "account_balance": 120000,
        } | extra
        response = await self.post("/v1/persons", body, headers=self.auth(region))
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def advance(self, *, days: int) -> None:
        response = await self.client.post("/v1/admin/clock", json={"advance_seconds": days * 86400})
        assert response.status_code == 200, response.text

    async def events(self) -> list[tuple[str, str, int, dict[str, Any]]]:
        """Every stored event: (stream, type, version, payload) in store order."""
        async with self.context.runtime.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(
                    events.c.stream_id,
                    events.c.event_type,
                    events.c.stream_version,
                    events.c.payload,
                ).order_by(events.c.position)
            )
            return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def event_types(self, stream_id: str) -> list[str]:
        return [t for s, t, _, _ in await self.events() if s == stream_id]

    async def state(self) -> dict[str, Any]:
        """The event store and every table: what 'nothing was written' compares."""
        snapshot: dict[str, Any] = {"events": await self.events()}
        async with self.context.runtime.engine.connect() as conn:
            for table in (persons, filings, policies, person_certificates):
                rows = (await conn.execute(sa.select(table))).all()
                snapshot[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return snapshot


def _settings(dsn: str, kafka: KafkaSettings | None, *, relay: bool) -> ServiceSettings:
    return ServiceSettings(
        database_url=dsn,
        kafka_bootstrap=kafka.bootstrap if kafka else "127.0.0.1:1",
        kafka_namespace=kafka.namespace if kafka else "unused",
        relay_enabled=relay,
        consumers_enabled=False,
        clock="controlled",
        clock_start=START,
        log_json=False,
        log_level="WARNING",
    )


async def _running(settings: ServiceSettings) -> AsyncIterator[Svc]:
    app = create(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://filing") as client:
            yield Svc(app, client, settings, settings.auth_secret.get_secret_value())


@pytest.fixture
async def svc(database: Callable[..., str]) -> AsyncIterator[Svc]:
    """The service without the relay: tests read the event store."""
    async for service in _running(_settings(database(MIGRATIONS), None, relay=False)):
        yield service


@pytest.fixture
async def live_svc(
    database: Callable[..., str], kafka_settings: KafkaSettings
) -> AsyncIterator[Svc]:
    """The service with its relay publishing to the real broker (a private namespace)."""
    async for service in _running(_settings(database(MIGRATIONS), kafka_settings, relay=True)):
        yield service


@pytest.fixture
async def broker_svc(
    database: Callable[..., str], kafka_settings: KafkaSettings
) -> AsyncIterator[Svc]:
    """The service configured for the real broker, relay and consumers idle: tests drive them."""
    async for service in _running(_settings(database(MIGRATIONS), kafka_settings, relay=False)):
        yield service
