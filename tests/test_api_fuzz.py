"""Bad input (issue 9): schemathesis generates requests for every operation of every service's
OpenAPI document and sends them to the real app (real migrated PostgreSQL, real broker namespace),
in process over ASGI, authenticated as real agencies. Two properties must hold for every request:

1. no 5xx: whatever arrives, the service answers with a refusal or a result, never a crash;
2. a refusal changes nothing: for every status >= 400 the event store (count and max position)
   and the idempotency table are exactly what they were before the request.

Accepted requests may change state, and do: each service keeps one app for all its operations, so
later operations meet what earlier ones created (ordering is fixed, so a failure reproduces).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
import sqlalchemy as sa
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.schemas import BaseSchema

from yidi_audit import bootstrap as audit_bootstrap
from yidi_clearing import bootstrap as clearing_bootstrap
from yidi_events.auth.agency import issue_token
from yidi_events.runtime.kafka import KafkaSettings, ensure_topics
from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings
from yidi_events.store.schema import events, idempotency
from yidi_filing import bootstrap as filing_bootstrap
from yidi_reconciliation import bootstrap as reconciliation_bootstrap
from yidi_settlement import bootstrap as settlement_bootstrap
from yidi_stack.infra import Infra, run_sync
from yidi_stack.pytest_plugin import Databases

# Monday 2026-03-02, 10:00 in Shanghai: the services' own tests start their controlled clocks here.
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
BOOTSTRAPS: dict[str, ModuleType] = {
    "filing": filing_bootstrap,
    "settlement": settlement_bootstrap,
    "reconciliation": reconciliation_bootstrap,
    "clearing": clearing_bootstrap,
    "audit": audit_bootstrap,
}
ROLES = ("reviewer", "scheduler", "operator", "approver", "hospital_admin")
SECRET = ServiceSettings().auth_secret.get_secret_value()


@dataclass(frozen=True)
class Caller:
    """Who sends a generated request; drawn per example so each operation meets several."""

    name: str
    region: str
    kind: str
    roles: tuple[str, ...]

    def headers(self) -> dict[str, str]:
        token = issue_token(
            SECRET,
            user_id=f"fuzz-{self.name}",
            region=self.region,
            roles=self.roles,
            kind=self.kind,
        )
        return {"Authorization": f"Bearer {token}"}


CALLERS = (
    Caller("nanjing", "320100", "agency", ROLES),  # a visit place
    Caller("suzhou", "320500", "agency", ROLES),  # an insured place
    Caller("centre", "320000", "centre", ROLES),  # the provincial centre
    # The gateway's forwarding identity: without it /internal/his refuses before reading the body.
    Caller("gateway", "320100", "service", ("his",)),
)

# One seed for every operation (schemathesis derives each operation's from it): CI reproduces.
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20260302,
        "generation": {"mode": "all", "max-examples": 15, "database": "none"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
SETTINGS = hypothesis.settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=list(hypothesis.HealthCheck),
)


STATE = sa.text(
    f"""
    SELECT (SELECT count(*) FROM {events.name}),
           (SELECT max(position) FROM {events.name}),
           (SELECT count(*) FROM {idempotency.name}),
           (SELECT md5(string_agg(concat_ws('|', scope, key, request_hash, response::text),
                                  E'\\n' ORDER BY scope, key))
              FROM {idempotency.name})
    """
)


def service_settings(database_url: str, kafka: KafkaSettings) -> ServiceSettings:
    # As the services' own tests: relay and consumers idle (nothing else writes while a request is
    # judged), controlled clock, quiet logs.
    return ServiceSettings(
        database_url=database_url,
        kafka_bootstrap=kafka.bootstrap,
        kafka_namespace=kafka.namespace,
        relay_enabled=False,
        consumers_enabled=False,
        clock="controlled",
        clock_start=START,
        log_json=False,
        log_level="WARNING",
    )


def openapi(service: str) -> dict[str, Any]:
    """The document the service serves at /openapi.json, read at import time (parametrization
    needs it before any fixture runs) from an app built with the same settings shape: building
    an app opens no connection. The fixture checks the running app serves the very same one."""
    unused = KafkaSettings("127.0.0.1:1", "unused")
    app: FastAPI = BOOTSTRAPS[service].create(
        service_settings("postgresql://unused@127.0.0.1:1/unused", unused)
    )
    document: dict[str, Any] = app.openapi()
    return document


def load_schema(service: str) -> BaseSchema:
    schema = schemathesis.openapi.from_dict(openapi(service), config=CONFIG)
    # The HIS gateway takes a body signed with the hospital's secret over its exact bytes, which
    # schemathesis cannot produce: every generated call would stop at the signature check. It is
    # fuzzed by the settlement service's own gateway tests; everything else here is an agency or
    # operations API and is fuzzed.
    return schema.exclude(path_regex=r"^/fsi/")


@dataclass
class Running:
    """One service's app in its lifespan, driven over httpx.ASGITransport like the services' own
    tests drive it; the portal's event loop owns the app, its engine and every call to them."""

    app: FastAPI
    client: httpx.AsyncClient
    portal: BlockingPortal
    last_state: tuple[Any, ...] | None = None

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def send(self, case: Case[Any], caller: Caller) -> httpx.Response:
        # The exact request schemathesis would send (its own serialisation), plus the caller's
        # bearer token, which is not in the document (the services read the header themselves).
        kwargs = case.as_transport_kwargs(base_url="http://fuzz", headers=caller.headers())
        prepared = requests.Request(
            method=kwargs["method"],
            url=kwargs["url"],
            headers=kwargs.get("headers"),
            params=kwargs.get("params"),
            cookies=kwargs.get("cookies"),
            json=kwargs.get("json"),
            data=kwargs.get("data"),
            files=kwargs.get("files"),
        ).prepare()
        headers = [
            (name.encode("latin-1"), value if isinstance(value, bytes) else value.encode("latin-1"))
            for name, value in prepared.headers.items()
        ]
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        assert body is None or isinstance(body, bytes), "a streamed body is never prepared here"

        async def request() -> httpx.Response:
            return await self.client.request(
                str(prepared.method), str(prepared.url), headers=headers, content=body
            )

        return self.portal.call(request)

    def state(self) -> tuple[Any, ...]:
        """What a refusal must leave as it was: the event store's size and head, and a digest of
        every row of the idempotency table, in one round trip (it runs for every request)."""

        async def read() -> tuple[Any, ...]:
            async with self.runtime.engine.connect() as conn:
                return tuple((await conn.execute(STATE)).one())

        return self.portal.call(read)


class Apps:
    """Starts each service's app on first use, stops them all when the module is done."""

    def __init__(self, infra: Infra, databases: Databases, portal: BlockingPortal) -> None:
        self.infra = infra
        self.databases = databases
        self.portal = portal
        self.running: dict[str, Running] = {}
        self.stack = ExitStack()

    def get(self, service: str) -> Running:
        if service not in self.running:
            self.running[service] = self.start(service)
        return self.running[service]

    def start(self, service: str) -> Running:
        bootstrap = BOOTSTRAPS[service]
        # The `kafka_namespace` fixture is per test; an app shared by a service's operations needs
        # a namespace of its own for as long, so it is made here the same way.
        kafka = KafkaSettings(self.infra.kafka_bootstrap, f"t{uuid.uuid4().hex[:10]}")
        run_sync(ensure_topics(kafka))
        settings = service_settings(self.databases.create(bootstrap.MIGRATIONS), kafka)
        app: FastAPI = bootstrap.create(settings)
        assert app.openapi() == openapi(service), "the fuzzed document is not the one served"
        self.stack.enter_context(
            self.portal.wrap_async_context_manager(app.router.lifespan_context(app))
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fuzz")
        self.stack.enter_context(self.portal.wrap_async_context_manager(client))
        return Running(app, client, self.portal)

    def close(self) -> None:
        self.stack.close()


@pytest.fixture(scope="module")
def apps(infra: Infra, databases: Databases) -> Iterator[Apps]:
    with start_blocking_portal() as portal:
        started = Apps(infra, databases, portal)
        try:
            yield started
        finally:
            started.close()


def check(running: Running, case: Case[Any], caller: Caller) -> None:
    # Nothing else writes (relay, consumers and schedules are off), so the state read after the
    # previous request is still the state before this one; a failed example leaves none behind.
    before, running.last_state = running.last_state or running.state(), None
    response = running.send(case, caller)
    after = running.state()

    def explain(problem: str) -> str:
        return (
            f"{case.method} {case.formatted_path} as {caller.name}: {problem}\n"
            f"{case.as_curl_command()}\n-> {response.status_code} {response.text}"
        )

    assert response.status_code < 500, explain("a server error")
    if response.status_code >= 400:
        assert after == before, explain(f"refused, yet the state moved {before} -> {after}")
    running.last_state = after


FuzzTest = Callable[["Case[Any]", Caller, Apps], None]


def fuzz(service: str) -> Callable[[FuzzTest], FuzzTest]:
    """Parametrize a test by every operation of the service's document, each example drawing a
    caller too, with the bounded, reproducible settings above."""
    schema = load_schema(service)

    def decorate(test: FuzzTest) -> FuzzTest:
        given = schema.given(caller=st.sampled_from(CALLERS))
        parametrized: FuzzTest = schema.parametrize()(given(SETTINGS(test)))
        return parametrized

    return decorate


@fuzz("filing")
def test_filing_api_survives_generated_requests(
    case: Case[Any], caller: Caller, apps: Apps
) -> None:
    check(apps.get("filing"), case, caller)


@fuzz("settlement")
def test_settlement_api_survives_generated_requests(
    case: Case[Any], caller: Caller, apps: Apps
) -> None:
    check(apps.get("settlement"), case, caller)


@fuzz("reconciliation")
def test_reconciliation_api_survives_generated_requests(
    case: Case[Any], caller: Caller, apps: Apps
) -> None:
    check(apps.get("reconciliation"), case, caller)


@fuzz("clearing")
def test_clearing_api_survives_generated_requests(
    case: Case[Any], caller: Caller, apps: Apps
) -> None:
    check(apps.get("clearing"), case, caller)


@fuzz("audit")
def test_audit_api_survives_generated_requests(case: Case[Any], caller: Caller, apps: Apps) -> None:
    check(apps.get("audit"), case, caller)
