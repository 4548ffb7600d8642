"""Who may call what: every route of a service either admits kinds and roles (`admit`, through
its principal) or says why it is open to anyone (`public`). Both are read back from the routes
themselves, so the table in docs/api/routes.md and the test that calls every route with every
kind (tests/security/test_route_table.py) check what the code does, not what a list says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant

from yidi_events.auth.agency import KINDS, Admits, admission_of, authenticate
from yidi_events.versioning import is_alias

_PUBLIC: dict[Callable[[], None], str] = {}


def public(reason: str) -> Callable[[], None]:
    """A dependency declaring a route open without a bearer token, and why (a probe, the login
    itself, or a HIS route authenticated by the hospital's signature instead):
    `@router.get(..., dependencies=[Depends(public("liveness probe"))])`."""

    def open_to_anyone() -> None:
        return None

    _PUBLIC[open_to_anyone] = reason
    return open_to_anyone


@dataclass(frozen=True)
class Access:
    service: str
    method: str
    path: str
    admits: Admits | None
    public: str | None
    authenticated: bool

    @property
    def declared(self) -> bool:
        """Exactly one declaration, and a route that reads a bearer token says what it admits."""
        if self.admits is not None:
            return self.public is None
        return self.public is not None and not self.authenticated

    def admitted(self, kind: str, roles: frozenset[str]) -> bool:
        if self.admits is None:
            return True
        return kind in self.admits.kinds and (
            not self.admits.roles or bool(self.admits.roles & roles)
        )


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def table(service: str, app: FastAPI) -> list[Access]:
    rows: list[Access] = []
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        # An unversioned alias is the same route as its /v1 path, admitting the same callers.
        if not isinstance(route, routing.APIRoute) or is_alias(context):
            continue
        calls = [d.call for d in _walk(route.dependant)]
        admissions = [a for a in map(admission_of, calls) if a is not None]
        reasons = [_PUBLIC[c] for c in calls if c in _PUBLIC]
        for method in sorted(context.methods or ()):
            rows.append(
                Access(
                    service=service,
                    method=method,
                    path=str(context.path),
                    admits=admissions[0] if len(admissions) == 1 else None,
                    public=reasons[0] if len(reasons) == 1 and not admissions else None,
                    authenticated=authenticate in calls,
                )
            )
    return rows


def markdown(rows: list[Access]) -> str:
    lines = [
        "# Who may call what",
        "",
        "Generated from the routes' own declarations by `make docs` (`yidi_events.auth.routes`);",
        "`tests/security/test_route_table.py` calls every route with every kind of token and checks",
        "the answers against it. Kinds: " + ", ".join(f"`{k}`" for k in KINDS) + ". Roles: the",
        "caller must hold one of them (none listed: any role).",
        "",
        "| service | method | path | kinds | roles |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        if row.admits is not None:
            kinds = ", ".join(sorted(row.admits.kinds))
            roles = ", ".join(sorted(row.admits.roles)) or "any"
        else:
            kinds = f"public: {row.public}"
            roles = ""
        lines.append(f"| {row.service} | {row.method} | `{row.path}` | {kinds} | {roles} |")
    return "\n".join(lines) + "\n"
