"""The generated-data figures (recon_1m_s, clearing_400_s, rebuild_events_per_s), each a part the
runner can run alone. A part that cannot be measured leaves its figure null with the reason; a
wrong result is recorded under `wrong_results`, which makes the run fail once the report is
written."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from yidi_stack.bench.clearing_month import clearing_month
from yidi_stack.bench.fresh import fresh_database
from yidi_stack.bench.rebuild import rebuild_chain
from yidi_stack.bench.recon_day import WrongResult, recon_day
from yidi_stack.platform import Platform

PARTS = frozenset({"settle", "recon", "clearing", "rebuild"})


@dataclass(frozen=True)
class Sizes:
    recon_settlements: int = 1_000_000
    clearing_agencies: int = 400
    clearing_settlements: int = 20_000
    rebuild_events: int = 20_000


def generated_figures(
    platform: Platform,
    only: frozenset[str],
    sizes: Sizes,
    results: dict[str, Any],
    details: dict[str, Any],
    notes: dict[str, str],
    *,
    say: Callable[[str], None],
) -> None:
    parts: list[tuple[str, str, Callable[[], None]]] = [
        ("recon", "recon_1m_s", lambda: _recon(platform, sizes, results, details, say)),
        ("clearing", "clearing_400_s", lambda: _clearing(platform, sizes, results, details, say)),
        (
            "rebuild",
            "rebuild_events_per_s",
            lambda: _rebuild(platform, sizes, results, details, say),
        ),
    ]
    for part, key, measure in parts:
        if part not in only:
            notes[key] = "not run: --only " + ",".join(sorted(only))
            continue
        try:
            measure()
        except WrongResult as wrong:
            details.setdefault("wrong_results", []).append(f"{key}: {wrong}")
            notes[key] = f"WRONG RESULT: {wrong}"
        except Exception as exc:  # a figure that could not be measured is null, with why
            notes[key] = f"not measured: {exc!r}"[:500]


def _recon(
    platform: Platform,
    sizes: Sizes,
    results: dict[str, Any],
    details: dict[str, Any],
    say: Callable[[str], None],
) -> None:
    n = sizes.recon_settlements
    say(f"reconciliation: a day of {n} settlements, every hospital's 3201 and one 3202 ...")
    dsn = fresh_database(platform, "reconciliation", "bench_reconciliation")
    done = asyncio.run(recon_day(dsn, settlements=n))
    results["recon_1m_s"] = round(done.total_s, 2)
    details["recon_settlements"] = done.settlements
    details["recon_hospitals"] = done.hospitals
    details["recon_3201_checks"] = done.totals_checks
    details["recon_3201_all_hospitals_s"] = round(done.totals_s, 2)
    details["recon_3202_rows"] = done.detail_rows
    details["recon_3202_large_hospital_s"] = round(done.detail_s, 2)
    details["recon_load_s (setup)"] = round(done.load_s, 1)


def _clearing(
    platform: Platform,
    sizes: Sizes,
    results: dict[str, Any],
    details: dict[str, Any],
    say: Callable[[str], None],
) -> None:
    say(
        f"clearing: a month over {sizes.clearing_agencies} agencies,"
        f" {sizes.clearing_settlements} settlements, statement to net positions ..."
    )
    dsn = fresh_database(platform, "clearing", "bench_clearing")
    done = asyncio.run(
        clearing_month(
            dsn, agency_count=sizes.clearing_agencies, settlements=sizes.clearing_settlements
        )
    )
    results["clearing_400_s"] = round(done.total_s, 2)
    details["clearing_agencies"] = done.agencies
    details["clearing_lines"] = done.lines
    details["clearing_settlements"] = done.settlements
    details["clearing_held"] = done.held
    details["clearing_statement_s"] = round(done.generate_s, 2)
    details["clearing_two_approvals_s"] = round(done.approve_s, 2)
    details["clearing_netting_s"] = round(done.net_s, 2)
    details["clearing_load_s (setup)"] = round(done.load_s, 1)


def _rebuild(
    platform: Platform,
    sizes: Sizes,
    results: dict[str, Any],
    details: dict[str, Any],
    say: Callable[[str], None],
) -> None:
    n = sizes.rebuild_events
    say(f"rebuild: {n} facts a projection, every projection of every service ...")
    dsns = {
        service: fresh_database(platform, service, f"bench_rebuild_{service}")
        for service in (
            "settlement",
            "reconciliation",
            "clearing",
            "audit",
            "filing",
            "reimbursement",
        )
    }
    chain = asyncio.run(rebuild_chain(dsns, platform.broker.bootstrap, events=n))
    for rebuilt in chain.rebuilt:
        details[f"rebuild_{rebuilt.projection}_per_s"] = round(rebuilt.per_second)
        details[f"rebuild_{rebuilt.projection}_events"] = rebuilt.events
    for consumed in chain.live:
        details[f"consumer_{consumed.projection}_per_s"] = round(consumed.per_second)
    slowest = min(chain.rebuilt, key=lambda r: r.per_second)
    results["rebuild_events_per_s"] = round(slowest.per_second)
    details["rebuild_slowest"] = slowest.projection
    details["rebuild_not_covered"] = (
        "filing's person-year, claims and audit-policy process managers: no tables to rebuild"
    )
