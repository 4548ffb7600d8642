"""Personal identity (name, ID number, card serial, birth date, gender) reaches only the consumers
declared here: settlement's read model of insured persons, which answers 1101 and checks identity
vouchers.

- What is applied: any other projection that starts handling a fact carrying these fields fails
  here, so a new reader of identity is a decision, not an accident.
- What is received: identity travels in one published fact, `filing.PersonIdentified`, on
  `yidi.filing.identity`, which only settlement subscribes to (its ACLs: tests/test_kafka_acls.py).
  Filing keeps identity in its own stored facts (v1 of PersonEnrolled/PersonUpdated); the relay
  publishes them as v2 without it on `yidi.filing.events`, plus PersonIdentified. The wire test
  enrols and updates persons through filing's API, runs the relay against the real broker and
  reads both topics. See docs/integration.md, "Personal data on the wire"."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from yidi_cli import topics as tops
from yidi_events import registry
from yidi_events.auth.agency import issue_token
from yidi_events.envelope import Envelope
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.runtime.relay import Relay
from yidi_events.settings import ServiceSettings
from yidi_events.topics import topic
from yidi_stack.platform import DEFINITIONS

IDENTITY = frozenset(
    {"name", "certificate_type", "certificate_no", "card_serial", "birth_date", "gender"}
)
# (service, projection) -> why it needs identity
DECLARED = {("settlement", "insured_facts"): "1101 answers and identity vouchers (2201/2401)"}


def _identity_facts(specs: list[registry.EventSpec]) -> dict[tuple[str, int], set[str]]:
    found = {}
    for spec in specs:
        fields = {f.name for f in dataclasses.fields(spec.model)}
        # A person's fact (a catalogue item's `name` is no one's identity).
        if "person_id" in fields and fields & IDENTITY:
            found[(spec.event_type, spec.version)] = fields & IDENTITY
    return found


def test_the_only_published_fact_carrying_identity_is_person_identified_on_its_own_topic() -> None:
    published = _identity_facts(registry.latest_specs())
    assert published == {("filing.PersonIdentified", 1): set(IDENTITY)}
    assert registry.spec("filing.PersonIdentified").source == "filing.identity"
    assert topic("filing.identity") == "yidi.filing.identity"


def test_every_stored_version_carrying_identity_is_withheld_from_the_events_topic() -> None:
    stored = {k for k in _identity_facts(registry.all_specs()) if k[0] != "filing.PersonIdentified"}
    assert stored == {("filing.PersonEnrolled", 1), ("filing.PersonUpdated", 1)}
    assert set(registry.withheld_versions()) == stored


def test_a_v1_record_already_on_the_events_topic_reaches_readers_without_identity() -> None:
    # Published before the split: the upcaster drops the identity, readers get v2.
    v1 = {
        "event_id": "0190a4b2-0000-7000-8000-000000000001",
        "event_type": "filing.PersonEnrolled",
        "schema_version": 1,
        "stream_id": "person-P1",
        "stream_version": 1,
        "partition_key": "P1",
        "occurred_at": "2026-03-02T02:00:00+00:00",
        "business_date": "2026-03-02",
        "producer": "filing",
        "correlation_id": None,
        "causation_id": None,
        "payload": {
            "person_id": "P1",
            "insured_region": "320500",
            "insurance_type": "310",
            "person_category": "1101",
            "civil_servant": False,
            "assistance_identities": [],
            "name": "张三",
            "certificate_type": "01",
            "certificate_no": "320500198005170033",
            "gender": "1",
            "birth_date": "1980-05-17",
            "card_serial": "S1",
            "account_balance": 0,
            "enrolment_status": "active",
            "enrolled_on": "2026-03-02",
        },
    }
    read = Envelope.from_wire(v1)
    assert read.schema_version == 2
    assert not IDENTITY & set(registry.encode(read.payload))
    assert read.payload.account_balance == 0


def test_only_the_declared_consumers_apply_or_receive_identity() -> None:
    facts = {t for t, _ in _identity_facts(registry.latest_specs())}
    readers, receivers = set(), set()
    for name, definition in DEFINITIONS.items():
        runtime = definition.build_runtime(ServiceSettings(sandbox=True))
        for subscription in runtime.subscriptions:
            key = (name, subscription.projection.name)
            if any(subscription.projection.handles(t) for t in facts):
                readers.add(key)
            if "filing.identity" in subscription.sources:
                receivers.add(key)
    assert readers == set(DECLARED)
    assert receivers == set(DECLARED)


# --- on the wire, real broker ------------------------------------------------------------------

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SUZHOU = "320500"
ZHANG, LI = "32050000000000000901", "32050000000000000902"
# Resident ID numbers (GB 11643: region, birth date, serial 003 and 005, check character).
ZHANG_ID, LI_ID = "320500198005170032", "320500198005170059"


@asynccontextmanager
async def _filing(
    dsn: str, kafka: KafkaSettings
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    definition = DEFINITIONS["filing"]
    settings = ServiceSettings(
        database_url=dsn,
        kafka_bootstrap=kafka.bootstrap,
        kafka_namespace=kafka.namespace,
        relay_enabled=False,  # driven below, batch by batch
        consumers_enabled=False,
        clock="controlled",
        clock_start=START,
        log_json=False,
        log_level="WARNING",
    )
    app = definition.create(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://filing") as client:
            yield app, client


async def _publish_all(relay: Relay, kafka: KafkaSettings) -> int:
    kafka_producer = producer(kafka, client_id="test-relay")
    await kafka_producer.start()
    total = 0
    try:
        while published := await relay.publish_once(kafka_producer):
            total += published
    finally:
        await kafka_producer.stop()
    return total


def _docs(records: list[Any]) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in records]


async def test_identity_is_on_the_identity_topic_only_and_a_republish_repeats_it_exactly(
    database: Callable[..., str], kafka_settings: KafkaSettings
) -> None:
    definition = DEFINITIONS["filing"]
    async with _filing(database(definition.migrations), kafka_settings) as (app, client):
        secret = app.state.runtime.settings.auth_secret.get_secret_value()
        token = issue_token(secret, user_id="staff-320500", region=SUZHOU, roles=(), kind="agency")
        auth = {"authorization": f"Bearer {token}"}
        for person, number, name in ((ZHANG, ZHANG_ID, "张三"), (LI, LI_ID, "李四")):
            body = {
                "person_id": person,
                "insured_region": SUZHOU,
                "insurance_type": "310",
                "person_category": "1101",
                "name": name,
                "certificate_no": number,
                "gender": "1",
                "birth_date": "1980-05-17",
                "account_balance": 120000,
            }
            response = await client.post("/v1/persons", json=body, headers=auth)
            assert response.status_code == 201, response.text
        corrected = {"name": "张叁", "card_serial": "CARD-901"}
        response = await client.patch(f"/v1/persons/{ZHANG}", json=corrected, headers=auth)
        assert response.status_code == 200, response.text
        # Filing itself still holds the whole person (its view is built from its own facts).
        response = await client.get(f"/v1/persons/{ZHANG}", headers=auth)
        assert response.json()["certificate_no"] == ZHANG_ID
        assert response.json()["name"] == "张叁"

        relay: Relay = app.state.runtime.relay
        await relay.ensure_checkpoint()
        stored = await _publish_all(relay, kafka_settings)

        events_topic = topic("filing", kafka_settings.namespace)
        identity_topic = topic("filing.identity", kafka_settings.namespace)
        on_events = _docs(
            await tops.read(kafka_settings, events_topic, from_beginning=True, limit=None)
        )
        on_identity = _docs(
            await tops.read(kafka_settings, identity_topic, from_beginning=True, limit=None)
        )

        # Every stored fact is on the events topic, none with an identity field.
        assert len(on_events) == stored
        assert all(not IDENTITY & set(d["payload"]) for d in on_events)
        person_facts = sorted(
            (d["payload"]["person_id"], d["event_type"], d["schema_version"])
            for d in on_events
            if d["event_type"] in {"filing.PersonEnrolled", "filing.PersonUpdated"}
        )
        assert person_facts == [
            (ZHANG, "filing.PersonEnrolled", 2),
            (ZHANG, "filing.PersonUpdated", 2),
            (LI, "filing.PersonEnrolled", 2),
        ]
        # One PersonIdentified per enrolment or update, numbered in its own stream.
        identified = sorted(
            (
                d["stream_id"],
                d["stream_version"],
                d["payload"]["name"],
                d["payload"]["certificate_no"],
                d["payload"]["card_serial"],
            )
            for d in on_identity
        )
        assert identified == [
            (f"person-{ZHANG}.identity", 1, "张三", ZHANG_ID, None),
            (f"person-{ZHANG}.identity", 2, "张叁", None, "CARD-901"),
            (f"person-{LI}.identity", 1, "李四", LI_ID, None),
        ]
        assert {(d["event_type"], d["producer"]) for d in on_identity} == {
            ("filing.PersonIdentified", "filing")
        }
        assert all(d["partition_key"] == d["payload"]["person_id"] for d in on_identity)

        # `yidi republish filing` rewinds the relay: the same records again, same ids and
        # versions, which consumers take as the duplicates they are.
        await relay.rewind()
        assert await _publish_all(relay, kafka_settings) == stored
        again = _docs(
            await tops.read(kafka_settings, identity_topic, from_beginning=True, limit=None)
        )
        first = sorted((d["event_id"], d["stream_id"], d["stream_version"]) for d in on_identity)
        assert sorted(
            (d["event_id"], d["stream_id"], d["stream_version"]) for d in again
        ) == sorted(first * 2)
        republished = _docs(
            await tops.read(kafka_settings, events_topic, from_beginning=True, limit=None)
        )
        assert len(republished) == 2 * stored
        assert all(not IDENTITY & set(d["payload"]) for d in republished)
