"""Overload and soak: for `seconds`, wrk at high concurrency keeps far more 2207s in flight than
the gateway settles (a closed loop at c128 offers whatever it can take, and more). What must hold:
no 5xx and no connection errors, every answer other than infcode 0 a clean envelope naming its
rule, every accepted settlement in reconciliation exactly once afterwards, and each service's
memory (RSS, its processes summed) growing by less than a tenth.

A shed request (his.busy) is answered at once, so the closed loop goes through the prepared
requests quickly and comes round to them again: a request shed before is then sent again as it
was (same msgid, same nonce: what a HIS does) and served; one served before comes back as a
replay and is refused his.auth.replay. Both are what the gateway must answer, and both count."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from yidi_stack.bench.load import run_wrk
from yidi_stack.bench.settle import Gateway, prepare, signed
from yidi_stack.platform import Platform

CONCURRENCY = 128
# How long a request may queue in a worker before it is answered: the in-flight limit is what the
# worker settles in this time (Little's law), well inside wrk's 10 s timeout and a HIS client's.
QUEUE_BUDGET_S = 2.0
WARM_UP = 40
# Shed or lost a race (send again), and the replay of a request served on an earlier pass.
EXPECTED = ("his.busy", "his.auth.replay")


def _rss_kib(pid: int) -> int:
    """RSS of the process group led by `pid` (uvicorn workers included), in KiB."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pid:  # the process group id
                continue
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total


def _memory(platform: Platform) -> dict[str, int]:
    return {name: _rss_kib(pid) for name, pid in platform._pids().items()}


def _dsn(platform: Platform, service: str) -> str:
    return platform.dsn(service).replace("postgresql+asyncpg://", "postgresql://")


async def _settled(platform: Platform) -> set[str]:
    settlement = await asyncpg.connect(_dsn(platform, "settlement"))
    try:
        rows = await settlement.fetch("SELECT settlement_id FROM settlements WHERE NOT is_refund")
    finally:
        await settlement.close()
    return {r["settlement_id"] for r in rows}


async def _reconciled(platform: Platform, ids: list[str]) -> dict[str, int]:
    """Reconciliation's records of the run's settlements, waiting up to a minute for the relay
    and its consumer to catch up."""
    recon = await asyncpg.connect(_dsn(platform, "reconciliation"))
    try:
        deadline = time.monotonic() + 60
        while True:
            rows = await recon.fetch(
                "SELECT settlement_id, count(*) AS n FROM settlement_records "
                "WHERE settlement_id = ANY($1) GROUP BY settlement_id",
                ids,
            )
            if len(rows) >= len(ids) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await recon.close()
    return {
        "settled": len(ids),
        "reconciled": len(rows),
        "reconciled_twice": sum(1 for r in rows if r["n"] != 1),
    }


def soak(
    platform: Platform,
    gw: Gateway,
    *,
    capacity_per_s: float,
    seconds: float,
    say: Callable[[str], None],
) -> tuple[dict[str, Any], list[str]]:
    """Run the overload; the figures and what did not hold (empty when all held)."""
    # More visits than the gateway can settle in the run at twice its measured capacity.
    want = int(max(200, 2 * capacity_per_s * seconds * 1.2))
    # Sized to the machine as an operator sizes YIDI_HIS_MAX_IN_FLIGHT. Under this load a worker
    # settles less than the capacity measured at c16, so that bound alone would let requests
    # queue past a client's timeout; the wait for a working turn (YIDI_HIS_MAX_WAIT_MS) is what
    # keeps every answer inside it.
    workers = max(1, platform.gateway_workers)
    limit = max(2, round(capacity_per_s / workers * QUEUE_BUDGET_S))
    platform.restart_service(
        "settlement",
        {
            "YIDI_HIS_MAX_IN_FLIGHT": str(limit),
            "YIDI_HIS_MAX_WAIT_MS": str(int(QUEUE_BUDGET_S * 1000)),
        },
    )
    say(f"  overload: preparing {want} visits ...")
    requests = signed(gw, asyncio.run(prepare(gw, WARM_UP + want)))
    # The restarted workers settle a few first, so that memory is measured from warm processes.
    warm_up, requests = requests[:WARM_UP], requests[WARM_UP:]
    run_wrk(platform.url("settlement"), warm_up, concurrency=8, seconds=2)
    time.sleep(3 * QUEUE_BUDGET_S)  # what wrk left in flight is answered before the count
    known = asyncio.run(_settled(platform))
    before = _memory(platform)
    say(f"  overload: 2207 at c{CONCURRENCY} for {seconds:.0f} s ...")
    run = run_wrk(platform.url("settlement"), requests, concurrency=CONCURRENCY, seconds=seconds)
    after = _memory(platform)
    made = sorted(asyncio.run(_settled(platform)) - known)
    reconciled = asyncio.run(_reconciled(platform, made))
    growth = {name: round(after.get(name, 0) / kib - 1, 3) for name, kib in before.items() if kib}
    figures: dict[str, Any] = {
        "seconds": round(run.seconds, 1),
        "concurrency": CONCURRENCY,
        "capacity_per_s": round(capacity_per_s, 1),
        "gateway_workers": workers,
        "max_in_flight_per_worker": limit,
        "max_wait_ms": int(QUEUE_BUDGET_S * 1000),
        "answers": run.requests,
        "settled_per_s": round(run.ok / run.seconds, 1) if run.seconds else 0.0,
        "accepted": run.ok,
        "refused_by_rule": run.refused_by_rule,
        "connect_errors": run.connect_errors,
        "timeouts": run.timeouts,
        "p99_ms": run.p99_ms,
        **reconciled,
        "rss_kib_before": before,
        "rss_growth": growth,
        "visits_prepared": len(requests),
        "passes_over_prepared": round(run.requests / len(requests), 1),
    }
    failed = []
    server_errors = {r: n for r, n in run.refused_by_rule.items() if r.startswith("http.5")}
    if server_errors:
        failed.append(f"5xx answers {server_errors}")
    if run.errors:
        failed.append(f"{run.errors} connection errors or timeouts")
    unclean = {
        r: n
        for r, n in run.refused_by_rule.items()
        if r in ("no-envelope", "unnamed") or r.startswith("http.")
    }
    # Nothing else has a reason to be refused: every visit is open and its 2207 well formed.
    unexpected = {r: n for r, n in run.refused_by_rule.items() if r not in (*EXPECTED, *unclean)}
    if unexpected:
        failed.append(f"refusals other than {EXPECTED}: {unexpected}")
    if unclean:
        failed.append(f"answers without a clean envelope {unclean}")
    # A request wrk gave up on may still have settled (its answer came after the timeout), and so
    # may those in flight when wrk stopped (it drops them uncounted): at most what the workers
    # take at once. A lost or doubled settlement is outside these bounds.
    unanswered = run.timeouts + workers * limit
    if not run.ok <= reconciled["settled"] <= run.ok + unanswered:
        failed.append(
            f"{run.ok} accepted and at most {unanswered} unanswered, "
            f"but {reconciled['settled']} settlements recorded"
        )
    if reconciled["reconciled"] != reconciled["settled"] or reconciled["reconciled_twice"]:
        failed.append(f"reconciliation: {reconciled}")
    grown = {name: g for name, g in growth.items() if g >= 0.10}
    if grown:
        failed.append(f"memory grew 10% or more: {grown}")
    return figures, failed
