"""Figures measured on the running platform under settlement load: settlements through the
gateway at concurrency 1/16/64 (wrk), whole visits (Python asyncio in processes), the time from a
2207 answer to the settlement being in reconciliation's projection, and audit's lag behind the
settlement stream, all in the same run."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.progress import Progress

from yidi_cli.his import GATEWAY
from yidi_cli.sandbox import sandbox_dir
from yidi_stack.bench.cpu import cpu_seconds, families, ms_per
from yidi_stack.bench.load import run_wrk
from yidi_stack.bench.profile import Profiler, top_frames
from yidi_stack.bench.settle import HOSPITAL, Gateway, prepare, signed, whole_visits
from yidi_stack.bench.soak import soak
from yidi_stack.platform import Platform
from yidi_stack.simulation.drive import Driver, Outcome
from yidi_stack.simulation.province import NANJING, Province

# Generated persons; about a tenth hold a long-term filing to Nanjing, where the bench settles.
# At 60 settlements a second, 3,000 gave each of the ~300 a visit every five seconds, a history
# no person has (audit reads a person's whole history per batch, and grew without end); 20,000
# give the overload run's ~2,000 about five visits each.
POPULATION = 20_000
SAMPLES = 40  # settlements whose reconciliation visibility is timed under the c16 load


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _gateway(platform: Platform) -> Gateway:
    folder = sandbox_dir()
    hospitals = {
        h["fixmedins_code"]: h for h in json.loads((folder / "hospitals.json").read_text())
    }
    return Gateway(
        platform.url("settlement"), hospitals[HOSPITAL]["his_secret"], _population(platform)
    )


def _population(platform: Platform, generated: int = POPULATION) -> tuple[dict[str, Any], ...]:
    """Persons insured elsewhere with a long-term filing to Nanjing, enrolled and filed through
    filing's API like the simulation's: enough of them that concurrent settlements rarely meet on
    one person-year stream, as at a real hospital (the sandbox has five eligible persons)."""
    province = Province.generate(persons=generated, days=1, seed=2207)
    with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=64)) as http:
        driver = Driver(platform, http, Progress(disable=True))
        driver.enrol(Outcome(province))
        driver.file(Outcome(province))
    nanjing = {
        f["person_id"]
        for f in province.filings
        if f["visit_region"] == NANJING and f["kind"] == "long_term"
    }
    persons = tuple(p for p in province.persons if p["psn_no"] in nanjing)
    asyncio.run(_until_settlement_knows(platform, [p["psn_no"] for p in persons]))
    return persons


async def _until_settlement_knows(platform: Platform, person_ids: list[str]) -> None:
    conn = await asyncpg.connect(_dsn(platform, "settlement"))
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            known = await conn.fetchval(
                "SELECT count(DISTINCT person_id) FROM filings WHERE person_id = ANY($1)",
                person_ids,
            )
            if known == len(person_ids):
                return
            await asyncio.sleep(0.5)
        raise TimeoutError("settlement did not receive the bench population's filings")
    finally:
        await conn.close()


def _dsn(platform: Platform, service: str) -> str:
    return platform.dsn(service).replace("postgresql+asyncpg://", "postgresql://")


def gateway_figures(
    platform: Platform,
    results: dict[str, Any],
    details: dict[str, Any],
    notes: dict[str, str],
    *,
    seconds: float,
    say: Callable[[str], None],
    out_dir: Path,
    soak_seconds: float = 180.0,
) -> None:
    gw = _gateway(platform)
    # Settlements/s, corrected after each run so the next has enough visits without spending the
    # run's time budget preparing visits that are never sent (preparing is as slow as settling).
    # The first guess is c1's: at 30/s it was right, at 80/s its run ended on replays of spent
    # visits (answered his.auth.replay, not settlements), so it starts above what c1 does.
    estimate = estimate_c16 = 40.0
    window: tuple[datetime, datetime] | None = None
    recon: list[float] = []
    for concurrency in (1, 16, 64):
        # More concurrency settles more per second (how much more is what is measured): three
        # times the last rate's need, so that the run does not end on replays of spent visits.
        want = min(1200, int(max(40, estimate * seconds * 3)))
        began = time.monotonic()
        prepared = asyncio.run(prepare(gw, want))
        details[f"prepare_visits_per_s_c{concurrency}"] = round(
            want / (time.monotonic() - began), 1
        )
        sampler: _ReconSampler | None = None
        if concurrency == 16:
            samples = asyncio.run(prepare(gw, SAMPLES))
            sampler = _ReconSampler(gw, samples, _dsn(platform, "reconciliation"), seconds)
        requests = signed(gw, prepared)
        say(f"  2207 at concurrency {concurrency} ({len(requests)} visits prepared) ...")
        started = datetime.now().astimezone()
        cpu_before = cpu_seconds(platform._pids(), families(platform))
        if sampler:
            sampler.start()
        run = run_wrk(
            platform.url("settlement"), requests, concurrency=concurrency, seconds=seconds
        )
        ended = datetime.now().astimezone()
        if sampler:
            recon = sampler.finish()
            window = (started, ended)
            # Once the sampled settlements are reconciled the consumers have (nearly) caught up:
            # what each part spent on the run's settlements, the machine's bound on the figure.
            details["cpu_ms_per_settlement_c16"] = ms_per(
                cpu_before, cpu_seconds(platform._pids(), families(platform)), run.ok
            )
        rate = run.ok / run.seconds if run.seconds else 0.0
        estimate = max(rate, 5.0)
        if concurrency == 16:
            estimate_c16 = estimate
        key = f"c{concurrency}"
        details[f"settle_per_s_{key}"] = round(rate, 1)
        details[f"settle_p50_ms_{key}"] = run.p50_ms
        details[f"settle_p95_ms_{key}"] = run.p95_ms
        details[f"settle_p99_ms_{key}"] = run.p99_ms
        details[f"settle_answers_{key}"] = run.requests
        details[f"settle_infcode0_{key}"] = run.ok
        details[f"settle_refused_or_failed_{key}"] = run.requests - run.ok + run.errors
        details[f"settle_refused_by_rule_{key}"] = run.refused_by_rule
        if run.requests > len(requests):
            notes[f"settle_{key}"] = (
                f"ran out of prepared visits ({run.requests} answers, {len(requests)} visits): "
                "the repeats were refused and are not counted as settlements"
            )
    results["settle_per_s_c16"] = details["settle_per_s_c16"]
    _profile(platform, gw, estimate_c16, seconds, out_dir, details, notes, say)
    results["settle_p99_ms_c16"] = details["settle_p99_ms_c16"]

    details["recon_visible_samples"] = len(recon)
    details["recon_visible_p50_ms"] = _ms(_pct(recon, 0.5))
    details["recon_visible_p99_ms"] = _ms(_pct(recon, 0.99))
    if len(recon) < SAMPLES:
        notes["recon_visible"] = f"{SAMPLES - len(recon)} sampled settlements never became visible"

    if window:
        say("  audit lag behind the settlement stream ...")
        lags, missing = asyncio.run(_audit_lags(platform, window))
        details["audit_lag_events"] = len(lags)
        details["audit_lag_missing"] = missing
        details["audit_lag_p50_s"] = _round(_pct(lags, 0.5))
        results["audit_lag_p99_s"] = _round(_pct(lags, 0.99))
        if not lags:
            notes["audit_lag_p99_s"] = "audit recorded none of the run's VisitSettled events"

    say("  whole visits (2201 + 2204 + 2207), Python asyncio load in 2 processes ...")
    visits = whole_visits(gw, concurrency=16, seconds=seconds)
    results["visits_per_s_c16"] = round(visits["per_s"], 1)
    details["visits_p99_ms_c16"] = visits["p99_ms"]
    details["visits_errors_c16"] = visits["errors"]
    details["visits_load"] = "python asyncio (httpx), 2 processes x 8 connections"

    # The same 2207 load with the gateway in two worker processes (its relay and consumers in a
    # third), then the overload run on that arrangement.
    say("  2207 at concurrency 16, gateway in 2 worker processes ...")
    platform.gateway_workers = 2
    platform.restart_service("settlement")
    try:
        want = min(1600, int(max(40, estimate * 2 * seconds * 1.5 + 16)))
        requests = signed(gw, asyncio.run(prepare(gw, want)))
        run = run_wrk(platform.url("settlement"), requests, concurrency=16, seconds=seconds)
        two = run.ok / run.seconds if run.seconds else 0.0
        details["settle_per_s_c16_2proc"] = round(two, 1)
        details["settle_p99_ms_c16_2proc"] = run.p99_ms
        details["settle_refused_by_rule_c16_2proc"] = run.refused_by_rule
        if run.requests > len(requests):
            notes["settle_c16_2proc"] = "ran out of prepared visits"
        figures, failed = soak(
            platform, gw, capacity_per_s=max(two, estimate), seconds=soak_seconds, say=say
        )
        details["overload"] = figures
        if failed:
            details.setdefault("wrong_results", []).append("overload: " + "; ".join(failed))
            notes["overload"] = "DID NOT HOLD: " + "; ".join(failed)
    finally:
        platform.gateway_workers = 1
        platform.restart_service("settlement")


def _profile(
    platform: Platform,
    gw: Gateway,
    estimate: float,
    seconds: float,
    out_dir: Path,
    details: dict[str, Any],
    notes: dict[str, str],
    say: Callable[[str], None],
) -> None:
    """2207 at c16 again, under py-spy: a run of its own, so that the samplers' CPU (on a small
    machine, a share of it) does not lower the c16 figures above."""
    prepared = asyncio.run(prepare(gw, min(800, int(max(40, estimate * seconds * 1.5 + 16)))))
    requests = signed(gw, prepared)
    say(f"  2207 at concurrency 16 under py-spy ({len(requests)} visits prepared) ...")
    profiler = Profiler(platform._pids()["settlement"], out_dir / "settle-2207-c16.svg", seconds)
    if why := profiler.start():
        notes["settle_profile"] = why
        return
    run = run_wrk(platform.url("settlement"), requests, concurrency=16, seconds=seconds)
    if why := profiler.finish():
        notes["settle_profile"] = why
        return
    details["settle_profile_svg"] = str(profiler.out)
    details["settle_profile_per_s_c16"] = round(run.ok / run.seconds, 1) if run.seconds else 0.0
    frames = top_frames(profiler.collapsed)
    details["settle_profile_top_self"] = frames["self"]
    details["settle_profile_top_project"] = frames["project"]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class _ReconSampler:
    """Sends a few 2207s spread over the load run, noting when each answer came back, then polls
    reconciliation's projection (settlement_records) for each settlement id."""

    def __init__(self, gw: Gateway, prepared: list[tuple[str, bytes]], dsn: str, seconds: float):
        self.gw = gw
        self.prepared = prepared
        self.dsn = dsn
        self.seconds = seconds
        self.lags: list[float] = []
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> list[float]:
        self.thread.join(60)
        return self.lags

    async def _run(self) -> None:
        answered: dict[str, float] = {}
        seen: dict[str, float] = {}
        conn = await asyncpg.connect(self.dsn)
        gap = self.seconds * 0.8 / len(self.prepared)

        async def poll_until(deadline: float) -> None:
            while time.time() < deadline and len(seen) < len(self.prepared):
                pending = [s for s in answered if s not in seen]
                if pending:
                    rows = await conn.fetch(
                        "SELECT settlement_id FROM settlement_records WHERE settlement_id = ANY($1)",
                        pending,
                    )
                    now = time.time()
                    for row in rows:
                        seen[row["settlement_id"]] = now
                await asyncio.sleep(0.005)

        async def send() -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                for _, body in self.prepared:
                    response = await http.post(
                        self.gw.url + GATEWAY, content=body, headers=self.gw.headers(body)
                    )
                    at = time.time()
                    answer = response.json()
                    if answer.get("infcode") == 0:
                        answered[answer["output"]["setlinfo"]["setl_id"]] = at
                    await asyncio.sleep(gap)

        try:
            sender = asyncio.create_task(send())
            while not sender.done():
                await poll_until(time.time() + 0.05)
            await sender
            await poll_until(time.time() + 30)
        finally:
            await conn.close()
        self.lags = [seen[s] - answered[s] for s in seen]


async def _audit_lags(
    platform: Platform, window: tuple[datetime, datetime]
) -> tuple[list[float], int]:
    """Per VisitSettled of the c16 run: audit's consumed_at minus the event's occurred_at."""
    settlement = await asyncpg.connect(_dsn(platform, "settlement"))
    try:
        rows = await settlement.fetch(
            "SELECT event_id, occurred_at FROM events WHERE event_type = 'settlement.VisitSettled' "
            "AND occurred_at BETWEEN $1 AND $2",
            *window,
        )
    finally:
        await settlement.close()
    occurred = {row["event_id"]: row["occurred_at"] for row in rows}
    audit = await asyncpg.connect(_dsn(platform, "audit"))
    consumed: dict[Any, datetime] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = await audit.fetch(
                "SELECT event_id, min(consumed_at) AS at FROM consumed_events "
                "WHERE event_id = ANY($1) GROUP BY event_id",
                list(occurred),
            )
            consumed = {row["event_id"]: row["at"] for row in found}
            if len(consumed) >= len(occurred):
                break
            await asyncio.sleep(0.5)
    finally:
        await audit.close()
    lags = [(consumed[e] - occurred[e]).total_seconds() for e in consumed]
    return lags, len(occurred) - len(consumed)
