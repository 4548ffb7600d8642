"""Readiness means "can serve": the database is required; the broker is checked and reported
but a broker outage leaves the service ready (events wait in the store), and says so in
yidi_broker_up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from prometheus_client import REGISTRY

from yidi_events.runtime.kafka import KafkaSettings
from yidi_events.service import Runtime, create_app
from yidi_events.settings import ServiceSettings
from yidi_stack.embedded import free_port


async def readiness(dsn: str, bootstrap: str) -> httpx.Response:
    settings = ServiceSettings(
        database_url=dsn, kafka_bootstrap=bootstrap, relay_enabled=False, consumers_enabled=False
    )
    app = create_app(Runtime("filing", settings, Path(".")), [], title="t", description="")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/readyz")


async def test_ready_when_database_and_broker_answer(
    database: Any, kafka_settings: KafkaSettings
) -> None:
    response = await readiness(database(), kafka_settings.bootstrap)
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["broker"] == "ok"


async def test_ready_without_the_broker_and_says_it_is_down(database: Any) -> None:
    response = await readiness(database(), f"127.0.0.1:{free_port()}")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"].startswith("down")
    assert response.json()["ready"] is True
    assert REGISTRY.get_sample_value("yidi_broker_up", {"service": "filing"}) == 0


async def test_not_ready_without_the_database(kafka_settings: KafkaSettings) -> None:
    response = await readiness(
        f"postgresql://postgres@127.0.0.1:{free_port()}/none", kafka_settings.bootstrap
    )
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("down")
    assert response.json()["ready"] is False
