"""Against the real broker: an online filing is approved and visible on `yidi.filing.events`
within a second (relay running), and audit's suspensions reach the person as filing facts."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from yidi_events.contracts.audit import (
    DirectSettlementSuspended,
    DirectSettlementSuspensionEnded,
    SuspensionEndReason,
)
from yidi_events.contracts.filing import FilingApproved
from yidi_events.db import make_engine
from yidi_events.envelope import Envelope
from yidi_events.kernel.time import SystemClock
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.runtime.relay import Relay
from yidi_events.store import EventStore, NewEvent
from yidi_events.topics import topic
from yidi_filing.app import audit_policy

P1 = "32050000000000000401"
SUZHOU, NANJING = "320500", "320100"


async def test_an_online_filing_is_approved_and_reaches_the_topic_once(
    live_svc: Any, kafka_settings: KafkaSettings
) -> None:
    await live_svc.enrol(P1, SUZHOU)
    name = topic("filing", kafka_settings.namespace)
    reader = AIOKafkaConsumer(bootstrap_servers=kafka_settings.bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        await reader._client.force_metadata_update()
        parts = [TopicPartition(name, p) for p in sorted(reader.partitions_for_topic(name) or ())]
        reader.assign(parts)
        await reader.seek_to_end(*parts)
        for tp in parts:
            await reader.position(tp)  # resolve "end" now, before the filing exists

        started = time.perf_counter()
        response = await live_svc.post(
            "/v1/online/filings",
            {"kind": "other_temporary", "visit_region": NANJING},
            headers=live_svc.person_auth(P1, SUZHOU),
        )
        assert response.status_code == 201, response.text
        filing_id = response.json()["filing_id"]
        seen: list[Envelope] = []
        while time.perf_counter() - started < 5:
            batch = await reader.getmany(timeout_ms=20)
            seen += [Envelope.from_bytes(r.value) for part in batch.values() for r in part]
            if any(isinstance(e.payload, FilingApproved) for e in seen):
                break
    finally:
        await reader.stop()

    approved = [e for e in seen if isinstance(e.payload, FilingApproved)]
    assert [e.payload.filing_id for e in approved] == [filing_id]
    assert approved[0].partition_key == P1


async def test_audit_suspensions_become_person_facts_once(
    broker_svc: Any, database: Callable[..., str], kafka_settings: KafkaSettings
) -> None:
    svc = broker_svc
    await svc.enrol(P1, SUZHOU)
    # The audit service's side: its own store, its relay, its topic.
    audit_engine = make_engine(database())
    audit_store = EventStore("audit", SystemClock())
    case = "CASE-1"
    async with audit_engine.begin() as conn:
        await audit_store.append(
            conn,
            f"case-{case}",
            0,
            [
                NewEvent(
                    DirectSettlementSuspended(
                        person_id=P1,
                        suspended_from=date(2026, 3, 2),
                        suspended_until=date(2026, 9, 1),
                        case_id=case,
                        insured_region=SUZHOU,
                        decided_by="audit-320100",
                    ),
                    date(2026, 3, 2),
                ),
                NewEvent(
                    DirectSettlementSuspended(
                        person_id="9" * 20,  # not a person of ours: ignored, not dead-lettered
                        suspended_from=date(2026, 3, 2),
                        suspended_until=date(2026, 9, 1),
                        case_id=case,
                        insured_region="440300",
                        decided_by="audit-320100",
                    ),
                    date(2026, 3, 2),
                ),
            ],
        )
    relay = Relay(audit_engine, audit_store, kafka_settings, service="audit")
    await relay.ensure_checkpoint()
    kafka = producer(kafka_settings, client_id="audit-test")
    await kafka.start()
    try:
        assert await relay.publish_once(kafka) == 2
        [consumer] = [c for c in svc.context.runtime.consumers if c.name == audit_policy.NAME]
        assert await consumer.catch_up() == 2
        assert await consumer.catch_up() == 2  # redelivered: applied once

        person = (await svc.client.get(f"/v1/persons/{P1}", headers=svc.auth(SUZHOU))).json()
        assert person["audit_suspensions"] == [
            {"case_id": case, "from": "2026-03-02", "until": "2026-09-01"}
        ]
        async with audit_engine.begin() as conn:
            await audit_store.append(
                conn,
                f"case-{case}",
                2,
                [
                    NewEvent(
                        DirectSettlementSuspensionEnded(
                            person_id=P1,
                            case_id=case,
                            insured_region=SUZHOU,
                            ended_on=date(2026, 4, 1),
                            reason=SuspensionEndReason.LIFTED,
                        ),
                        date(2026, 4, 1),
                    )
                ],
            )
        assert await relay.publish_once(kafka) == 1
        await consumer.catch_up()
    finally:
        await kafka.stop()
        await audit_engine.dispose()

    assert await svc.event_types(f"person-{P1}") == [
        "filing.PersonEnrolled",
        "filing.BenefitsSuspended",
        "filing.BenefitsResumed",
    ]
    suspended = [p for s, t, _, p in await svc.events() if t == "filing.BenefitsSuspended"]
    assert suspended[0]["source"] == "audit"
    assert suspended[0]["case_id"] == case
    person = (await svc.client.get(f"/v1/persons/{P1}", headers=svc.auth(SUZHOU))).json()
    assert person["audit_suspensions"] == []
