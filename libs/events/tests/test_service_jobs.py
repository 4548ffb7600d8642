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


async def test_the_schedule_purges_nonces_idempotency_records_and_files_past_retention(
    database: Any,
) -> None:
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from yidi_events.retention import Retained
    from yidi_events.store.schema import idempotency, request_nonces

    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # the service's (controlled) clock
    files = sa.Table(
        "example_files",
        sa.MetaData(),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("download_until", sa.DateTime(timezone=True), nullable=False),
    )
    settings = ServiceSettings(
        database_url=database(),
        schedules_enabled=True,
        schedule_interval_s=0.05,
        relay_enabled=False,
        consumers_enabled=False,
        clock="controlled",
        clock_start=now,
        retention_days=30,
    )
    service = Runtime(
        "filing",
        settings,
        Path("."),
        retained=[Retained(files, "created_at", keep_while="download_until")],
    )
    day = timedelta(days=1)
    async with service.engine.begin() as conn:
        await conn.run_sync(files.metadata.create_all)
        await conn.execute(
            request_nonces.insert(),
            [
                {"institution_code": "H1", "nonce": "old", "seen_at": now - 30 * day - 1 * day},
                {"institution_code": "H1", "nonce": "new", "seen_at": now - 29 * day},
            ],
        )
        # Idempotency rows are stamped by the database's clock: aged on it.
        for key, age in (("old", 31), ("new", 29)):
            await conn.execute(
                idempotency.insert().values(
                    scope="his",
                    key=key,
                    request_hash="h",
                    response={},
                    created_at=sa.func.now() - sa.text(f"interval '{age} days'"),
                )
            )
        await conn.execute(
            files.insert(),
            [
                {"name": "old", "created_at": now - 31 * day, "download_until": now - 20 * day},
                {"name": "downloadable", "created_at": now - 31 * day, "download_until": now + day},
                {"name": "new", "created_at": now - 29 * day, "download_until": now - day},
            ],
        )

    async def left() -> dict[str, list[str]]:
        async with service.engine.connect() as conn:
            return {
                "nonces": sorted((await conn.execute(sa.select(request_nonces.c.nonce))).scalars()),
                "idempotency": sorted((await conn.execute(sa.select(idempotency.c.key))).scalars()),
                "files": sorted((await conn.execute(sa.select(files.c.name))).scalars()),
            }

    kept = {"nonces": ["new"], "idempotency": ["new"], "files": ["downloadable", "new"]}
    async with service.running():
        for _ in range(100):
            if await left() == kept:
                break
            await asyncio.sleep(0.05)
        assert await left() == kept
        # At most once per purge interval (an hour by default), however often the schedule looks.
        assert await service._purge_when_due() is None
