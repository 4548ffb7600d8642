"""Issue 9, faults: the whole platform as processes, killed with SIGKILL at the worst moments
(crash points armed through YIDI_FAILPOINTS, see yidi_events.failpoints), the broker restarted with
its memory lost, PostgreSQL stopped under a consuming service. After each: nothing lost, nothing
counted twice, nothing healthy dead-lettered; at the end every projection of every service equals
a fold of the event stores.

The tests run in file order on one platform and each leaves it healthy for the next.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from typing import Any

import asyncpg
import httpx
import pytest

from yidi_cli import topics as tops
from yidi_cli.his import HisError
from yidi_events.runtime.kafka import KafkaSettings
from yidi_events.runtime.rebuilds import projections, rebuild
from yidi_events.topics import dlq, topic
from yidi_stack.embedded import free_port
from yidi_stack.flows import outpatient, registered_outpatient
from yidi_stack.infra import run_sync
from yidi_stack.platform import SERVICES

pytestmark = pytest.mark.e2e

VISIT = [
    {"code": "XA001", "cnt": "2", "pric": "35.00", "amount": "70.00"},
    {"code": "XB002", "cnt": "1", "pric": "200.00", "amount": "200.00"},
]
HOSPITAL = "H32010000001"
RECON_CONSUMER = "reconciliation.settlements"


def query(world: Any, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(world.platform.dsn(service))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return run_sync(fetch())


def settled_events(world: Any, visit_id: str) -> list[dict[str, Any]]:
    rows = query(
        world,
        "settlement",
        "SELECT payload FROM events WHERE event_type = 'settlement.VisitSettled'"
        " AND payload->>'visit_id' = $1",
        visit_id,
    )
    return [json.loads(r["payload"]) for r in rows]


def reconciled(world: Any, settlement_id: str) -> int:
    rows = query(
        world,
        "reconciliation",
        "SELECT count(*) AS n FROM settlement_records WHERE settlement_id = $1",
        settlement_id,
    )
    return int(rows[0]["n"])


def applied_once(world: Any, event_ids: list[str]) -> None:
    """Each event applied by reconciliation's consumer exactly once, by its own bookkeeping."""
    rows = query(
        world,
        "reconciliation",
        "SELECT event_id::text AS id, count(*) AS n FROM consumed_events"
        " WHERE consumer = $1 AND event_id = ANY($2::uuid[]) GROUP BY event_id",
        RECON_CONSUMER,
        event_ids,
    )
    assert {r["id"]: r["n"] for r in rows} == dict.fromkeys(event_ids, 1)


def events_of_visit(world: Any, visit_id: str) -> list[str]:
    rows = query(
        world,
        "settlement",
        "SELECT event_id::text AS id FROM events WHERE payload->>'visit_id' = $1",
        visit_id,
    )
    return [r["id"] for r in rows]


def settled_event_ids(world: Any, settlement_ids: list[str]) -> list[str]:
    rows = query(
        world,
        "settlement",
        "SELECT event_id::text AS id FROM events WHERE event_type = 'settlement.VisitSettled'"
        " AND payload->>'settlement_id' = ANY($1::text[])",
        settlement_ids,
    )
    return [r["id"] for r in rows]


def on_topic(world: Any, event_ids: list[str]) -> dict[str, int]:
    """How many times each event was published on settlement's topic."""
    kafka = KafkaSettings(world.platform.broker.bootstrap)
    records = run_sync(tops.read(kafka, topic("settlement"), from_beginning=True, limit=None))
    wanted = set(event_ids)
    seen = dict.fromkeys(event_ids, 0)
    for record in records:
        event_id = dict(record.headers or ()).get("event_id", b"").decode()
        if event_id in wanted:
            seen[event_id] += 1
    return seen


def send_and_crash(world: Any, his: Any, envelope: dict[str, Any], service: str) -> None:
    with pytest.raises(httpx.TransportError):
        his.send(envelope)
    world.platform.wait_exited(service)


@pytest.fixture(scope="module")
def his(world: Any) -> Any:
    return world.his(HOSPITAL)


def test_a_crash_after_the_settlement_commits_keeps_it_once_and_the_retry_gets_the_stored_answer(
    world: Any, sandbox_persons: Any, his: Any
) -> None:
    person = sandbox_persons["1"]
    settle = registered_outpatient(his, person, VISIT)
    visit_id = settle["data"]["mdtrt_id"]
    world.platform.restart_service("settlement", {"YIDI_FAILPOINTS": "gateway.after_commit.2207"})
    envelope = his.envelope("2207", settle, person["insuplc_admdvs"])

    send_and_crash(world, his, envelope, "settlement")
    committed = settled_events(world, visit_id)
    assert len(committed) == 1  # the settlement committed; only the answer was lost

    world.platform.restart_service("settlement")
    answer = his.send(envelope)  # the HIS retries with the same msgid
    assert answer["infcode"] == 0, answer
    assert answer["output"]["setlinfo"]["setl_id"] == committed[0]["settlement_id"]
    assert settled_events(world, visit_id) == committed
    world.eventually(
        lambda: reconciled(world, committed[0]["settlement_id"]) == 1, what="reconciled once"
    )


def test_a_crash_before_the_settlement_commits_leaves_nothing_and_the_retry_settles_once(
    world: Any, sandbox_persons: Any, his: Any
) -> None:
    person = sandbox_persons["2"]
    settle = registered_outpatient(his, person, VISIT)
    visit_id = settle["data"]["mdtrt_id"]
    world.platform.restart_service("settlement", {"YIDI_FAILPOINTS": "gateway.before_commit.2207"})
    envelope = his.envelope("2207", settle, person["insuplc_admdvs"])

    send_and_crash(world, his, envelope, "settlement")
    assert settled_events(world, visit_id) == []  # the transaction died with the process
    message_id = envelope["msgid"]
    assert not query(world, "settlement", "SELECT 1 FROM idempotency WHERE key = $1", message_id)

    world.platform.restart_service("settlement")
    answer = his.send(envelope)
    assert answer["infcode"] == 0, answer
    [settled] = settled_events(world, visit_id)
    assert answer["output"]["setlinfo"]["setl_id"] == settled["settlement_id"]
    again = his.send(envelope)  # and a second retry gets the same stored answer
    assert again["output"] == answer["output"]
    world.eventually(
        lambda: reconciled(world, settled["settlement_id"]) == 1, what="reconciled once"
    )


def test_a_relay_killed_after_publishing_before_its_checkpoint_republishes_and_nothing_counts_twice(
    world: Any, sandbox_persons: Any, his: Any
) -> None:
    # Settle with the relay off, so the visit's events are the next batch the relay sends.
    world.platform.restart_service("settlement", {"YIDI_RELAY_ENABLED": "false"})
    person = sandbox_persons["3"]
    setlinfo = outpatient(his, person, VISIT)
    event_ids = events_of_visit(world, setlinfo["mdtrt_id"])
    assert len(event_ids) >= 3  # registered, fee lines, settled (and accumulators)

    world.platform.restart_service(
        "settlement", {"YIDI_FAILPOINTS": "relay.after_send.settlement"}, wait=False
    )
    world.platform.wait_exited("settlement")
    assert set(on_topic(world, event_ids).values()) == {1}  # sent, then the crash

    world.platform.restart_service("settlement")
    world.eventually(
        lambda: set(on_topic(world, event_ids).values()) == {2}, what="the batch republished"
    )
    world.eventually(lambda: reconciled(world, setlinfo["setl_id"]) == 1, what="reconciled")
    [settled_id] = settled_event_ids(world, [setlinfo["setl_id"]])
    world.eventually(lambda: _applied(world, settled_id), what="applied")
    applied_once(world, [settled_id])


def _applied(world: Any, event_id: str) -> bool:
    return bool(
        query(
            world,
            "reconciliation",
            "SELECT 1 FROM consumed_events WHERE consumer = $1 AND event_id = $2::uuid",
            RECON_CONSUMER,
            event_id,
        )
    )


def test_a_consumer_killed_before_its_commit_is_taken_over_in_a_rebalance_and_applies_once(
    world: Any, sandbox_persons: Any, his: Any
) -> None:
    platform = world.platform
    # Not waiting for health: the first batch it reads may be the one it dies on.
    platform.restart_service(
        "reconciliation",
        {"YIDI_FAILPOINTS": f"consumer.before_commit.{RECON_CONSUMER}"},
        wait=False,
    )
    person = sandbox_persons["7"]
    first = outpatient(his, person, VISIT)
    platform.wait_exited("reconciliation")  # it applied the batch, then died before committing
    assert reconciled(world, first["setl_id"]) == 0

    # A second instance joins the group while the dead member still holds its partitions: the
    # rebalance hands them over at the uncommitted offsets.
    second = platform.start_instance("reconciliation", free_port())
    try:
        world.eventually(
            lambda: reconciled(world, first["setl_id"]) == 1, timeout=60, what="taken over"
        )
        # The first instance comes back: another rebalance, two members, more traffic.
        platform.restart_service("reconciliation")
        more = [outpatient(his, sandbox_persons[p], VISIT) for p in ("1", "2", "3", "8")]
        for setlinfo in (first, *more):
            world.eventually(
                lambda s=setlinfo: reconciled(world, s["setl_id"]) == 1,
                timeout=60,
                what="once each",
            )
    finally:
        platform.stop_instance(second)
    settled_ids = settled_event_ids(world, [s["setl_id"] for s in (first, *more)])
    applied_once(world, settled_ids)


def test_a_broker_restarted_with_its_memory_lost_is_refilled_from_the_event_stores(
    world: Any, sandbox_persons: Any, his: Any
) -> None:
    world.lose_broker_memory()

    # Traffic after the recovery flows end to end.
    after = outpatient(his, sandbox_persons["8"], VISIT)
    world.eventually(
        lambda: reconciled(world, after["setl_id"]) == 1, timeout=60, what="flowing again"
    )
    # Nothing lost: every settlement and cancellation in settlement's store is in reconciliation's
    # projection once (settlement_id is its key).
    stored = {
        r["id"]
        for r in query(
            world,
            "settlement",
            "SELECT payload->>'settlement_id' AS id FROM events WHERE event_type IN"
            " ('settlement.VisitSettled', 'settlement.SettlementCancelled')",
        )
    }

    def projected() -> set[str]:
        rows = query(world, "reconciliation", "SELECT settlement_id FROM settlement_records")
        return {r["settlement_id"] for r in rows}

    world.eventually(lambda: projected() == stored, timeout=60, what="every settlement")


def test_the_gateway_settles_and_stays_ready_while_the_broker_is_away(
    world: Any, sandbox_persons: Any, his: Any
) -> None:
    platform = world.platform
    gateway = platform.url("settlement")
    broker = int((platform.broker.root / "broker.pid").read_text())
    # Frozen, not killed: the broker stops answering (as behind a broken network) and comes
    # back with its topics, so what is on them afterwards is exactly what was published.
    os.kill(broker, signal.SIGSTOP)
    try:
        # Readiness probes the broker at most every few seconds: wait until it has noticed.
        readiness = world.eventually(
            lambda: (
                (r := httpx.get(f"{gateway}/readyz", timeout=15))
                and r.json()["checks"]["broker"].startswith("down")
                and r
            ),
            timeout=60,
            what="readiness to see the broker away",
        )
        assert readiness.status_code == 200
        assert readiness.json()["ready"] is True
        away = outpatient(his, sandbox_persons["2"], VISIT)  # raises if refused
        metrics = httpx.get(f"{gateway}/metrics", timeout=15).text
        assert 'yidi_broker_up{service="settlement"} 0.0' in metrics
        assert httpx.get(f"{gateway}/readyz", timeout=15).status_code == 200
    finally:
        os.kill(broker, signal.SIGCONT)

    # The events written while it was away were kept in the store and published once.
    ids = settled_event_ids(world, [away["setl_id"]])
    world.eventually(
        lambda: set(on_topic(world, ids).values()) == {1}, timeout=90, what="published once"
    )
    world.eventually(
        lambda: reconciled(world, away["setl_id"]) == 1, timeout=90, what="reconciled after"
    )
    world.eventually(lambda: all(_ready(world, s) for s in SERVICES), timeout=60, what="ready")


def test_postgres_stopped_while_reconciliation_consumes_loses_nothing_and_dead_letters_nothing(
    world: Any, sandbox_persons: Any, his: Any
) -> None:
    platform = world.platform
    kafka = KafkaSettings(platform.broker.bootstrap)
    settlement_dlq = dlq(topic("settlement"))
    dead_before = len(run_sync(tops.dead_letters(kafka, settlement_dlq)))
    # Settlements wait on the topic while reconciliation's consumer is off ...
    platform.restart_service("reconciliation", {"YIDI_CONSUMERS_ENABLED": "false"})
    settled = [outpatient(his, sandbox_persons[p], VISIT) for p in ("1", "2", "3")]
    ids = [s["setl_id"] for s in settled]
    world.eventually(lambda: set(on_topic(world, settled_event_ids(world, ids)).values()) == {1})
    # ... it comes back, and the database goes away as it starts applying them.
    platform.restart_service("reconciliation")
    platform.pg.stop()
    try:
        time.sleep(8)  # longer than three quick attempts, the old road to the DLQ
    finally:
        platform.pg.start()

    for setl_id in ids:
        world.eventually(
            lambda s=setl_id: reconciled(world, s) == 1, timeout=90, what="reconciled after"
        )
    applied_once(world, settled_event_ids(world, ids))
    log = (platform.state / "logs" / "reconciliation.log").read_text()
    waited = [
        json.loads(line)
        for line in log.splitlines()
        if '"consumer.waiting"' in line and RECON_CONSUMER in line
    ]
    assert any(w["reason"] == "unavailable" for w in waited), "it never met the outage"
    dead = run_sync(tops.dead_letters(kafka, settlement_dlq))
    assert len(dead) == dead_before, [d.view() for d in dead[dead_before:]]
    outcomes = query(
        world,
        "reconciliation",
        "SELECT DISTINCT outcome FROM consumed_events WHERE consumer = $1",
        RECON_CONSUMER,
    )
    assert [r["outcome"] for r in outcomes] == ["applied"]
    world.eventually(lambda: all(_ready(world, s) for s in SERVICES), timeout=60, what="ready")


def _ready(world: Any, service: str) -> bool:
    try:
        return bool(world.http.get(f"{world.platform.url(service)}/readyz").status_code == 200)
    except httpx.HTTPError:
        return False


def test_a_rebuild_under_live_his_load_keeps_the_gateway_answering_and_equals_the_live_one(
    world: Any, sandbox_persons: Any, his: Any
) -> None:
    # settlement_own is what the gateway writes in every HIS unit and reads to answer: it is
    # rebuilt again and again while hospitals register, upload and settle.
    done = threading.Event()
    rebuilds: list[int] = []
    failures: list[BaseException] = []

    async def keep_rebuilding() -> None:
        runtime = world.platform.runtime("settlement")
        [own] = [f for f in projections(runtime) if f.name == "settlement_own"]
        try:
            while not done.is_set() or not rebuilds:
                rebuilds.append(await rebuild(runtime, own))
        finally:
            await runtime.engine.dispose()

    def rebuilding() -> None:
        try:
            run_sync(keep_rebuilding())
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=rebuilding)
    worker.start()
    slowest = 0.0
    settled = []
    try:
        for p in ("1", "2", "3", "8", "1", "2"):
            started = time.monotonic()
            settled.append(outpatient(his, sandbox_persons[p], VISIT))  # raises if refused
            slowest = max(slowest, time.monotonic() - started)
    finally:
        done.set()
        worker.join(timeout=120)
    assert not failures, failures
    assert len(rebuilds) >= 2, rebuilds
    assert slowest < 10, f"a visit took {slowest:.1f}s while the projection was rebuilt"
    for setlinfo in settled:
        world.eventually(
            lambda s=setlinfo: reconciled(world, s["setl_id"]) == 1, timeout=60, what="reconciled"
        )

    async def live_then_rebuilt() -> tuple[Any, Any]:
        runtime = world.platform.runtime("settlement")
        [own] = [f for f in projections(runtime) if f.name == "settlement_own"]
        try:
            async with runtime.engine.connect() as conn:
                live = await own.projection.snapshot(conn)
            await rebuild(runtime, own)
            async with runtime.engine.connect() as conn:
                return live, await own.projection.snapshot(conn)
        finally:
            await runtime.engine.dispose()

    live, rebuilt = run_sync(live_then_rebuilt())
    assert rebuilt == live
    # settlement_id is the settlements table's first column
    assert {s["setl_id"] for s in settled} <= {row[0] for row in rebuilt["settlements"]}


def test_certificate_numbers_and_names_are_masked_in_the_services_real_logs(
    world: Any, sandbox_persons: Any, his: Any
) -> None:
    platform = world.platform
    platform.restart_service("settlement", {"YIDI_LOG_LEVEL": "INFO"})
    unknown = "320102199001011234"  # a well-formed resident ID nobody holds
    person = sandbox_persons["1"]
    with pytest.raises(HisError) as refused:
        his.call(
            "1101",
            {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": unknown, "psn_name": "王小明"}},
            person["insuplc_admdvs"],
        )
    assert unknown in refused.value.answer["err_msg"]  # the hospital is told which number
    log = (platform.state / "logs" / "settlement.log").read_text()
    refusals = [json.loads(line) for line in log.splitlines() if '"his.refused"' in line]
    assert any("32" + "*" * 14 + "34" in r["error"] for r in refusals)  # logged, masked
    for secret in (unknown, person["certno"], person["psn_name"]):
        for service in SERVICES:
            text = (platform.state / "logs" / f"{service}.log").read_text()
            assert secret not in text, f"{service}.log holds personal data in clear"


def _difference(name: str, live: dict[str, Any], folded: dict[str, Any]) -> str:
    """The rows only one side has, per table (a few of each): what a rebuild would change."""
    lines = [name]
    for table in sorted(set(live) | set(folded)):
        was = set(map(repr, live.get(table, [])))
        now = set(map(repr, folded.get(table, [])))
        if was != now:
            lines.append(f"  {table}: live only {sorted(was - now)[:3]}")
            lines.append(f"  {table}: rebuilt only {sorted(now - was)[:3]}")
    return "\n".join(lines)


def test_every_projection_of_every_service_equals_a_fold_of_the_event_stores(world: Any) -> None:
    # Filing counts settlements and settlement stores filing's statements: let them arrive first.
    world.quiet()
    details: list[str] = []

    async def compare(service: str) -> list[str]:
        runtime = world.platform.runtime(service)
        differing = []
        try:
            for found in projections(runtime):
                async with runtime.engine.connect() as conn:
                    live = await found.projection.snapshot(conn)
                await rebuild(runtime, found)
                async with runtime.engine.connect() as conn:
                    folded = await found.projection.snapshot(conn)
                if folded != live:
                    differing.append(found.name)
                    details.append(_difference(found.name, live, folded))
        finally:
            await runtime.engine.dispose()
        return differing

    differing = [name for service in SERVICES for name in run_sync(compare(service))]
    assert differing == [], (
        f"rebuilt from scratch, these differ from the live ones: {differing}\n" + "\n".join(details)
    )
