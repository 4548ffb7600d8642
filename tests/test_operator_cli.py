"""The `yidi` operator CLI against the whole platform running on this machine (sandbox loaded by
the CLI itself), and the metrics each service exposes."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from yidi_cli import topics as tops
from yidi_cli.his import Clock, HisClient, HisError
from yidi_cli.main import app
from yidi_cli.sandbox import sandbox_dir
from yidi_events.kernel.time import SHANGHAI
from yidi_events.runtime.kafka import KafkaSettings
from yidi_events.runtime.rebuilds import find
from yidi_events.topics import all_topics, topic
from yidi_stack.embedded import private_runtime_folder
from yidi_stack.flows import outpatient
from yidi_stack.platform import SERVICES, Platform

T = TypeVar("T")
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
VISIT = [
    {"code": "XA001", "cnt": "2", "pric": "35.00", "amount": "70.00"},
    {"code": "XB002", "cnt": "1", "pric": "200.00", "amount": "200.00"},
]


@dataclass
class Ops:
    platform: Platform
    env: dict[str, str]
    http: httpx.Client

    def yidi(self, *args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(app, list(args), env=self.env)
        if ok:
            assert result.exit_code == 0, (
                f"yidi {' '.join(args)}: {result.output}{result.exception!r}"
            )
        return result.output

    def json(self, *args: str) -> Any:
        return json.loads(self.yidi(*args, "--json"))

    def metrics(self, service: str) -> str:
        return self.http.get(f"{self.platform.url(service)}/metrics").text

    def his(self) -> HisClient:
        hospitals = json.loads((sandbox_dir() / "hospitals.json").read_text())
        secret = next(h["his_secret"] for h in hospitals if h["fixmedins_code"] == "H32010000001")
        return HisClient(
            self.platform.url,
            "H32010000001",
            secret,
            "320100",
            Clock(self.platform.url, self.http),
            self.http,
        )


def eventually(probe: Callable[[], T | None], *, timeout: float = 30.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except AssertionError as exc:
            last = exc
        else:
            if last:
                return cast(T, last)
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: last saw {last!r}")


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text output (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture(scope="module")
def ops() -> Iterator[Ops]:
    parent = private_runtime_folder("yidi-ops-")
    platform = Platform.simulated(parent / "state", START)
    try:
        platform.up(say=lambda _: None)
    except BaseException:
        shutil.rmtree(parent, ignore_errors=True)
        raise
    env = {
        "YIDI_KAFKA_BOOTSTRAP": platform.broker.bootstrap,
        "COLUMNS": "200",  # rich tables as wide as an operator's terminal, not folded at 80
        **{f"YIDI_{s.upper()}_URL": platform.url(s) for s in SERVICES},
    }
    http = httpx.Client(timeout=30)
    try:
        yield Ops(platform, env, http)
    finally:
        http.close()
        platform.down(quiet=True)
        shutil.rmtree(parent, ignore_errors=True)


def test_import_sandbox_loads_the_platform_and_a_minted_token_reads_it(ops: Ops) -> None:
    out = ops.yidi("import", "sandbox")
    assert "filing" in out
    assert "settlement" in out
    assert "reached every service" in out
    bearer = ops.yidi("token", "--region", "320500", "--roles", "reviewer").strip()
    persons = ops.http.get(
        f"{ops.platform.url('filing')}/v1/persons", headers={"authorization": f"Bearer {bearer}"}
    )
    assert persons.status_code == 200
    assert {p["person_id"] for p in persons.json()} >= {
        "32050000000000000001",
        "32050000000000000005",
        "32050000000000000007",
    }
    refused = ops.http.get(
        f"{ops.platform.url('filing')}/v1/persons", headers={"authorization": "Bearer not-a-token"}
    )
    assert refused.status_code == 401


def test_tail_shows_the_topic_as_readable_events(ops: Ops) -> None:
    first = ops.json("tail", "filing", "--from-beginning", "--limit", "5")
    assert len(first) == 5
    assert all(e["event_type"] and e["stream_id"] and e["business_date"] for e in first)
    enrolled = [
        e
        for e in ops.json("tail", "filing", "--from-beginning", "--limit", "1000")
        if e["event_type"].endswith("PersonEnrolled")
    ]
    assert {e["fields"]["person_id"] for e in enrolled} >= {"32050000000000000001"}
    assert all(e["stream_version"] >= 1 for e in enrolled)
    # Persons' identity is on filing's side topic (tests/test_personal_data.py), which the
    # operator may read.
    identified = ops.json("tail", "filing.identity", "--from-beginning", "--limit", "1000")
    assert {e["event_type"] for e in identified} == {"filing.PersonIdentified"}
    assert {e["fields"]["person_id"] for e in identified} >= {"32050000000000000001"}
    last = ops.json("tail", "filing", "--limit", "3")
    assert len(last) == 3
    table = ops.yidi("tail", "settlement", "--limit", "5")
    assert "yidi.settlement.events (5 records)" in table
    assert "settlement.CatalogueItemPublished" in table


def test_gateway_counts_requests_by_infno_and_outcome_and_times_settlements(ops: Ops) -> None:
    before = ops.metrics("settlement")
    his = ops.his()
    persons = json.loads((sandbox_dir() / "persons.json").read_text())
    setlinfo = outpatient(his, persons[0], VISIT)
    assert setlinfo["psn_no"] == persons[0]["psn_no"]
    with pytest.raises(HisError):
        his.call("5203", {"data": {"setl_id": "no-such-settlement"}}, "320500")
    after = ops.metrics("settlement")
    for infno in ("2201", "2204", "2207"):
        assert metric(after, "yidi_his_requests_total", infno=infno, outcome="ok") == (
            metric(before, "yidi_his_requests_total", infno=infno, outcome="ok") + 1
        )
    assert metric(after, "yidi_his_requests_total", infno="5203", outcome="refused") == (
        metric(before, "yidi_his_requests_total", infno="5203", outcome="refused") + 1
    )
    assert metric(after, "yidi_his_settlement_seconds_count", infno="2207", outcome="ok") == (
        metric(before, "yidi_his_settlement_seconds_count", infno="2207", outcome="ok") + 1
    )
    # Every service exposes its relay backlog, its consumers' lag and DLQ counts per topic.
    for service in SERVICES:
        text = ops.metrics(service)
        assert f'yidi_relay_backlog{{service="{service}"}}' in text
        assert "yidi_consumer_lag{" in text, service
        assert "yidi_consumer_dead_lettered_total{" in text, service


async def _publish_poison(kafka: KafkaSettings, name: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(name, value=b'{"not": "an envelope"}', key=b"poison-1")
    finally:
        await producer.stop()


def test_a_poison_record_is_listed_in_the_dlq_and_replay_puts_it_back_on_its_topic(
    ops: Ops,
) -> None:
    kafka = KafkaSettings(ops.platform.broker.bootstrap)
    origin = topic("filing")
    asyncio.run(_publish_poison(kafka, origin))
    # Settlement, audit and reimbursement all consume filing's topic: each gives up on it once.
    letters = eventually(
        lambda: (rows := ops.json("dlq", "list", "filing")) and len(rows) >= 3 and rows,
        what="the poison record in yidi.filing.events.dlq",
    )
    assert {r["origin_topic"] for r in letters} == {origin}
    assert {r["key"] for r in letters} == {"poison-1"}
    assert {r["consumer"] for r in letters} == {
        "insured_facts",
        "audit.filing_facts",
        "reimbursement.insured_facts",
    }
    assert all(r["error"] for r in letters)
    assert "yidi.filing.events.dlq" in ops.yidi("dlq", "list", "filing")
    dead = metric(ops.metrics("settlement"), "yidi_consumer_dead_lettered_total", topic=origin)
    assert dead == 1

    def poison_on_origin() -> list[Any]:
        records = asyncio.run(tops.read(kafka, origin, from_beginning=True, limit=None))
        return [r for r in records if r.key == b"poison-1"]

    assert len(poison_on_origin()) == 1
    one = letters[0]
    out = ops.yidi(
        "dlq",
        "replay",
        "filing",
        "--offset",
        str(one["offset"]),
        "--partition",
        str(one["partition"]),
    )
    assert "1 dead letters replayed" in out
    again = poison_on_origin()
    assert len(again) == 2
    assert again[1].value == again[0].value == b'{"not": "an envelope"}'
    headers = dict(again[1].headers)
    assert "origin_topic" not in headers
    assert headers["replayed_from"].startswith(b"yidi.filing.events.dlq[")


def test_republish_rewinds_the_relay_and_lag_shows_it_drain(ops: Ops) -> None:
    def settled() -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = ops.json("lag")
        return rows if all(r["behind"] == 0 for r in rows) else None

    before = eventually(settled, what="no relay backlog and no consumer lag")
    relays = {r["service"] for r in before if r["what"] == "relay"}
    assert relays == set(SERVICES)
    groups = {(r["name"], r["topic"]) for r in before if r["what"] == "consumer"}
    assert ("settlement.insured_facts", "yidi.filing.events") in groups
    assert ("reconciliation.reconciliation.settlements", "yidi.settlement.events") in groups
    kafka = KafkaSettings(ops.platform.broker.bootstrap)

    def published() -> Counter[str]:
        records = asyncio.run(tops.read(kafka, topic("filing"), from_beginning=True, limit=None))
        return Counter(
            str(tops.readable(r)["stream_id"]) + "#" + str(tops.readable(r)["stream_version"])
            for r in records
            if tops.readable(r)["stream_id"]
        )

    once = published()
    assert set(once.values()) == {1}

    out = ops.yidi("republish", "filing")
    stored = int(out.split("rewound; ")[1].split(" ")[0])
    assert stored == len(once)
    eventually(settled, what="the republished topic consumed")
    # Every stored event is on the topic a second time, and every consumer group caught up.
    assert published() == Counter(dict.fromkeys(once, 2))
    assert "relay backlog and consumer lag" in ops.yidi("lag", "filing")


def test_rebuild_of_a_projection_leaves_the_same_rows(ops: Ops) -> None:
    async def snapshot(service: str, name: str) -> dict[str, list[tuple[Any, ...]]]:
        runtime = ops.platform.runtime(service)
        try:
            async with runtime.engine.connect() as conn:
                return await find(runtime, name).projection.snapshot(conn)
        finally:
            await runtime.engine.dispose()

    listing = ops.yidi("rebuild", "settlement")
    assert "settlement_own" in listing
    assert "insured_facts" in listing
    for service, name in (
        ("settlement", "settlement_own"),
        ("settlement", "insured_facts"),
        ("filing", "read_models"),
    ):
        live = asyncio.run(snapshot(service, name))
        assert any(live.values()), name
        out = ops.yidi("rebuild", service, name)
        assert "rebuilt from" in out
        assert asyncio.run(snapshot(service, name)) == live, name


def test_clearing_run_due_answers_as_the_centre(ops: Ops) -> None:
    answer = json.loads(ops.yidi("clearing", "run-due", "2026-02"))
    assert "ran" in answer
    assert "waiting" in answer
    refused = CliRunner().invoke(
        app,
        ["clearing", "run-due", "2026-02", "--roles", "nobody"],
        env={**ops.env, "YIDI_AUTH_SECRET": "another-secret-of-at-least-32-bytes-long"},
    )
    assert refused.exit_code == 1
    assert "401" in refused.output


def test_import_catalogue_and_a_refused_population_file(ops: Ops, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(
        json.dumps(
            {
                "OPS001": {
                    "chrgitm_lv": "01",
                    "selfpay_prop": "0.0000",
                    "pric_uplmt_amt": None,
                    "list_type": "101",
                }
            }
        )
    )
    answer = json.loads(
        ops.yidi(
            "import",
            "catalogue",
            str(catalogue),
            "--agency",
            "320100",
            "--effective-from",
            "2026-01-01",
        )
    )
    assert answer == {"imported": 1}
    population = tmp_path / "persons.csv"
    population.write_text("person_id,name\n1,nobody\n")
    out = ops.yidi("import", "persons", str(population), "--agency", "320500", ok=False)
    assert "422" in out


def test_topics_create_recreates_lost_topics_and_only_those(ops: Ops) -> None:
    # A namespace whose topics are all gone, as after a broker that came back empty.
    lost = {**ops.env, "YIDI_KAFKA_NAMESPACE": "lost"}
    first = CliRunner().invoke(app, ["topics", "create"], env=lost)
    assert first.exit_code == 0, first.output
    created = {line.split()[1] for line in first.output.splitlines() if line.startswith("created ")}
    assert created == set(all_topics("lost"))
    again = CliRunner().invoke(app, ["topics", "create"], env=lost)
    assert "0 topics created" in again.output
