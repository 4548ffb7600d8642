"""Every route of every service, called with every kind of token: the answers match the table of
docs/api/routes.md (read from the routes' own declarations). A kind a route does not admit is
refused with 403 before the route does anything; a kind it admits is never refused for its kind;
a route that needs a role refuses a caller without one; no route but the declared public ones
answers without a token; and every refused call leaves every event store as it was.

The services run in process on real migrated databases (their own tests' shape), relay and
consumers idle, so nothing else writes while the refusals are counted.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from yidi_events import problems
from yidi_events.auth.agency import KINDS, issue_token
from yidi_events.auth.routes import Access, markdown, table
from yidi_events.definition import services
from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings
from yidi_events.store.schema import events

ROOT = Path(__file__).resolve().parents[2]
SECRET = ServiceSettings().auth_secret.get_secret_value()
EVERY_ROLE = (
    "clerk",
    "reviewer",
    "reconciler",
    "approver",
    "auditor",
    "hospital_admin",
    "reimbursement",
    "treasurer",
    "operator",
    "scheduler",
    "his",
)
REGION = {"agency": "320100", "centre": "320000", "person": "320100", "service": "320100"}
AUTH_RULES = {"auth.kind", "auth.role", "auth.token", "auth.missing"}


@dataclass
class Service:
    name: str
    app: FastAPI
    client: httpx.AsyncClient
    routes: list[Access]

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    async def store(self) -> tuple[Any, ...]:
        async with self.runtime.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(sa.func.count(), sa.func.max(events.c.position)))
            ).one()
        return tuple(row)


@pytest.fixture
async def running(database: Callable[..., str]) -> AsyncIterator[list[Service]]:
    async with AsyncExitStack() as stack:
        found = []
        for name, definition in services().items():
            settings = ServiceSettings(
                database_url=database(definition.migrations),
                kafka_bootstrap="127.0.0.1:1",
                kafka_namespace="unused",
                relay_enabled=False,
                consumers_enabled=False,
                log_json=False,
                log_level="WARNING",
            )
            app = _create(definition.create, settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            )
            found.append(Service(name, app, client, table(name, app)))
        yield found


def _create(factory: Callable[..., FastAPI], settings: ServiceSettings) -> FastAPI:
    return factory(settings)


def _token(kind: str, roles: tuple[str, ...]) -> dict[str, str]:
    token = issue_token(
        SECRET, user_id=f"table-{kind}", region=REGION[kind], roles=roles, kind=kind
    )
    return {"authorization": f"Bearer {token}"}


async def _call(service: Service, route: Access, headers: dict[str, str]) -> httpx.Response:
    path = re.sub(r"\{[^}]+\}", "X1", route.path)
    body = {} if route.method in ("POST", "PUT", "PATCH") else None
    return await service.client.request(route.method, path, headers=headers, json=body)


def _rule(answer: httpx.Response) -> str | None:
    """The rule an RFC 9457 problem names; None when the answer is no such problem."""
    if answer.headers.get("content-type") != problems.MEDIA_TYPE:
        return None
    body = answer.json()
    if body.get("status") != answer.status_code or body.get("type") != (
        f"{problems.TYPE_PREFIX}{body.get('rule')}"
    ):
        return None
    rule = body.get("rule")
    return rule if isinstance(rule, str) else None


def test_the_committed_route_table_is_the_routes_own() -> None:
    rows = [r for name, d in services().items() for r in table(name, _create(d.create, _quiet()))]
    assert (ROOT / "docs" / "api" / "routes.md").read_text() == markdown(rows), "run `make docs`"
    undeclared = [f"{r.service} {r.method} {r.path}" for r in rows if not r.declared]
    assert not undeclared, (
        f"routes that declare neither what they admit nor why they are open: {undeclared}"
    )


def _quiet() -> ServiceSettings:
    return ServiceSettings(database_url="postgresql://unused@127.0.0.1:1/unused", log_json=False)


def _refusals(route: Access) -> tuple[str, str]:
    assert route.admits is not None
    if route.admits.refusal:
        return route.admits.refusal[0], route.admits.refusal[0]
    return "auth.kind", "auth.role"


async def test_every_route_with_every_kind_answers_as_the_table_says(
    running: list[Service],
) -> None:
    before = {s.name: await s.store() for s in running}
    mismatches: list[str] = []
    refused = 0
    # First every call that must be refused, then the event stores, then the admitted calls
    # (which may do what they do).
    for service in running:
        for route in service.routes:
            if route.admits is None:
                continue
            where = f"{service.name} {route.method} {route.path}"
            kind_rule, role_rule = _refusals(route)
            anonymous = await _call(service, route, {})
            refused += 1
            if (anonymous.status_code, _rule(anonymous)) != (401, "auth.missing"):
                mismatches.append(f"{where}: without a token {anonymous.status_code}")
            for kind in sorted(set(KINDS) - route.admits.kinds):
                answer = await _call(service, route, _token(kind, EVERY_ROLE))
                refused += 1
                if (answer.status_code, _rule(answer)) != (403, kind_rule):
                    mismatches.append(f"{where}: {kind} not admitted, got {answer.status_code}")
            if route.admits.roles:
                for kind in sorted(route.admits.kinds):
                    roles = tuple(r for r in EVERY_ROLE if r not in route.admits.roles)
                    answer = await _call(service, route, _token(kind, roles))
                    refused += 1
                    if (answer.status_code, _rule(answer)) != (403, role_rule):
                        mismatches.append(
                            f"{where}: {kind} without its roles: {answer.status_code}"
                        )
    assert not mismatches, "\n".join(mismatches)
    assert refused > 300
    for service in running:
        assert await service.store() == before[service.name], service.name

    for service in running:
        for route in service.routes:
            where = f"{service.name} {route.method} {route.path}"
            if route.admits is None:
                answer = await _call(service, route, {})
                if answer.status_code == 401:
                    mismatches.append(f"{where}: public, but 401 without a token")
                continue
            kind_rule, role_rule = _refusals(route)
            for kind in sorted(route.admits.kinds):
                answer = await _call(service, route, _token(kind, EVERY_ROLE))
                if answer.status_code == 401 or _rule(answer) in {
                    *AUTH_RULES,
                    kind_rule,
                    role_rule,
                }:
                    mismatches.append(f"{where}: {kind} admitted, got {answer.text[:160]}")
    assert not mismatches, "\n".join(mismatches)
