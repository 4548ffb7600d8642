"""The version in every service API's path (`/v1/...`), and the unversioned paths kept as
deprecated aliases while deployed clients move.

FastAPI mounts each service router twice: under `/v1`, documented, and at its old path, hidden
from the OpenAPI and marked by `unversioned_alias`. An alias runs the same handler with the same
admission; its answers (refusals included) carry `Deprecation` (RFC 9745: the date the
unversioned paths were deprecated, as a structured-field date) and a `Link` to the `/v1` path
(`rel="successor-version"`, RFC 5829), so a client's logs say where to go.

Not versioned, because they are not this API: the national HIS gateway's paths (the national
interface fixes them), well-known URIs (RFC 8615: `/.well-known/jwks.json` is where verifiers
look), and the probes and scrape (`/healthz`, `/readyz`, `/metrics`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.datastructures import MutableHeaders
from starlette.types import Scope

VERSION = "v1"
PREFIX = f"/{VERSION}"
# The day /v1 was published: from then on the unversioned paths are deprecated (RFC 9745 allows
# a date in the past: "has been deprecated at that date").
UNVERSIONED_DEPRECATED = datetime(2026, 12, 7, tzinfo=UTC)

_SUCCESSOR = "yidi.successor"


def unversioned_alias(request: Request) -> None:
    """Marks a request that came in on an unversioned alias with the `/v1` path it moved to;
    `mark_deprecated` adds the headers once the answer is made, whatever it is."""
    scope = request.scope
    root = scope.get("root_path", "")
    path: str = scope["path"]
    relative = path[len(root) :] if root and path.startswith(root) else path
    query = scope.get("query_string", b"").decode("latin-1")
    scope[_SUCCESSOR] = f"{root}{PREFIX}{relative}" + (f"?{query}" if query else "")


def mount(app: FastAPI, router: APIRouter) -> None:
    """The router under `/v1`, and at its old paths as a hidden, deprecated alias."""
    app.include_router(router, prefix=PREFIX)
    app.include_router(
        router,
        include_in_schema=False,
        deprecated=True,
        dependencies=[Depends(unversioned_alias)],
    )


def is_alias(route: object) -> bool:
    """Whether a route (a FastAPI route context) is an unversioned alias: the route table lists
    each operation once, at its `/v1` path."""
    return any(
        getattr(d, "dependency", None) is unversioned_alias
        for d in getattr(route, "dependencies", None) or ()
    )


def mark_deprecated(scope: Scope, headers: MutableHeaders) -> None:
    """On an answer to an unversioned alias: when it was deprecated and the path it moved to."""
    successor = scope.get(_SUCCESSOR)
    if successor is None:
        return
    headers["Deprecation"] = f"@{int(UNVERSIONED_DEPRECATED.timestamp())}"
    # Appended, not set: an answer's own links (a next page) stay.
    headers.append("Link", f'<{successor}>; rel="successor-version"')
