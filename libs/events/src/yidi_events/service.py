"""The composition every service shares: engine, event store, relay, consumers, and the FastAPI app
with health, readiness, metrics, error translation and correlation ids.

A service's bootstrap builds a `Runtime` with its name, migrations and consumed projections, and
hands its routers to `create_app`. Entrypoints stay thin: they translate HTTP to commands.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException

from yidi_events import logs, problems, tracing, versioning
from yidi_events.admin import admin_router
from yidi_events.application import PostgresEventStore, WritePath
from yidi_events.application.postgres import PostgresUnit
from yidi_events.application.write_path import project_with
from yidi_events.auth.agency import TokenSigner, TokenVerifier
from yidi_events.auth.oidc import ExternalIssuer
from yidi_events.auth.routes import public
from yidi_events.db import is_unstorable_text, make_engine
from yidi_events.kernel import business_date
from yidi_events.kernel.errors import DomainError
from yidi_events.kernel.time import Clock, ControlledClock, SystemClock
from yidi_events.observed import Observed
from yidi_events.queues import Measure, Queues
from yidi_events.retention import CHASSIS_RETAINED, Retained
from yidi_events.runtime.consumer import DEAD, LAG, Consumer
from yidi_events.runtime.kafka import admin as kafka_admin
from yidi_events.runtime.projection import Projection
from yidi_events.runtime.relay import Relay
from yidi_events.settings import ServiceSettings
from yidi_events.store import EventStore, IdempotencyStore

log = structlog.get_logger(__name__)

BROKER_UP = Gauge(
    "yidi_broker_up", "Whether the broker answered the last readiness check", ["service"]
)


@dataclass(frozen=True)
class Job:
    """Work the calendar makes due (a statement on day 2, a batch at 00:00 on the 26th, expiring
    suspensions). It looks at the runtime clock itself and must be safe to run again: the schedule
    only decides how often it looks."""

    name: str
    run: Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Subscription:
    """A read model of other services' facts, fed from their topics."""

    projection: Projection
    sources: Sequence[str]


@dataclass(frozen=True)
class Reaction(Subscription):
    """Other services' facts this service acts on: its handlers decide and append the service's
    own events, through `Runtime.unit_on` in the consumer's transaction. Consumed like a read
    model, exactly once per fact; unlike one, what it wrote is history, not a cache."""


@dataclass
class Runtime:
    name: str
    settings: ServiceSettings
    migrations_dir: Path
    subscriptions: Sequence[Subscription] = ()
    clock: Clock = field(default_factory=SystemClock)
    jobs: list[Job] = field(default_factory=list)
    own: Sequence[Projection] = ()
    """The service's projections of its own events, kept in the writing transaction."""
    retained: Sequence[Retained] = ()
    """The service's tables kept only for `retention_days` (the chassis adds nonces and
    idempotency records); purged by the `retention.purge` job."""
    queue_measures: Sequence[Measure] = ()
    """The agencies' work queues the service holds, as metrics (`yidi_events.queues`)."""
    engine: AsyncEngine = field(init=False)
    store: EventStore = field(init=False)
    idempotency: IdempotencyStore = field(init=False)
    write: WritePath = field(init=False)
    relay: Relay = field(init=False)
    consumers: list[Consumer] = field(init=False)
    queues: Queues = field(init=False)
    _broker_status: str = field(init=False, default="unknown")
    _broker_checked_at: float = field(init=False, default=-1e9)
    _purged_at: float = field(init=False, default=-1e18)

    def __post_init__(self) -> None:
        if self.settings.clock == "controlled" and isinstance(self.clock, SystemClock):
            self.clock = ControlledClock(self.settings.clock_start)
        self.engine = make_engine(self.settings.database_url, pool_size=self.settings.db_pool_size)
        self.store = EventStore(self.name, self.clock)
        self.idempotency = IdempotencyStore()
        self.write = WritePath(
            PostgresEventStore(self.engine, self.store, self.idempotency),
            self.clock,
            [project_with(p) for p in self.own],
        )
        kafka = self.settings.kafka()
        self.relay = Relay(self.engine, self.store, kafka, service=self.name)
        self.consumers = [
            Consumer(
                self.engine,
                s.projection,
                kafka,
                sources=s.sources,
                group_id=f"{self.name}.{s.projection.name}",
            )
            for s in self.subscriptions
        ]
        self.retained = [*CHASSIS_RETAINED, *self.retained]
        self.queues = Queues(self.name, self.queue_measures)
        self.jobs.append(Job("retention.purge", self._purge_when_due))
        # Every consumer's lag and DLQ series exist from the start, at zero: a dashboard or alert
        # on them must see "nothing dead-lettered", not "no data".
        for consumer in self.consumers:
            for name in consumer.topics:
                DEAD.labels(consumer.name, name)
                LAG.labels(consumer.name, name)

    async def purge_expired(self) -> dict[str, int]:
        """Delete what is past retention: rows per table."""
        retention = timedelta(days=self.settings.retention_days)
        now = self.clock.now()
        purged: dict[str, int] = {}
        async with self.engine.begin() as conn:
            for kept in self.retained:
                purged[kept.table.name] = await kept.purge(conn, now, retention)
        return purged

    async def _purge_when_due(self) -> dict[str, int] | None:
        # The schedule looks every minute; a purge scans tables, so at most once an interval.
        now = asyncio.get_running_loop().time()
        if now - self._purged_at < self.settings.retention_purge_interval_s:
            return None
        self._purged_at = now
        purged = await self.purge_expired()
        return {name: n for name, n in purged.items() if n} or None

    def unit_on(self, conn: AsyncConnection) -> PostgresUnit:
        """A write-path unit inside a transaction the caller opened: a consumer's, whose
        reactions append the service's own events in the same transaction as its offsets."""
        return PostgresUnit(conn, self.store, self.idempotency)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the relay and consumers in the background for the lifetime of the context."""
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        if self.settings.relay_enabled:
            tasks.append(asyncio.create_task(self._supervise("relay", self.relay.run, stop)))
        if self.settings.consumers_enabled:
            for consumer in self.consumers:
                tasks.append(
                    asyncio.create_task(self._supervise(consumer.name, consumer.run, stop))
                )
        if self.settings.schedules_enabled and self.jobs:
            tasks.append(asyncio.create_task(self._supervise("schedule", self._run_jobs, stop)))
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=10)
            await self.engine.dispose()

    async def broker_status(self) -> str:
        """Whether the broker answers a metadata request; remembered a few seconds so readiness
        probes do not open a connection each time."""
        now = asyncio.get_running_loop().time()
        if now - self._broker_checked_at < 5.0:
            return self._broker_status
        admin = kafka_admin(self.settings.kafka(), request_timeout_ms=2000)
        try:
            await asyncio.wait_for(admin.start(), timeout=3)
            await asyncio.wait_for(admin.list_topics(), timeout=3)
            self._broker_status = "ok"
        except Exception as exc:
            self._broker_status = f"down: {exc.__class__.__name__}"
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        self._broker_checked_at = now
        BROKER_UP.labels(self.name).set(1 if self._broker_status == "ok" else 0)
        return self._broker_status

    async def _run_jobs(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for job in self.jobs:
                try:
                    outcome = await job.run()
                    if outcome:
                        log.info("job.ran", job=job.name, outcome=outcome)
                except DomainError as exc:  # not due, or already done: the calendar decides
                    log.debug("job.refused", job=job.name, rule=exc.rule)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.schedule_interval_s)

    async def _supervise(
        self, what: str, run: Callable[[asyncio.Event], Any], stop: asyncio.Event
    ) -> None:
        """Keep a background loop alive: a broker or database outage must not end it for good."""
        while not stop.is_set():
            try:
                await run(stop)
            except Exception as exc:
                log.warning("background.restart", what=what, error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)


# Simulated time stops well before datetime's end (year 9999): the rules add months and years to
# the clock's dates, and that arithmetic must not overflow however far a simulation moved it.
CLOCK_LAST_YEAR = 9000


class ClockChange(BaseModel):
    now: datetime | None = None
    advance_seconds: float | None = None


def verifier_for(settings: ServiceSettings) -> TokenVerifier:
    """The keys a service accepts tokens signed with: those configured, those the identity
    component publishes (fetched when a token names a kid not yet known: rotation), and in
    sandbox mode the key derived from the sandbox secret."""
    verifier = TokenVerifier(jwks_url=settings.jwks_url(), audience=settings.auth_audience)
    if settings.auth_public_keys:
        verifier.accept_jwks(settings.auth_public_keys)
    if settings.sandbox:
        verifier.accept_jwks(TokenSigner.sandbox(settings.auth_secret.get_secret_value()).jwks())
    if settings.oidc_issuer:
        verifier.external = ExternalIssuer(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience or settings.auth_audience,
            jwks_url=settings.oidc_jwks_url,
            user_claim=settings.oidc_user_claim,
            roles_claim=settings.oidc_roles_claim,
            region_claim=settings.oidc_region_claim,
            kind_claim=settings.oidc_kind_claim,
            centre_region=settings.oidc_centre_region,
        )
    return verifier


class Liveness(BaseModel):
    status: str = Field(description="ok while the process answers")
    service: str


class ReadinessChecks(BaseModel):
    database: str = Field(description="ok, or down: the error's class")
    broker: str
    relay: str = Field(description="active, or standby (another replica publishes)")
    consumer_lag: dict[str, int] = Field(description="records behind, per consumer")


class Readiness(BaseModel):
    ready: bool = Field(description="whether the service can serve (its database answers)")
    checks: ReadinessChecks


def create_app(
    runtime: Runtime,
    routers: Sequence[APIRouter],
    *,
    unversioned: Sequence[APIRouter] = (),
    title: str,
    description: str,
    on_startup: Sequence[Callable[[], Any]] = (),
) -> FastAPI:
    settings = runtime.settings
    settings.refuse_insecure()
    logs.configure(runtime.name, json=settings.log_json, level=settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            for hook in on_startup:
                result = hook()
                if asyncio.iscoroutine(result):
                    await result
            yield

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    if tracing.configure(runtime.name, settings.otel_endpoint):
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    app.state.runtime = runtime
    app.state.verifier = verifier_for(settings)

    app.add_middleware(Observed, service=runtime.name)

    @app.exception_handler(DomainError)
    async def refused(_: Request, exc: DomainError) -> JSONResponse:
        return problems.problem(
            exc.status, exc.rule, exc.message, field=exc.field, values=exc.values
        )

    @app.exception_handler(DBAPIError)
    async def unstorable(_: Request, exc: DBAPIError) -> JSONResponse:
        # Text with a NUL passes every model (it is valid JSON and valid UTF-8) and only the
        # database refuses it, after the transaction it was in has rolled back: the caller's
        # mistake, said as one. Anything else is the server's and stays a 500.
        if not is_unstorable_text(exc):
            raise exc
        return problems.problem(
            422, "request.nul_character", "text fields cannot hold the NUL character (\\u0000)"
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return problems.problem(
            422,
            f"request.{first.get('type', 'invalid')}",
            f"{where or 'request'}: {first.get('msg', 'invalid request')}",
            field=where or None,
            errors=[
                problems.FieldError(
                    field=".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                    message=str(e.get("msg")),
                )
                for e in exc.errors()
            ],
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Routing's own refusals (no such path, method not allowed) speak the same problem shape.
        reason = HTTPStatus(exc.status_code).phrase
        return problems.problem(
            exc.status_code,
            f"http.{reason.lower().replace(' ', '_')}",
            str(exc.detail) if exc.detail else reason,
            headers=exc.headers,
        )

    versioning.mount(app, admin_router(runtime))

    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.document(generate_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", tags=["operations"], dependencies=[Depends(public("liveness probe"))])
    async def healthz() -> Liveness:
        return Liveness(status="ok", service=runtime.name)

    @app.get(
        "/readyz",
        tags=["operations"],
        dependencies=[Depends(public("readiness probe"))],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "not ready: no database"}},
    )
    async def readyz() -> JSONResponse:
        checks: dict[str, Any] = {}
        try:
            async with runtime.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"down: {exc.__class__.__name__}"
        checks["broker"] = await runtime.broker_status()
        checks["relay"] = "active" if runtime.relay.active.is_set() else "standby"
        checks["consumer_lag"] = {c.name: sum(c.lag.values()) for c in runtime.consumers}
        # Ready means "can serve": every answer is made from the database, and events written
        # while the broker is away wait in the store for the relay. Taking the gateway out of
        # service for a Kafka outage would stop hospitals for nothing; yidi_broker_up and the
        # relay backlog say the broker is away instead.
        ready = checks["database"] == "ok"
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get(
        "/metrics",
        tags=["operations"],
        include_in_schema=False,
        dependencies=[Depends(public("Prometheus scrape"))],
    )
    async def metrics() -> Response:
        await runtime.relay.backlog()
        await runtime.queues.refresh(runtime.engine, business_date(runtime.clock.now()))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if isinstance(runtime.clock, ControlledClock):
        clock = runtime.clock

        # The controlled clock exists only in sandbox mode (ServiceSettings.refuse_insecure).
        sandbox_clock = APIRouter(
            tags=["operations"],
            dependencies=[Depends(public("the simulated clock (sandbox only)"))],
        )

        @sandbox_clock.get("/admin/clock")
        async def read_clock() -> dict[str, str]:
            return {"now": clock.now().isoformat()}

        @sandbox_clock.post("/admin/clock")
        async def move_clock(change: ClockChange) -> dict[str, str]:
            # Where the clock would land is worked out before it moves: a refused change must
            # leave it where it was, and a clock at the end of the calendar would make every
            # later `now()` overflow (a 500 on every request of the service from then on).
            try:
                delta = timedelta(seconds=change.advance_seconds or 0)
                landing = (change.now or clock.now()) + delta
            except (OverflowError, ValueError) as exc:
                raise DomainError(
                    "clock.out_of_range",
                    f"the clock cannot move there: {exc}",
                    field="advance_seconds" if change.advance_seconds else "now",
                ) from exc
            if landing.year >= CLOCK_LAST_YEAR:
                raise DomainError(
                    "clock.out_of_range",
                    f"the clock cannot move to {landing.isoformat()}: "
                    f"simulated time ends before {CLOCK_LAST_YEAR}",
                    field="now" if change.now is not None else "advance_seconds",
                )
            if delta < timedelta(0):
                raise DomainError(
                    "clock.backwards", "the clock never moves backwards", field="advance_seconds"
                )
            try:
                if change.now is not None:
                    clock.set(change.now)
            except ValueError as exc:
                raise DomainError("clock.backwards", str(exc), field="now") from exc
            if delta:
                clock.advance(delta)
            return {"now": clock.now().isoformat()}

        versioning.mount(app, sandbox_clock)

    # `unversioned`: paths others fix (the national HIS interface, well-known URIs); the
    # service's own API under /v1, its old paths kept as deprecated aliases (`versioning`).
    for router in unversioned:
        app.include_router(router)
    for router in routers:
        versioning.mount(app, router)
    return app
