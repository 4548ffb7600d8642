"""Composition root of the reconciliation service: settings, runtime, routers, consumed projections."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from yidi_events.definition import ServiceDefinition
from yidi_events.kernel import business_date
from yidi_events.province import ProvinceFileError, section
from yidi_events.retention import Retained
from yidi_events.service import Job, Reaction, Runtime, create_app
from yidi_events.settings import ServiceSettings
from yidi_reconciliation.adapters.day_views import PostgresDayRows, make_day_projection
from yidi_reconciliation.adapters.hospital_books import PostgresHospitalBooks
from yidi_reconciliation.adapters.tables import detail_files
from yidi_reconciliation.app.days import Days
from yidi_reconciliation.app.hospital import Hospitals
from yidi_reconciliation.app.ingest import follow_settlements, make_settlement_projection
from yidi_reconciliation.app.queues import days_to_confirm
from yidi_reconciliation.domain import events as own_events
from yidi_reconciliation.domain.records import DEFAULT_SETTINGS, ReconciliationSettings
from yidi_reconciliation.entrypoints.agency import agency_router
from yidi_reconciliation.entrypoints.his import his_router

SERVICE = "reconciliation"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def province_rules(settings: ServiceSettings) -> ReconciliationSettings:
    """The province file's `[reconciliation] month_close_day`: the one value the agencies'
    deadline and clearing's statement (which waits for it) both read."""
    close_day = section(settings.province(), "reconciliation").get(
        "month_close_day", DEFAULT_SETTINGS.month_close_day
    )
    if not isinstance(close_day, int) or not 1 <= close_day <= 28:
        raise ProvinceFileError(
            f"province file: [reconciliation] month_close_day {close_day!r} is not a day 1-28"
        )
    return replace(DEFAULT_SETTINGS, month_close_day=close_day)


def build(settings: ServiceSettings | None = None) -> tuple[Runtime, Days]:
    settings = settings or ServiceSettings()
    rules = province_rules(settings)
    settlements = make_settlement_projection()
    runtime = Runtime(
        SERVICE,
        settings,
        MIGRATIONS,
        [Reaction(settlements, sources=["settlement"])],
        own=[make_day_projection()],
        # 9101 uploads and 3202 result files hold settlement lines of named persons: kept past
        # retention only while the hospital may still download them.
        retained=[Retained(detail_files, "created_at", keep_while="download_until")],
        queue_measures=[days_to_confirm(rules)],
    )
    days = Days(runtime.write, PostgresDayRows(), rules)
    follow_settlements(settlements, days, runtime.unit_on)

    async def issue_yesterday() -> list[str]:
        # After 24:00 Asia/Shanghai the day's statements are due to both agencies of each pair.
        yesterday = business_date(runtime.clock.now()) - timedelta(days=1)
        return [d.pair for d in await days.issue(yesterday)]

    runtime.jobs.append(Job("reconciliation.issue_statements", issue_yesterday))
    return runtime, days


def build_runtime(settings: ServiceSettings | None = None) -> Runtime:
    return build(settings)[0]


def create(settings: ServiceSettings | None = None) -> FastAPI:
    runtime, days = build(settings)
    hospitals = Hospitals(runtime.write, PostgresHospitalBooks())
    app = create_app(
        runtime,
        [his_router(hospitals), agency_router(runtime, days)],
        title="Yidi reconciliation service",
        description=__doc__ or "",
    )
    app.state.days = days
    return app


DEFINITION = ServiceDefinition(
    name=SERVICE,
    port=8003,
    migrations=MIGRATIONS,
    create=create,
    build_runtime=build_runtime,
    events=own_events,
    schemas=SCHEMAS,
)
