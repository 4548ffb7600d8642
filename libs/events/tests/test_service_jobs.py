"""Scheduled jobs: the runtime runs them on its interval when schedules are enabled, a refusal by
the calendar does not stop the others, and nothing runs when schedules are off."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from yidi_events.kernel import DomainError
from yidi_events.service import Job, Runtime
from yidi_events.settings import ServiceSettings


def runtime(dsn: str, *, enabled: bool, jobs: list[Job]) -> Runtime:
    settings = ServiceSettings(
        database_url=dsn,
        schedules_enabled=enabled,
        schedule_interval_s=0.05,
        relay_enabled=False,
        consumers_enabled=False,
    )
    return Runtime("filing", settings, Path("."), jobs=jobs)


async def test_enabled_jobs_run_repeatedly_and_a_refusal_does_not_stop_the_others(
    database: Any,
) -> None:
    runs: list[str] = []

    async def not_due() -> None:
        runs.append("refused")
        raise DomainError("calendar.not_due", "nothing due today")

    async def due() -> str:
        runs.append("ran")
        return "done"

    service = runtime(database(), enabled=True, jobs=[Job("not_due", not_due), Job("due", due)])
    async with service.running():
        await asyncio.sleep(0.4)
    assert runs.count("ran") >= 3
    assert (
        runs.count("refused") == runs.count("ran")
        or abs(runs.count("refused") - runs.count("ran")) == 1
    )


async def test_no_job_runs_when_schedules_are_off(database: Any) -> None:
    runs: list[str] = []

    async def due() -> None:
        runs.append("ran")

    async with runtime(database(), enabled=False, jobs=[Job("due", due)]).running():
        await asyncio.sleep(0.2)
    assert runs == []
