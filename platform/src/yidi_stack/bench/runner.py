"""Runs every benchmark in one go on a fresh embedded stack and reports them.

Figures that need a part of the platform not built yet are reported as null with the reason, so
the JSON keys are stable and nothing pretends to have been measured.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yidi_cli.sandbox import load_sandbox
from yidi_stack.bench.ceilings import commit_ceiling, http_insert_ceiling
from yidi_stack.bench.gateway import gateway_figures
from yidi_stack.bench.generated import PARTS, Sizes, generated_figures
from yidi_stack.embedded import free_port, private_runtime_folder
from yidi_stack.platform import SERVICES, Platform

KEYS = (
    "commit_ceiling_per_s",
    "http_insert_ceiling_per_s",
    "settle_per_s_c16",
    "settle_p99_ms_c16",
    "ratio_settle_to_ceiling",
    "visits_per_s_c16",
    "recon_1m_s",
    "clearing_400_s",
    "rebuild_events_per_s",
    "audit_lag_p99_s",
)


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def run(
    out_dir: Path,
    *,
    seconds: float = 5.0,
    say: Callable[[str], None] = print,
    only: frozenset[str] = PARTS,
    sizes: Sizes | None = None,
    soak_seconds: float = 180.0,
) -> dict[str, Any]:
    root = private_runtime_folder("yidi-bench-")
    platform = Platform(
        root / "state",
        pg_port=free_port(),
        broker_port=free_port(),
        ports={s: free_port() for s in SERVICES},
    )
    results: dict[str, Any] = {key: None for key in KEYS}
    notes: dict[str, str] = {}
    details: dict[str, Any] = {}
    try:
        platform.up(say=lambda _: None)
        platform.pg.psql('CREATE DATABASE "bench"')
        dsn = platform.pg.dsn_for("bench")
        if "settle" in only:
            say("ceiling: single-row commits ...")
            for concurrency in (1, 16, 64):
                rate = asyncio.run(commit_ceiling(dsn, concurrency=concurrency, seconds=seconds))
                details[f"commit_ceiling_per_s_c{concurrency}"] = round(rate)
            results["commit_ceiling_per_s"] = details["commit_ceiling_per_s_c16"]

            say("ceiling: HTTP request with one INSERT ...")
            http = http_insert_ceiling(dsn, concurrency=16, seconds=seconds)
            results["http_insert_ceiling_per_s"] = round(http.per_second)
            details["http_insert_ceiling_p99_ms_c16"] = http.p99_ms
            details["http_insert_ceiling_errors"] = http.errors

            say("settlement through the gateway ...")
            load_sandbox(platform.url, say=lambda _: None)
            gateway_figures(
                platform,
                results,
                details,
                notes,
                seconds=seconds,
                say=say,
                out_dir=out_dir,
                soak_seconds=soak_seconds,
            )
            if results["settle_per_s_c16"] and results["http_insert_ceiling_per_s"]:
                results["ratio_settle_to_ceiling"] = round(
                    results["settle_per_s_c16"] / results["http_insert_ceiling_per_s"], 3
                )
        else:
            notes["settle"] = "not run: --only " + ",".join(sorted(only))
        generated_figures(platform, only, sizes or Sizes(), results, details, notes, say=say)
    finally:
        platform.down(quiet=True)
        shutil.rmtree(root, ignore_errors=True)
    return _report(out_dir, results, details, notes, say)


def _report(
    out_dir: Path,
    results: dict[str, Any],
    details: dict[str, Any],
    notes: dict[str, str],
    say: Callable[[str], None],
) -> dict[str, Any]:
    report = {
        "commit": _commit(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": _cores()},
        **results,
        "details": details,
        "not_measured": notes,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    say(table(report))
    if details.get("wrong_results"):
        # Never on a time: only a wrong answer fails the bench (after the report is written).
        raise SystemExit("wrong results: " + "; ".join(details["wrong_results"]))
    return report


def _cores() -> int:
    import os

    return os.cpu_count() or 0


def table(report: dict[str, Any]) -> str:
    rows = [f"{'figure':<28} {'value':>12}"]
    for key in KEYS:
        value = report.get(key)
        rows.append(f"{key:<28} {('-' if value is None else value)!s:>12}")
    for key, value in report.get("details", {}).items():
        rows.append(f"  {key:<26} {value!s:>12}")
    for key, why in report.get("not_measured", {}).items():
        rows.append(f"  ({key}: {why})")
    return "\n".join(rows)
