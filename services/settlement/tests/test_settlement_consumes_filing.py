"""Filing and audit facts reach the settlement side over the real broker, through the wired
Subscription; a suspension published by audit then refuses a registration, a sanction on one
department only that department's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from yidi_events.contracts.audit import DepartmentSuspended, DirectSettlementSuspended
from yidi_events.contracts.filing import (
    EnrolmentStatus,
    FilingApproved,
    FilingChannel,
    InsuranceType,
    PersonEnrolledV1,
)
from yidi_events.contracts.policy import FilingKind
from yidi_events.db import make_engine
from yidi_events.kernel.time import SystemClock
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.runtime.relay import Relay
from yidi_events.store import EventStore, NewEvent
from yidi_settlement.adapters.tables import filings, person_identities, persons

START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
PERSON = "32050000000000000042"


async def publish(
    dsn: str, service: str, kafka: KafkaSettings, stream: str, payloads: list[Any]
) -> None:
    engine = make_engine(dsn)
    store = EventStore(service, SystemClock())
    try:
        async with engine.begin() as conn:
            loaded = await store.load(conn, stream)
            await store.append(
                conn, stream, len(loaded), [NewEvent(p, date(2026, 3, 1)) for p in payloads]
            )
        relay = Relay(engine, store, kafka, service=service)
        await relay.ensure_checkpoint()
        kafka_producer = producer(kafka, client_id="test")
        await kafka_producer.start()
        try:
            while await relay.publish_once(kafka_producer):
                pass
        finally:
            await kafka_producer.stop()
    finally:
        await engine.dispose()


async def test_filing_and_audit_facts_arrive_through_the_subscription(
    make_harness: Any, database: Any
) -> None:
    async with make_harness(START) as h:
        kafka = h.runtime.settings.kafka()
        from yidi_events.runtime.kafka import ensure_topics

        await ensure_topics(kafka)
        enrolled = PersonEnrolledV1(
            person_id=PERSON,
            insured_region="320500",
            insurance_type=InsuranceType.EMPLOYEE,
            person_category="1101",
            civil_servant=False,
            assistance_identities=(),
            name="测试",
            certificate_type="01",
            certificate_no="320500199001010042",
            gender="1",
            birth_date=date(1990, 1, 1),
            card_serial=None,
            account_balance=100_00,
            enrolment_status=EnrolmentStatus.ACTIVE,
            enrolled_on=date(2020, 1, 1),
        )
        filing = FilingApproved(
            filing_id="F42",
            person_id=PERSON,
            kind=FilingKind.LONG_TERM,
            long_term_type=None,
            insured_region="320500",
            visit_region="320100",
            destination_institution=None,
            diagnosis=None,
            valid_from=date(2026, 1, 1),
            valid_to=None,
            promise_based=False,
            channel=FilingChannel.COUNTER,
            approved_on=date(2026, 1, 1),
            reviewer=None,
        )
        await publish(database(), "filing", kafka, f"person-{PERSON}", [enrolled, filing])
        suspension = DirectSettlementSuspended(
            person_id=PERSON,
            suspended_from=date(2026, 3, 1),
            suspended_until=date(2026, 6, 30),
            case_id="C1",
            insured_region="320500",
            decided_by="auditor",
        )
        await publish(database(), "audit", kafka, f"case-{PERSON}", [suspension])
        consumer = h.runtime.consumers[0]
        # Filing's two stored facts go out as three records (the enrolment without identity,
        # its identity on the identity topic, the filing), plus audit's suspension.
        assert await consumer.catch_up() == 4
        async with h.runtime.engine.connect() as conn:
            assert await conn.scalar(sa.select(persons.c.account_balance)) == 100_00
            assert await conn.scalar(sa.select(person_identities.c.certificate_no)) == (
                "320500199001010042"
            )
            assert await conn.scalar(sa.select(filings.c.filing_id)) == "F42"
        await h.hospital("H32010000001", "320100", "3")
        answer = await h.his(
            "2201",
            {
                "data": {
                    "psn_no": PERSON,
                    "insutype": "310",
                    "begntime": "2026-03-10 09:00:00",
                    "mdtrt_cert_type": "02",
                    "mdtrt_cert_no": "320500199001010042",
                }
            },
            "H32010000001",
        )
        assert answer["infcode"] == -1
        assert "eligibility.direct_settlement_suspended" in answer["err_msg"]
        # Redelivery changes nothing.
        assert await consumer.catch_up() == 4
        async with h.runtime.engine.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(persons)) == 1


async def test_a_sanction_on_one_department_refuses_that_departments_visits_only(
    make_harness: Any, database: Any
) -> None:
    person = "32050000000000000043"
    async with make_harness(START) as h:
        kafka = h.runtime.settings.kafka()
        from yidi_events.runtime.kafka import ensure_topics

        await ensure_topics(kafka)
        enrolled = PersonEnrolledV1(
            person_id=person, insured_region="320500", insurance_type=InsuranceType.EMPLOYEE,
            person_category="1101", civil_servant=False, assistance_identities=(), name="测试",
            certificate_type="01", certificate_no="320500199001010043", gender="1",
            birth_date=date(1990, 1, 1), card_serial=None, account_balance=100_00,
            enrolment_status=EnrolmentStatus.ACTIVE, enrolled_on=date(2020, 1, 1),
        )  # fmt: skip
        filing = FilingApproved(
            filing_id="F43", person_id=person, kind=FilingKind.LONG_TERM, long_term_type=None,
            insured_region="320500", visit_region="320100", destination_institution=None,
            diagnosis=None, valid_from=date(2026, 1, 1), valid_to=None, promise_based=False,
            channel=FilingChannel.COUNTER, approved_on=date(2026, 1, 1), reviewer=None,
        )  # fmt: skip
        await publish(database(), "filing", kafka, f"person-{person}", [enrolled, filing])
        sanction = DepartmentSuspended(
            institution_code="H32010000001",
            department="A01",
            visit_region="320100",
            suspended_from=date(2026, 3, 1),
            suspended_until=date(2026, 8, 31),
            case_id="C7",
            decided_by="auditor",
        )
        await publish(database(), "audit", kafka, "case-C7", [sanction])
        await h.runtime.consumers[0].catch_up()
        await h.hospital("H32010000001", "320100", "3")

        def registration(department: str) -> dict[str, Any]:
            return {
                "data": {
                    "psn_no": person,
                    "insutype": "310",
                    "begntime": "2026-03-10 09:00:00",
                    "mdtrt_cert_type": "02",
                    "mdtrt_cert_no": "320500199001010043",
                    "dept_code": department,
                    "dept_name": "科室",
                }
            }

        refused = await h.his("2201", registration("A01"), "H32010000001")
        assert refused["infcode"] == -1
        assert refused["err_msg"] == (
            "dept_code：该定点机构此科室的异地直接结算已暂停（稽核决定），"
            "机构 H32010000001，科室 A01（eligibility.department_suspended）"
        )
        # The hospital's other departments settle as before.
        other = await h.his("2201", registration("B02"), "H32010000001")
        assert other["infcode"] == 0, other
