"""Composition root of the clearing service: settings, runtime, routers, consumed projections."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from yidi_clearing.adapters.rows import PostgresApplicationRows, PostgresPeriodRows
from yidi_clearing.app.hospitals import HospitalHandlers
from yidi_clearing.app.inputs import audit_projection, reconciliation_projection
from yidi_clearing.app.periods import PeriodHandlers
from yidi_clearing.app.projection import own_projection
from yidi_clearing.config import clearing_settings
from yidi_clearing.domain import events as own_events
from yidi_clearing.domain.actors import Actor
from yidi_clearing.domain.settings import ClearingSettings
from yidi_clearing.entrypoints.agency import agency_router
from yidi_clearing.entrypoints.his import his_router
from yidi_events.definition import ServiceDefinition
from yidi_events.service import Job, Runtime, Subscription, create_app
from yidi_events.settings import ServiceSettings

SERVICE = "clearing"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def subscriptions() -> list[Subscription]:
    return [
        Subscription(reconciliation_projection(), sources=["reconciliation"]),
        Subscription(audit_projection(), sources=["audit"]),
    ]


def build_runtime(settings: ServiceSettings | None = None) -> Runtime:
    return Runtime(
        SERVICE,
        settings or ServiceSettings(),
        MIGRATIONS,
        subscriptions(),
        own=[own_projection()],
    )


def create(
    settings: ServiceSettings | None = None, clearing: ClearingSettings | None = None
) -> FastAPI:
    runtime = build_runtime(settings)
    rules = clearing or clearing_settings(
        runtime.settings.province(), runtime.settings.working_calendar()
    )
    periods = PeriodHandlers(runtime.write, rules, PostgresPeriodRows())
    hospitals = HospitalHandlers(runtime.write, PostgresApplicationRows(), rules)
    scheduler = Actor("scheduler", rules.provincial_centre)

    async def run_last_months_steps() -> dict[str, Any]:
        # Month M is cleared during M+1: the steps due today belong to last month's period.
        first_of_month = periods.today().replace(day=1)
        period = (first_of_month - timedelta(days=1)).strftime("%Y-%m")
        return await periods.run_due(period, scheduler)

    runtime.jobs.append(Job("clearing.run_due", run_last_months_steps))
    return create_app(
        runtime,
        [
            agency_router(periods, hospitals, rules, runtime.engine),
            his_router(hospitals, runtime.engine),
        ],
        title="Yidi clearing service",
        description=__doc__ or "",
    )


DEFINITION = ServiceDefinition(
    name=SERVICE,
    port=8004,
    migrations=MIGRATIONS,
    create=create,
    build_runtime=build_runtime,
    events=own_events,
    schemas=SCHEMAS,
)
