"""A clearing service on real PostgreSQL and a real broker, fed by a reconciliation-side and an
audit-side event store (each in its own fresh database) through their relays."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_clearing import bootstrap
from yidi_events.auth.agency import issue_token
from yidi_events.db import make_engine
from yidi_events.kernel import SHANGHAI, SystemClock
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.runtime.relay import Relay
from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings
from yidi_events.store import EventStore, NewEvent

CENTRE = "320000"
APPROVER = "approver"


@dataclass
class Producer:
    """Another service's event store and relay: what clearing consumes comes from here."""

    service: str
    engine: AsyncEngine
    kafka: KafkaSettings
    store: EventStore = field(init=False)
    versions: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store = EventStore(self.service, SystemClock())

    async def append(self, stream_id: str, *payloads: Any) -> None:
        async with self.engine.begin() as conn:
            version = self.versions.get(stream_id, 0)
            await self.store.append(
                conn,
                stream_id,
                version,
                [NewEvent(p, _business_date(p)) for p in payloads],
            )
            self.versions[stream_id] = version + len(payloads)

    async def publish(self, *, again: bool = False) -> int:
        relay = Relay(self.engine, self.store, self.kafka, service=self.service)
        await relay.ensure_checkpoint()
        if again:
            await relay.rewind()  # republish everything: consumers must absorb the repeats
        kafka = producer(self.kafka, client_id=f"test-{self.service}")
        await kafka.start()
        try:
            total = 0
            while published := await relay.publish_once(kafka):
                total += published
            return total
        finally:
            await kafka.stop()


def _business_date(payload: Any) -> Any:
    for name in ("business_date", "decided_on"):
        if hasattr(payload, name):
            return getattr(payload, name)
    raise AssertionError(f"no business date on {payload!r}")


@dataclass
class World:
    client: httpx.AsyncClient
    runtime: Runtime
    reconciliation: Producer
    audit: Producer
    kafka: KafkaSettings
    secret: str

    def token(self, user: str, region: str, *roles: str, kind: str = "agency") -> dict[str, str]:
        jwt = issue_token(self.secret, user_id=user, region=region, roles=roles, kind=kind)
        return {"Authorization": f"Bearer {jwt}"}

    def centre(self, user: str, *roles: str) -> dict[str, str]:
        return self.token(user, CENTRE, *roles, kind="centre")

    def approver(self, user: str) -> dict[str, str]:
        return self.centre(user, APPROVER)

    def agency(self, region: str) -> dict[str, str]:
        return self.token(f"clerk-{region}", region)

    async def catch_up(self) -> None:
        """Publish what the producers stored and let clearing's consumers apply it."""
        await self.reconciliation.publish()
        await self.audit.publish()
        for consumer in self.runtime.consumers:
            await consumer.catch_up()


@pytest.fixture
async def world(
    database: Callable[..., str], kafka_settings: KafkaSettings
) -> AsyncIterator[World]:
    settings = ServiceSettings(
        database_url=database(bootstrap.MIGRATIONS),
        kafka_bootstrap=kafka_settings.bootstrap,
        kafka_namespace=kafka_settings.namespace,
        relay_enabled=True,
        consumers_enabled=False,  # the test drives them with catch_up, deterministically
        clock="controlled",
        clock_start=datetime(2026, 4, 4, 9, 0, tzinfo=SHANGHAI),  # March closes by the 3rd
        log_json=False,
        log_level="WARNING",
    )
    app = bootstrap.create(settings)
    recon_engine = make_engine(database())
    audit_engine = make_engine(database())
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://clearing") as c:
                yield World(
                    client=c,
                    runtime=app.state.runtime,
                    reconciliation=Producer("reconciliation", recon_engine, kafka_settings),
                    audit=Producer("audit", audit_engine, kafka_settings),
                    kafka=kafka_settings,
                    secret=settings.auth_secret.get_secret_value(),
                )
    finally:
        await recon_engine.dispose()
        await audit_engine.dispose()
