"""Composition root of the audit service: settings, runtime, routers, consumed projections."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from yidi_events.service import Runtime, Subscription, create_app
from yidi_events.settings import ServiceSettings

SERVICE = "audit"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def subscriptions() -> list[Subscription]:
    return []


def build_runtime(settings: ServiceSettings | None = None) -> Runtime:
    return Runtime(SERVICE, settings or ServiceSettings(), MIGRATIONS, subscriptions())


def create(settings: ServiceSettings | None = None) -> FastAPI:
    runtime = build_runtime(settings)
    return create_app(
        runtime,
        [],
        title="Yidi audit service",
        description=__doc__ or "",
    )
