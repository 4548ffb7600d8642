"""Composition root of the reconciliation service: settings, runtime, routers, consumed projections."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from yidi_events.db import in_transaction
from yidi_events.kernel import Clock, ControlledClock, SystemClock, business_date
from yidi_events.service import Job, Runtime, Subscription, create_app
from yidi_events.settings import ServiceSettings
from yidi_events.store import EventStore
from yidi_reconciliation.adapters.day_views import make_day_projection
from yidi_reconciliation.app.days import Days
from yidi_reconciliation.app.hospital import Hospitals
from yidi_reconciliation.app.ingest import make_settlement_projection
from yidi_reconciliation.entrypoints.agency import agency_router
from yidi_reconciliation.entrypoints.his import his_router

SERVICE = "reconciliation"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def make_clock(settings: ServiceSettings) -> Clock:
    return (
        ControlledClock(settings.clock_start) if settings.clock == "controlled" else SystemClock()
    )


def make_days(clock: Clock) -> Days:
    # The handlers' store is the runtime's in all but identity: same producer, same clock.
    return Days(EventStore(SERVICE, clock), clock, make_day_projection())


def subscriptions(days: Days | None = None) -> list[Subscription]:
    days = days or make_days(SystemClock())
    return [Subscription(make_settlement_projection(days), sources=["settlement"])]


def build(settings: ServiceSettings | None = None) -> tuple[Runtime, Days]:
    settings = settings or ServiceSettings()
    clock = make_clock(settings)
    days = make_days(clock)
    runtime = Runtime(SERVICE, settings, MIGRATIONS, subscriptions(days), clock=clock)

    async def issue_yesterday() -> list[str]:
        # After 24:00 Asia/Shanghai the day's statements are due to both agencies of each pair.
        yesterday = business_date(clock.now()) - timedelta(days=1)
        issued = await in_transaction(runtime.engine, lambda conn: days.issue(conn, yesterday))
        return [d.pair for d in issued]

    runtime.jobs.append(Job("reconciliation.issue_statements", issue_yesterday))
    return runtime, days


def build_runtime(settings: ServiceSettings | None = None) -> Runtime:
    return build(settings)[0]


def create(settings: ServiceSettings | None = None) -> FastAPI:
    runtime, days = build(settings)
    hospitals = Hospitals(runtime.store, runtime.clock)
    app = create_app(
        runtime,
        [his_router(runtime, hospitals), agency_router(runtime, days)],
        title="Yidi reconciliation service",
        description=__doc__ or "",
    )
    app.state.days = days
    return app
