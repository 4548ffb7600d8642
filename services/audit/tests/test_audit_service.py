"""The audit service against real PostgreSQL and the broker.

Settlement and filing facts are appended to producer-side event stores (their own databases),
published by the real relay to the namespace's topics and consumed by audit's consumers; audit's
own facts are published by its relay to `<ns>.audit.events` and read back from the broker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_audit import bootstrap
from yidi_audit.app.context import Audit
from yidi_events.auth.agency import issue_token
from yidi_events.contracts.filing import PersonDied
from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    SettlementCancelled,
    SettlementReversed,
    SettlementTotals,
    VisitSettled,
)
from yidi_events.db import make_engine
from yidi_events.envelope import Envelope
from yidi_events.kernel import SHANGHAI
from yidi_events.kernel.time import SystemClock
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.runtime.projection import rebuild_from_store
from yidi_events.runtime.relay import Relay
from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings
from yidi_events.store import EventStore, NewEvent
from yidi_events.store.schema import events
from yidi_events.topics import topic
from yidi_stack.paging_walk import walk_pages

VISIT_REGION = "320100"  # Nanjing: the visit place, which reviews
INSURED_REGION = "320500"  # Suzhou: the insured place
OTHER_REGION = "330100"  # Hangzhou: no part in any of this
HOSPITAL = "H32010000001"
SECRET = ServiceSettings().auth_secret.get_secret_value()
START = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)


def token(
    region: str, roles: tuple[str, ...] = ("reviewer",), kind: str = "agency"
) -> dict[str, str]:
    jwt = issue_token(SECRET, user_id=f"u-{region}", region=region, roles=roles, kind=kind)
    return {"Authorization": f"Bearer {jwt}"}


VISIT = token(VISIT_REGION)
INSURED = token(INSURED_REGION)
OTHER = token(OTHER_REGION)
CENTRE = token("320000", roles=("scheduler",), kind="centre")
GATEWAY = token(VISIT_REGION, roles=("his",), kind="service")


def totals(total_fee: int, fund_total: int) -> SettlementTotals:
    cash = total_fee - fund_total
    return SettlementTotals(
        total_fee=total_fee, fully_self_paid=0, over_limit=0, pre_self_paid=0,
        in_policy=total_fee, deductible_applied=0, basic_fund=fund_total, large_amount_fund=0,
        critical_illness_fund=0, civil_servant_subsidy=0, medical_assistance=0,
        fund_total=fund_total, account_paid=0, cash_paid=cash, personal_total=cash,
        hospital_borne=0,
    )  # fmt: skip


NO_MOVEMENT = AccumulatorMovement(
    policy_year=2026, inpatient_admissions=1, outpatient_deductible_used=0, eligible_cum=0,
    basic_paid_cum=0, supplementary_base_cum=0, supplementary_paid_cum=0, assistance_paid_cum=0,
    account_balance=0,
)  # fmt: skip


def settled(
    n: int,
    person: str,
    admitted: date,
    discharged: date,
    *,
    diagnosis: str = "J18.900",
    total_fee: int = 800_000,
    fund_total: int = 600_000,
) -> VisitSettled:
    return VisitSettled(
        settlement_id=f"S{n}", visit_id=f"V{n}", person_id=person,
        insured_region=INSURED_REGION, visit_region=VISIT_REGION, institution_code=HOSPITAL,
        clearing_agency=VISIT_REGION, clearing_category="21", insurance_type="310",
        medical_type="21", filing_kind="long_term", admitted_on=admitted, discharged_on=discharged,
        principal_diagnosis=diagnosis, totals=totals(total_fee, fund_total), fund_payments=(),
        account_balance_after=None, movement=NO_MOVEMENT, message_id=f"M{n}",
        settled_at=datetime.combine(discharged, time(10), SHANGHAI),
    )  # fmt: skip


@dataclass
class Producer:
    """A foreign service's event store and relay."""

    engine: AsyncEngine
    store: EventStore
    relay: Relay
    kafka: KafkaSettings

    async def emit(self, stream: str, *payloads: Any) -> list[Envelope]:
        async with self.engine.begin() as conn:
            version = len(await self.store.load(conn, stream))
            day = date(2026, 4, 1)
            return await self.store.append(
                conn, stream, version, [NewEvent(p, day) for p in payloads]
            )

    async def publish(self) -> int:
        kafka = producer(self.kafka, client_id=f"{self.store.producer}-test")
        await kafka.start()
        try:
            return await self.relay.publish_once(kafka)
        finally:
            await kafka.stop()


@dataclass
class Stack:
    app: FastAPI
    http: httpx.AsyncClient
    runtime: Runtime
    audit: Audit
    settlement: Producer
    filing: Producer
    kafka: KafkaSettings

    async def consume(self) -> None:
        for consumer in self.runtime.consumers:
            await consumer.catch_up()

    async def settle(self, *payloads: Any) -> None:
        for p in payloads:
            await self.settlement.emit(f"person-{p.person_id}", p)
        await self.settlement.publish()
        await self.consume()

    async def audit_events(self) -> list[Any]:
        async with self.runtime.engine.connect() as conn:
            rows = await conn.execute(sa.select(events.c.event_type).order_by(events.c.position))
            return list(rows.scalars())

    async def published(self) -> list[Envelope]:
        """Publish audit's backlog, then read every record of its topic back from the broker."""
        kafka = producer(self.kafka, client_id="audit-test")
        await kafka.start()
        try:
            await self.runtime.relay.publish_once(kafka)
        finally:
            await kafka.stop()
        name = topic("audit", self.kafka.namespace)
        reader = AIOKafkaConsumer(bootstrap_servers=self.kafka.bootstrap, enable_auto_commit=False)
        await reader.start()
        try:
            await reader._client.force_metadata_update()
            parts = [
                TopicPartition(name, p) for p in sorted(reader.partitions_for_topic(name) or ())
            ]
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

    async def set_clock(self, moment: datetime) -> None:
        response = await self.http.post("/v1/admin/clock", json={"now": moment.isoformat()})
        assert response.status_code == 200, response.text


async def _producer(database: Any, kafka: KafkaSettings, service: str) -> Producer:
    engine = make_engine(database())
    store = EventStore(service, SystemClock())
    relay = Relay(engine, store, kafka, service=service)
    await relay.ensure_checkpoint()
    return Producer(engine, store, relay, kafka)


@pytest.fixture
async def stack(database: Any, kafka_settings: KafkaSettings) -> AsyncIterator[Stack]:
    settings = ServiceSettings(
        database_url=database(bootstrap.MIGRATIONS),
        kafka_bootstrap=kafka_settings.bootstrap,
        kafka_namespace=kafka_settings.namespace,
        relay_enabled=False,
        consumers_enabled=False,
        clock="controlled",
        clock_start=START,
        log_json=False,
    )
    app = bootstrap.create(settings)
    settlement = await _producer(database, kafka_settings, "settlement")
    filing = await _producer(database, kafka_settings, "filing")
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        await runtime.relay.ensure_checkpoint()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit") as http:
            yield Stack(app, http, runtime, app.state.audit, settlement, filing, kafka_settings)
    await settlement.engine.dispose()
    await filing.engine.dispose()


PERSON = "32050000000000000001"
LATER = "32050000000000000002"
SPLIT = "audit.split_hospitalization"


async def _split_case(stack: Stack) -> dict[str, Any]:
    await stack.settle(
        settled(1, PERSON, date(2026, 3, 1), date(2026, 3, 10)),
        settled(2, PERSON, date(2026, 3, 25), date(2026, 3, 30), diagnosis="J18.000"),
    )
    (case,) = (await stack.http.get("/v1/cases", headers=VISIT)).json()
    return case


async def test_a_split_hospitalization_raises_a_flag_with_its_evidence_and_day_16_does_not(
    stack: Stack,
) -> None:
    await stack.settle(
        # Readmitted 15 days after discharge, same hospital, same category J18: a split.
        settled(1, PERSON, date(2026, 3, 1), date(2026, 3, 10)),
        settled(2, PERSON, date(2026, 3, 25), date(2026, 3, 30), diagnosis="J18.000"),
        # 16 days: outside the window.
        settled(3, LATER, date(2026, 3, 1), date(2026, 3, 10)),
        settled(4, LATER, date(2026, 3, 26), date(2026, 3, 30)),
    )
    flags = (await stack.http.get("/v1/flags", headers=VISIT)).json()
    assert [(f["rule_id"], f["person_id"]) for f in flags] == [(SPLIT, PERSON)]
    (flag,) = flags
    assert flag["settlement_ids"] == ["S1", "S2"]
    assert flag["rule_version"] == 1
    assert flag["amount_at_issue"] == 600_000
    assert {e["settlement_id"] for e in flag["evidence"]} == {"S1", "S2"}
    assert "15 days" in flag["detail"]
    (case,) = (await stack.http.get("/v1/cases", headers=INSURED)).json()
    assert (case["person_id"], case["status"], case["flag_ids"]) == (
        PERSON,
        "open",
        [flag["flag_id"]],
    )


async def test_the_same_facts_delivered_again_raise_nothing_twice(stack: Stack) -> None:
    await _split_case(stack)
    before = await stack.audit_events()
    assert before == ["audit.FlagRaised", "audit.CaseOpened"]

    await stack.settlement.relay.rewind()  # republished: same events at new offsets
    assert await stack.settlement.publish() == 2
    await stack.consume()
    # Even a consumer that forgot everything it applied re-evaluates without raising again.
    settlement_consumer = stack.runtime.consumers[0]
    await settlement_consumer.rebuild()

    assert await stack.audit_events() == before
    assert len((await stack.http.get("/v1/flags", headers=VISIT)).json()) == 1


async def test_a_confirmed_case_suspends_the_person_and_claws_back_through_audit_events(
    stack: Stack,
) -> None:
    case = await _split_case(stack)
    confirmed = await stack.http.post(
        f"/v1/cases/{case['case_id']}/confirm",
        headers=VISIT,
        json={"reason": "readmitted to split the DRG payment", "suspend": {"months": 3}},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    clawed = await stack.http.post(
        f"/v1/cases/{case['case_id']}/sanctions",
        headers=VISIT,
        json={"clawback": {"amount": 600_000, "settlement_ids": ["S2"]}},
    )
    assert clawed.status_code == 200, clawed.text

    published = {e.event_type: e.payload for e in await stack.published()}
    suspended = published["audit.DirectSettlementSuspended"]
    assert (suspended.person_id, suspended.insured_region) == (PERSON, INSURED_REGION)
    assert (suspended.suspended_from, suspended.suspended_until) == (
        date(2026, 4, 1),
        date(2026, 6, 30),
    )
    clawback = published["audit.ClawbackDecided"]
    assert (clawback.amount, clawback.settlement_ids) == (600_000, ("S2",))
    assert (clawback.insured_region, clawback.visit_region) == (INSURED_REGION, VISIT_REGION)

    too_much = await stack.http.post(
        f"/v1/cases/{case['case_id']}/sanctions",
        headers=VISIT,
        json={"clawback": {"amount": 1, "settlement_ids": ["S2"]}},
    )
    assert too_much.status_code == 422
    assert too_much.json()["error"]["rule"] == "audit.clawback.exceeds_fund_total"

    # The schedule ends the suspension the day after its last day, and says so.
    assert (await stack.http.post("/v1/suspensions/expire", headers=CENTRE)).json() == {"ended": 0}
    await stack.set_clock(datetime(2026, 7, 1, 1, 0, tzinfo=UTC))
    assert (await stack.http.post("/v1/suspensions/expire", headers=CENTRE)).json() == {"ended": 1}
    ended = [e for e in await stack.published() if e.event_type.endswith("SuspensionEnded")]
    assert [(e.payload.ended_on, str(e.payload.reason)) for e in ended] == [
        (date(2026, 7, 1), "expired")
    ]


async def test_a_refused_review_changes_nothing(stack: Stack) -> None:
    case = await _split_case(stack)
    before = await stack.audit_events()
    blank = await stack.http.post(
        f"/v1/cases/{case['case_id']}/confirm",
        headers=VISIT,
        json={"reason": "ok", "suspend": {"months": 13}},
    )
    assert blank.status_code == 422
    assert blank.json()["error"] == {
        "rule": "audit.suspension.person_months",
        "field": "months",
        "message": "a person suspension lasts 3 to 12 months, not 13",
    }
    # The insured place sees the case but the visit place reviews it.
    wrong = await stack.http.post(
        f"/v1/cases/{case['case_id']}/dismiss", headers=INSURED, json={"reason": "fine"}
    )
    assert wrong.status_code == 403
    assert await stack.audit_events() == before


async def test_another_regions_agency_cannot_see_or_touch_the_case(stack: Stack) -> None:
    case = await _split_case(stack)
    assert (await stack.http.get("/v1/cases", headers=OTHER)).json() == []
    assert (await stack.http.get("/v1/flags", headers=OTHER)).json() == []
    hidden = await stack.http.get(f"/v1/cases/{case['case_id']}", headers=OTHER)
    assert hidden.status_code == 404
    refused = await stack.http.post(
        f"/v1/cases/{case['case_id']}/confirm", headers=OTHER, json={"reason": "mine now"}
    )
    assert refused.status_code == 404
    assert (await stack.http.get(f"/v1/cases/{case['case_id']}", headers=VISIT)).status_code == 200


def _his_3101(admitted: str) -> dict[str, Any]:
    encounter = {
        "visit_id": "V-NEW", "person_id": PERSON, "institution_code": HOSPITAL,
        "visit_region": VISIT_REGION, "insured_region": INSURED_REGION, "insurance_type": "310",
        "medical_type": "21", "admitted_on": admitted, "discharged_on": admitted,
        "principal_diagnosis": "J18.100", "total_fee": 120_000, "fund_total": 0, "fee_lines": [],
    }  # fmt: skip
    return {
        "name": "encounters.analyse",
        "institution_code": HOSPITAL,
        "message_id": "MSG-3101",
        "visit_region": VISIT_REGION,
        "insured_region": INSURED_REGION,
        "command": {"rule_ids": None, "encounters": [encounter]},
    }


async def test_3101_warns_of_a_split_stay_and_writes_nothing(stack: Stack) -> None:
    await stack.settle(settled(1, PERSON, date(2026, 3, 1), date(2026, 3, 10)))
    before = await stack.audit_events()

    answer = await stack.http.post(
        "/v1/internal/his", headers=GATEWAY, json=_his_3101("2026-03-20")
    )
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["result"]["warnings"]
    assert (row["rule_id"], row["person_id"], row["visit_id"]) == (SPLIT, PERSON, "V-NEW")
    assert "S1" in row["evidence"]

    quiet = await stack.http.post("/v1/internal/his", headers=GATEWAY, json=_his_3101("2026-03-26"))
    assert quiet.json()["result"]["warnings"] == []
    assert await stack.audit_events() == before
    assert (await stack.http.get("/v1/flags", headers=VISIT)).json() == []

    agency = await stack.http.post("/v1/internal/his", headers=VISIT, json=_his_3101("2026-03-20"))
    assert agency.status_code == 403


async def test_settlement_after_death_and_a_cancelled_settlement_is_no_evidence(
    stack: Stack,
) -> None:
    await stack.settle(settled(1, PERSON, date(2026, 3, 1), date(2026, 3, 10)))
    first = settled(2, LATER, date(2026, 3, 1), date(2026, 3, 10))
    cancel = SettlementCancelled(
        settlement_id="S2-C", original_settlement_id="S2", visit_id="V2", person_id=LATER,
        insured_region=INSURED_REGION, visit_region=VISIT_REGION, institution_code=HOSPITAL,
        clearing_agency=VISIT_REGION, clearing_category="21", insurance_type="310",
        medical_type="21", totals=totals(800_000, 600_000).negated(), fund_payments=(),
        account_balance_after=None, movement=NO_MOVEMENT.negated(), message_id="MC",
        cancelled_at=datetime(2026, 3, 11, 9, tzinfo=SHANGHAI),
    )  # fmt: skip
    await stack.settle(first, cancel, settled(3, LATER, date(2026, 3, 20), date(2026, 3, 25)))
    assert (await stack.http.get("/v1/flags", headers=VISIT)).json() == []

    # The death is learnt after a visit that began after it.
    died = PersonDied(person_id=PERSON, death_date=date(2026, 2, 20), recorded_on=date(2026, 4, 1))
    await stack.filing.emit(f"person-{PERSON}", died)
    await stack.filing.publish()
    await stack.consume()
    (flag,) = (await stack.http.get("/v1/flags", headers=VISIT)).json()
    assert (flag["rule_id"], flag["settlement_ids"]) == ("audit.settled_after_death", ["S1"])


async def test_a_reversed_cancellation_makes_its_settlement_evidence_again(stack: Stack) -> None:
    # S2 is cancelled (2208), then the 2208 is reversed (2601): S2 stands again, so the
    # readmission ten days after it (S3) is a split stay with S2 as evidence.
    first = settled(2, LATER, date(2026, 3, 1), date(2026, 3, 10))
    cancel = SettlementCancelled(
        settlement_id="S2-C", original_settlement_id="S2", visit_id="V2", person_id=LATER,
        insured_region=INSURED_REGION, visit_region=VISIT_REGION, institution_code=HOSPITAL,
        clearing_agency=VISIT_REGION, clearing_category="21", insurance_type="310",
        medical_type="21", totals=totals(800_000, 600_000).negated(), fund_payments=(),
        account_balance_after=None, movement=NO_MOVEMENT.negated(), message_id="MC",
        cancelled_at=datetime(2026, 3, 11, 9, tzinfo=SHANGHAI),
    )  # fmt: skip
    reversal = SettlementReversed(
        person_id=LATER, institution_code=HOSPITAL, original_message_id="MC",
        reversed_transaction="2208", settlement_id="S2-C", message_id="MR",
        reversed_at=datetime(2026, 3, 11, 10, tzinfo=SHANGHAI), reinstated_settlement_id="S2",
    )  # fmt: skip
    await stack.settle(
        first, cancel, reversal, settled(3, LATER, date(2026, 3, 20), date(2026, 3, 25))
    )
    flags = (await stack.http.get("/v1/flags", headers=VISIT)).json()
    assert [(f["rule_id"], sorted(f["settlement_ids"])) for f in flags] == [(SPLIT, ["S2", "S3"])]


async def test_high_cost_admissions_make_the_batch_answered_and_confirmed(stack: Stack) -> None:
    await stack.settle(
        settled(5, PERSON, date(2026, 4, 1), date(2026, 4, 20), total_fee=3_000_000),
        settled(6, LATER, date(2026, 4, 1), date(2026, 4, 20), total_fee=2_999_999),
    )
    # 协查 is follow-up, not a suspicion: no case.
    assert (await stack.http.get("/v1/cases", headers=VISIT)).json() == []
    not_yet = await stack.http.post("/v1/investigations/build", headers=CENTRE)
    assert not_yet.status_code == 422
    assert not_yet.json()["error"]["rule"] == "audit.investigation.build_day"

    await stack.set_clock(datetime(2026, 4, 26, 0, 0, tzinfo=SHANGHAI))
    built = await stack.http.post("/v1/investigations/build", headers=CENTRE)
    assert built.status_code == 200, built.text
    assert (built.json()["window_from"], built.json()["window_to"]) == ("2026-03-26", "2026-04-25")
    again = await stack.http.post("/v1/investigations/build", headers=CENTRE)
    assert again.json()["error"]["rule"] == "audit.investigation.batch_immutable"
    items = (await stack.http.get("/v1/investigations/2026-04", headers=VISIT)).json()["items"]
    assert [i["settlement_id"] for i in items] == ["S5"]
    assert (await stack.http.get("/v1/investigations/2026-04", headers=OTHER)).json()["items"] == []

    path = "/v1/investigations/2026-04/items/S5"
    no_reason = await stack.http.post(
        f"{path}/answer", headers=VISIT, json={"result": "issue_found"}
    )
    assert no_reason.json()["error"]["rule"] == "audit.investigation.reason_required"
    wrong = await stack.http.post(f"{path}/answer", headers=INSURED, json={"result": "no_issue"})
    assert wrong.status_code == 403
    ok = await stack.http.post(f"{path}/answer", headers=VISIT, json={"result": "no_issue"})
    assert ok.status_code == 200, ok.text
    by_visit = await stack.http.post(f"{path}/confirm", headers=VISIT)
    assert by_visit.status_code == 403
    confirmed = await stack.http.post(f"{path}/confirm", headers=INSURED)
    assert confirmed.status_code == 200, confirmed.text
    (item,) = (await stack.http.get("/v1/investigations/2026-04", headers=INSURED)).json()["items"]
    # Answered Sunday 26 April: Mon 27 - Thu 30 April, then (1-5 May: Labour Day) Wed 6 May.
    assert (item["result"], item["automatic"], item["confirm_by"]) == (
        "no_issue",
        False,
        "2026-05-06",
    )


async def test_an_answer_nobody_confirms_is_confirmed_after_five_working_days(stack: Stack) -> None:
    await stack.settle(settled(5, PERSON, date(2026, 4, 1), date(2026, 4, 20), total_fee=4_000_000))
    await stack.set_clock(datetime(2026, 4, 26, 0, 0, tzinfo=SHANGHAI))
    assert (await stack.http.post("/v1/investigations/build", headers=CENTRE)).status_code == 200
    path = "/v1/investigations/2026-04/items/S5/answer"
    answer = {"result": "issue_found", "reason": "bed days billed twice"}
    assert (await stack.http.post(path, headers=VISIT, json=answer)).status_code == 200
    # Answered Sunday 04-26: five working days are Mon 27 - Thu 30 April and, the Labour Day
    # holiday (1-5 May) not counting, Wednesday 6 May: still the insured place's day.
    await stack.set_clock(datetime(2026, 5, 6, 9, 0, tzinfo=SHANGHAI))
    assert (await stack.http.post("/v1/auto-confirm", headers=CENTRE)).json() == {"confirmed": 0}
    assert (await stack.http.get("/v1/overdue", headers=INSURED)).json() == []
    await stack.set_clock(datetime(2026, 5, 7, 9, 0, tzinfo=SHANGHAI))
    late = (await stack.http.get("/v1/overdue", headers=INSURED)).json()
    assert [(o["step"], o["waiting_on"]) for o in late] == [("confirm", INSURED_REGION)]
    assert (await stack.http.post("/v1/auto-confirm", headers=CENTRE)).json() == {"confirmed": 1}
    (item,) = (await stack.http.get("/v1/investigations/2026-04", headers=VISIT)).json()["items"]
    assert (item["automatic"], item["confirmed_on"]) == (True, "2026-05-07")


async def test_tickets_and_complaints_run_their_course(stack: Stack) -> None:
    await stack.set_clock(datetime(2026, 4, 6, 9, 0, tzinfo=SHANGHAI))  # Monday
    raised = await stack.http.post(
        "/v1/tickets",
        headers=INSURED,
        json={"kind": "filing", "receiver_region": VISIT_REGION, "subject": "filing not seen"},
    )
    assert raised.status_code == 201, raised.text
    ticket = raised.json()
    assert ticket["reply_by"] == "2026-04-08"
    tid = ticket["ticket_id"]
    assert (await stack.http.get(f"/v1/tickets/{tid}", headers=OTHER)).status_code == 404
    self_reply = await stack.http.post(
        f"/v1/tickets/{tid}/reply", headers=INSURED, json={"answer": "x"}
    )
    assert self_reply.status_code == 403
    await stack.set_clock(datetime(2026, 4, 9, 9, 0, tzinfo=SHANGHAI))
    late = (await stack.http.get("/v1/overdue", headers=VISIT)).json()
    assert [(o["kind"], o["step"], o["item_id"]) for o in late] == [("ticket", "reply", tid)]
    replied = await stack.http.post(
        f"/v1/tickets/{tid}/reply", headers=VISIT, json={"answer": "re-sent the filing"}
    )
    assert (replied.json()["status"], replied.json()["late"]) == ("replied", True)
    await stack.set_clock(datetime(2026, 4, 24, 9, 0, tzinfo=SHANGHAI))
    assert (await stack.http.post("/v1/auto-confirm", headers=CENTRE)).json() == {"confirmed": 1}
    assert (await stack.http.get(f"/v1/tickets/{tid}", headers=VISIT)).json()["automatic"] is True

    received = await stack.http.post(
        "/v1/complaints",
        headers=VISIT,
        json={"summary": "refused at the counter", "channel": "12393"},
    )
    assert received.status_code == 201, received.text
    cid = received.json()["complaint_id"]
    premature = await stack.http.post(
        f"/v1/complaints/{cid}/resolve", headers=VISIT, json={"outcome": "x"}
    )
    assert premature.status_code == 409
    assert premature.json()["error"]["rule"] == "audit.complaint.not_acknowledged"
    for step, body in (
        ("acknowledge", None),
        ("resolve", {"outcome": "counter staff retrained; settled directly"}),
        ("notify", {"channel": "phone"}),
    ):
        done = await stack.http.post(f"/v1/complaints/{cid}/{step}", headers=VISIT, json=body)
        assert done.status_code == 200, done.text
    final = (await stack.http.get(f"/v1/complaints/{cid}", headers=VISIT)).json()
    assert (final["status"], final["notified_channel"]) == ("notified", "phone")
    assert (await stack.http.get(f"/v1/complaints/{cid}", headers=INSURED)).status_code == 404


async def test_the_read_models_rebuilt_from_the_store_equal_the_live_ones(stack: Stack) -> None:
    case = await _split_case(stack)
    await stack.http.post(
        f"/v1/cases/{case['case_id']}/confirm",
        headers=VISIT,
        json={"reason": "split", "suspend": {"months": 6}, "clawback": {"amount": 100_000}},
    )
    await stack.http.post(
        "/v1/tickets",
        headers=INSURED,
        json={"kind": "other", "receiver_region": VISIT_REGION, "subject": "why"},
    )
    own = stack.audit.own
    async with stack.runtime.engine.connect() as conn:
        live = await own.snapshot(conn)
    assert live["audit_clawbacks"]
    assert live["audit_suspensions"]
    assert live["audit_tickets"]
    await rebuild_from_store(stack.runtime.engine, stack.runtime.store, own)
    async with stack.runtime.engine.connect() as conn:
        assert await own.snapshot(conn) == live


async def test_a_suspicion_suspends_reports_to_both_and_a_dismissal_lifts_it(stack: Stack) -> None:
    case = await _split_case(stack)
    path = f"/v1/cases/{case['case_id']}/suspicion"
    refused = await stack.http.post(path, headers=INSURED, json={"suspicion": "x"})
    assert refused.status_code == 403
    assert refused.json()["error"]["rule"] == "audit.case.wrong_agency"
    suspected = await stack.http.post(
        path, headers=VISIT, json={"suspicion": "readmitted 15 days after discharge"}
    )
    assert suspected.status_code == 200, suspected.text
    (report,) = suspected.json()["suspicion_reports"]
    # From Wednesday 1 April: 2, 3 (2), Monday 6 off (Qingming), 7-10 (6), 13-16 (10).
    assert (report["reported_on"], report["review_by"]) == ("2026-04-01", "2026-04-16")
    again = await stack.http.post(path, headers=VISIT, json={"suspicion": "again"})
    assert again.status_code == 409
    assert again.json()["error"]["rule"] == "audit.suspicion.already_reported"

    # The insured place and the centre see the report; an uninvolved city does not.
    for reader in (INSURED, CENTRE):
        (seen,) = (await stack.http.get("/v1/suspicion-reports", headers=reader)).json()
        assert (seen["person_id"], seen["centre_region"]) == (PERSON, "320000")
        assert {e["settlement_id"] for e in seen["evidence"]} == {"S1", "S2"}
    assert (await stack.http.get("/v1/suspicion-reports", headers=OTHER)).json() == []
    (interim,) = (await stack.http.get("/v1/suspensions?active=true", headers=INSURED)).json()
    assert (interim["interim"], interim["suspended_until"]) == (True, "2026-04-16")

    await stack.set_clock(datetime(2026, 4, 3, 1, 0, tzinfo=UTC))
    dismissed = await stack.http.post(
        f"/v1/cases/{case['case_id']}/dismiss", headers=VISIT, json={"reason": "a new pneumonia"}
    )
    assert dismissed.status_code == 200, dismissed.text
    published = [(e.event_type, e.payload) for e in await stack.published()]
    kinds = [k for k, _ in published]
    assert kinds[-4:] == [
        "audit.DirectSettlementSuspended",
        "audit.SuspicionReported",
        "audit.CaseDismissed",
        "audit.DirectSettlementSuspensionEnded",
    ]
    ended = published[-1][1]
    # Void as from its first day: a visit begun while it ran settles directly too.
    assert (ended.ended_on, str(ended.reason)) == (date(2026, 4, 1), "lifted")
    assert (await stack.http.get("/v1/suspensions?active=true", headers=VISIT)).json() == []

    own = stack.audit.own
    async with stack.runtime.engine.connect() as conn:
        live = await own.snapshot(conn)
    assert live["audit_suspicion_reports"]
    await rebuild_from_store(stack.runtime.engine, stack.runtime.store, own)
    async with stack.runtime.engine.connect() as conn:
        assert await own.snapshot(conn) == live


def _line(no: str, day: date, code: str = "X001", category: str = "09") -> Any:
    from decimal import Decimal

    from yidi_events.contracts.settlement import FeeLineSplit, ItemClass

    return FeeLineSplit(
        fee_line_no=no, catalogue_code=code, hospital_item_code=None, charge_category=category,
        fee_date=day, quantity=Decimal("1"), unit_price=Decimal("120.00"), amount=12_000,
        item_class=ItemClass.A, fully_self_paid=0, over_limit=0, pre_self_paid=0,
        in_policy=12_000,
    )  # fmt: skip


async def test_uploaded_fee_lines_reach_the_rules_and_count_once_per_settlement(
    stack: Stack,
) -> None:
    from yidi_events.contracts.settlement import FeeLinesUploaded

    day = date(2026, 3, 2)
    uploaded = FeeLinesUploaded(
        visit_id="V1",
        person_id=PERSON,
        institution_code=HOSPITAL,
        lines=(_line("1", day), _line("2", day)),  # the same item twice on one day
        uploaded_at=datetime(2026, 3, 2, 18, tzinfo=SHANGHAI),
    )
    mid_stay = settled(1, PERSON, date(2026, 3, 1), date(2026, 3, 10))
    await stack.settle(uploaded, mid_stay)
    (flag,) = (await stack.http.get("/v1/flags", headers=VISIT)).json()
    assert (flag["rule_id"], flag["settlement_ids"]) == ("audit.duplicate_charging", ["S1"])

    # A second settlement of the same visit with a different line raises nothing new.
    more = FeeLinesUploaded(
        visit_id="V1",
        person_id=PERSON,
        institution_code=HOSPITAL,
        lines=(_line("3", date(2026, 3, 11), code="Y002"),),
        uploaded_at=datetime(2026, 3, 11, 18, tzinfo=SHANGHAI),
    )
    second = settled(7, PERSON, date(2026, 3, 1), date(2026, 3, 12))
    second = VisitSettled(**{**second.__dict__, "visit_id": "V1"})
    await stack.settle(more, second)
    assert len((await stack.http.get("/v1/flags", headers=VISIT)).json()) == 1


async def test_the_fee_review_deducts_line_by_line_once_and_publishes_the_deduction(
    stack: Stack,
) -> None:
    from yidi_events.contracts.settlement import FeeLinesUploaded

    day = date(2026, 3, 2)
    uploaded = FeeLinesUploaded(
        visit_id="V1",
        person_id=PERSON,
        institution_code=HOSPITAL,
        lines=(_line("1", day), _line("2", day, code="Y002")),
        uploaded_at=datetime(2026, 3, 2, 18, tzinfo=SHANGHAI),
    )
    # 180.00 yuan from the funds on two lines of 120.00 yuan in-policy each: 90.00 yuan each.
    stay = settled(
        1, PERSON, date(2026, 3, 1), date(2026, 3, 10), total_fee=24_000, fund_total=18_000
    )
    await stack.settle(uploaded, stay)

    view = await stack.http.get("/v1/fee-review/settlements/S1", headers=VISIT)
    assert view.status_code == 200, view.text
    assert [(x["fee_line_id"], x["fund_carried"], x["deducted"]) for x in view.json()["lines"]] == [
        ("1", 9_000, 0),
        ("2", 9_000, 0),
    ]
    assert (await stack.http.get("/v1/fee-review/settlements/S1", headers=OTHER)).status_code == 404

    body = {
        "reference": "FR-2026-03-001",
        "lines": [{"fee_line_id": "1", "amount": 4_000}, {"fee_line_id": "2"}],
        "reason": "超标准收费",
        "evidence": "物价文件 苏价医〔2026〕1号",
    }
    path = "/v1/fee-review/settlements/S1/deductions"
    before = await stack.audit_events()
    for refused, rule, field in [
        ({**body, "lines": [{"fee_line_id": "1", "amount": 9_001}]}, "exceeds_line_fund", "amount"),
        ({**body, "lines": [{"fee_line_id": "7"}]}, "line_unknown", "fee_line_id"),
        ({**body, "evidence": " "}, "evidence_required", "evidence"),
    ]:
        answer = await stack.http.post(path, headers=VISIT, json=refused)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["rule"] == f"audit.fee_review.{rule}"
        assert answer.json()["error"]["field"] == field
    unknown = await stack.http.post(
        "/v1/fee-review/settlements/S9/deductions", headers=VISIT, json=body
    )
    assert unknown.status_code == 404
    assert (await stack.http.post(path, headers=INSURED, json=body)).status_code == 403
    assert await stack.audit_events() == before  # nothing changed

    done = await stack.http.post(path, headers=VISIT, json=body)
    assert done.status_code == 201, done.text
    assert (done.json()["amount"], done.json()["source"]) == (13_000, "fee_review")
    again = await stack.http.post(path, headers=VISIT, json=body)  # a retry
    assert (again.status_code, again.json()) == (201, done.json())
    twice = await stack.http.post(
        path,
        headers=VISIT,
        json={**body, "reference": "FR-2026-03-002", "lines": [{"fee_line_id": "1", "amount": 1}]},
    )
    assert twice.status_code == 409
    assert twice.json()["error"]["rule"] == "audit.fee_review.line_already_deducted"

    published = [
        e.payload for e in await stack.published() if e.event_type == "audit.FeeDeductionDecided"
    ]
    assert [
        (p.deduction_id, p.amount, [(x.fee_line_id, x.amount) for x in p.lines]) for p in published
    ] == [("S1-FR-2026-03-001", 13_000, [("1", 4_000), ("2", 9_000)])]
    (seen,) = (await stack.http.get("/v1/fee-deductions", headers=INSURED)).json()
    assert seen["deduction_id"] == "S1-FR-2026-03-001"
    view = (await stack.http.get("/v1/fee-review/settlements/S1", headers=VISIT)).json()
    assert [x["deducted"] for x in view["lines"]] == [4_000, 9_000]

    own = stack.audit.own
    async with stack.runtime.engine.connect() as conn:
        live = await own.snapshot(conn)
    assert live["audit_fee_deductions"]
    await rebuild_from_store(stack.runtime.engine, stack.runtime.store, own)
    async with stack.runtime.engine.connect() as conn:
        assert await own.snapshot(conn) == live


async def test_an_issue_found_in_a_协查_deducts_the_fund_money_of_the_lines_named(
    stack: Stack,
) -> None:
    from yidi_events.contracts.settlement import FeeLinesUploaded

    day = date(2026, 4, 2)
    uploaded = FeeLinesUploaded(
        visit_id="V5",
        person_id=PERSON,
        institution_code=HOSPITAL,
        lines=(_line("1", day), _line("2", day, code="Y002"), _line("3", day, code="Z003")),
        uploaded_at=datetime(2026, 4, 2, 18, tzinfo=SHANGHAI),
    )
    # A high-cost admission whose three lines of 120.00 yuan in-policy shared 300.00 yuan of
    # fund money: 100.00 yuan each.
    stay = settled(
        5, PERSON, date(2026, 4, 1), date(2026, 4, 20), total_fee=3_000_000, fund_total=30_000
    )
    await stack.settle(uploaded, stay)
    await stack.set_clock(datetime(2026, 4, 26, 0, 0, tzinfo=SHANGHAI))
    assert (await stack.http.post("/v1/investigations/build", headers=CENTRE)).status_code == 200

    path = "/v1/investigations/2026-04/items/S5/answer"
    answer = {
        "result": "issue_found",
        "reason": "串换项目",
        "deductions": [{"fee_line_id": "3", "amount": 10_001}],
    }
    before = await stack.audit_events()
    too_much = await stack.http.post(path, headers=VISIT, json=answer)
    assert too_much.json()["error"]["rule"] == "audit.fee_review.exceeds_line_fund"
    no_issue = await stack.http.post(path, headers=VISIT, json={**answer, "result": "no_issue"})
    assert no_issue.json()["error"]["rule"] == "audit.investigation.deduction_without_issue"
    assert await stack.audit_events() == before  # neither the answer nor a deduction

    answer["deductions"] = [{"fee_line_id": "3"}]
    ok = await stack.http.post(path, headers=VISIT, json=answer)
    assert ok.status_code == 200, ok.text
    (decided,) = [
        e.payload for e in await stack.published() if e.event_type == "audit.FeeDeductionDecided"
    ]
    assert (decided.source, decided.settlement_id, decided.amount) == ("assist_check", "S5", 10_000)
    assert decided.reason == "串换项目"
    (seen,) = (await stack.http.get("/v1/fee-deductions", headers=INSURED)).json()
    assert (seen["deduction_id"], seen["source"]) == ("S5-assist-check-2026-04", "assist_check")


async def _walk(stack: Stack, url: str) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = await walk_pages(stack.http, url, VISIT)
    return pages


async def test_tickets_and_complaints_are_walked_a_page_at_a_time_each_once(stack: Stack) -> None:
    raised: dict[str, list[str]] = {"tickets": [], "complaints": []}
    for day, hour in ((7, 9), (7, 10), (8, 9)):  # two on Tuesday, one on Wednesday
        await stack.set_clock(datetime(2026, 4, day, hour, 0, tzinfo=SHANGHAI))
        ticket = await stack.http.post(
            "/v1/tickets",
            headers=INSURED,
            json={"kind": "filing", "receiver_region": VISIT_REGION, "subject": "not seen"},
        )
        assert ticket.status_code == 201, ticket.text
        raised["tickets"].append(ticket.json()["ticket_id"])
        complaint = await stack.http.post(
            "/v1/complaints", headers=VISIT, json={"summary": "refused", "channel": "12393"}
        )
        assert complaint.status_code == 201, complaint.text
        raised["complaints"].append(complaint.json()["complaint_id"])

    for path, key in (("/v1/tickets", "ticket_id"), ("/v1/complaints", "complaint_id")):
        pages = await _walk(stack, f"{path}?limit=2")
        assert [len(p) for p in pages] == [2, 1]
        walked = [x[key] for page in pages for x in page]
        # By day, then by id within a day; every item once.
        tuesday, wednesday = (
            raised[path.removeprefix("/v1/")][:2],
            raised[path.removeprefix("/v1/")][2],
        )
        assert walked == [*sorted(tuesday), wednesday]
        whole = await stack.http.get(path, headers=VISIT)
        assert "link" not in whole.headers
        assert whole.json() == [x for page in pages for x in page]

    bad = await stack.http.get("/v1/tickets?cursor=WzFd", headers=VISIT)  # [1]
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["field"] == "cursor"
