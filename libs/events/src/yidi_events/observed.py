"""What every answer of every service carries and is counted by: the caller's correlation id, the
request metric by route and status, and the deprecation of an unversioned path.

Plain ASGI, not `@app.middleware("http")`: Starlette builds that as a BaseHTTPMiddleware, which
runs every request through a task group and a pair of memory streams, a cost each HIS call at the
counter paid for three header lines and a histogram."""

from __future__ import annotations

import asyncio

from prometheus_client import Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yidi_events import correlation, versioning
from yidi_events.correlation import Cause

REQUESTS = Histogram(
    "yidi_http_request_seconds", "HTTP requests by route and status", ["service", "route", "status"]
)


class Observed:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cause = Cause(correlation.from_header(Headers(scope=scope).get("x-correlation-id")))
        loop = asyncio.get_running_loop()
        started = loop.time()
        status = 500  # until an answer starts: what the server's error handler then sends

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-correlation-id"] = str(cause.correlation_id)
                versioning.mark_deprecated(scope, headers)
            await send(message)

        with correlation.correlated(cause):
            try:
                await self.app(scope, receive, answer)
            finally:
                # The router set the matched route on this same scope on the way in.
                route = getattr(scope.get("route"), "path", "unmatched")
                REQUESTS.labels(self.service, route, str(status)).observe(loop.time() - started)
