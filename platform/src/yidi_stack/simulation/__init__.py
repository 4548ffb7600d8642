"""The simulated province `make run` drives through the platform, and the end-to-end suite too.

`run_province` needs a platform started with a controlled clock (YIDI_CLOCK=controlled) and the
sandbox loaded; it returns the `Outcome` and the cross-checks; `simulate` also prints the report
and fails when a cross-check does not hold.
"""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from yidi_events.kernel.time import SHANGHAI
from yidi_stack.platform import Platform
from yidi_stack.simulation import person_years
from yidi_stack.simulation.claims import manual_claims
from yidi_stack.simulation.drive import Driver, Outcome
from yidi_stack.simulation.province import Province
from yidi_stack.simulation.report import Check, cross_checks, render

__all__ = ["Check", "Outcome", "Province", "run_province", "simulate"]


def run_province(
    platform: Platform, *, persons: int, days: int, seed: int, progress: Progress | None = None
) -> tuple[Outcome, list[Check]]:
    province = Province.generate(persons=persons, days=days, seed=seed)
    progress = progress or Progress(disable=True)
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=64)) as http:
        driver = Driver(platform, http, progress)
        out = Outcome(province)
        start = driver.clock.now().astimezone(SHANGHAI).date()
        driver.publish_policies(start)
        driver.enrol(out)
        driver.file(out)
        driver.certify_chronic(out, start)
        for number, visits in enumerate(province.days, start=1):
            day = start + timedelta(days=number - 1)
            driver.traffic(out, day, visits, number)
            driver.close_day(out, day, first=number == 1)
        manual_claims(driver, out, start)
        driver.review(out)
        driver.clear(out, f"{start:%Y-%m}")
        person_years.collect(driver, out)
    return out, cross_checks(out)


def simulate(
    platform: Platform, *, persons: int, days: int, seed: int, console: Console | None = None
) -> Outcome:
    # Wide enough for the settlement table even when the output is a pipe or a CI log.
    console = console or Console(width=max(Console().width, 150))
    started = time.monotonic()
    with Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        out, checks = run_province(
            platform, persons=persons, days=days, seed=seed, progress=progress
        )
    render(out, checks, console, time.monotonic() - started)
    failed = [c for c in checks if not c.ok]
    if failed:
        raise AssertionError("cross-checks failed: " + "; ".join(c.name for c in failed))
    return out
