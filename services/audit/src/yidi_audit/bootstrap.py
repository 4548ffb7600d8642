"""Composition root of the audit service: settings, runtime, routers, consumed projections."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from yidi_audit.adapters.lookups import PostgresAuditReads
from yidi_audit.adapters.read_models import own_projection
from yidi_audit.app import cases, collaboration
from yidi_audit.app.context import Audit, AuditSettings
from yidi_audit.app.facts_policy import filing_projection, settlement_projection
from yidi_audit.domain import events as own_events
from yidi_audit.entrypoints import api, his
from yidi_events.definition import ServiceDefinition
from yidi_events.kernel import DomainError
from yidi_events.province import overlay, section
from yidi_events.service import Job, Reaction, Runtime, Subscription, create_app
from yidi_events.settings import ServiceSettings

SERVICE = "audit"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def make_audit(settings: AuditSettings | None = None) -> Audit:
    return Audit(settings or AuditSettings(), own_projection())


def subscriptions(audit: Audit | None = None) -> list[Subscription]:
    audit = audit or make_audit()
    return [
        Reaction(settlement_projection(audit), sources=["settlement"]),
        Reaction(filing_projection(audit), sources=["filing"]),
    ]


def province_settings(settings: ServiceSettings) -> AuditSettings:
    """The province file's `[audit]` section over the defaults (DOMAIN.md section 5): rule
    thresholds, sanction and deadline lengths; checked at start."""
    defaults = AuditSettings(calendar=settings.working_calendar())
    return overlay(defaults, section(settings.province(), "audit"), "[audit]")


def build_runtime(settings: ServiceSettings | None = None, audit: Audit | None = None) -> Runtime:
    settings = settings or ServiceSettings()
    audit = audit or make_audit(province_settings(settings))
    runtime = Runtime(
        SERVICE,
        settings,
        MIGRATIONS,
        subscriptions(audit),
        own=[audit.own],
    )
    audit.bind(runtime.write, PostgresAuditReads(), runtime.unit_on)
    bound = audit

    async def daily_work() -> dict[str, Any]:
        done: dict[str, Any] = {
            "suspensions_ended": await cases.expire(bound),
            "auto_confirmed": await collaboration.auto_confirm(bound),
        }
        if bound.today().day == 26:  # the 协查 batch is built at 00:00 on the 26th
            with contextlib.suppress(DomainError):  # already built today
                done["batch"] = await collaboration.build_batch(bound)
        return {k: v for k, v in done.items() if v}

    runtime.jobs.append(Job("audit.daily", daily_work))
    return runtime


def create(
    settings: ServiceSettings | None = None, audit_settings: AuditSettings | None = None
) -> FastAPI:
    settings = settings or ServiceSettings()
    audit = make_audit(audit_settings or province_settings(settings))
    runtime = build_runtime(settings, audit)
    app = create_app(
        runtime,
        [api.router, his.router],
        title="Yidi audit service",
        description=__doc__ or "",
    )
    app.state.audit = audit
    return app


DEFINITION = ServiceDefinition(
    name=SERVICE,
    port=8005,
    migrations=MIGRATIONS,
    create=create,
    build_runtime=build_runtime,
    events=own_events,
    schemas=SCHEMAS,
)
