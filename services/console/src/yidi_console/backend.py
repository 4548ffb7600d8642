"""The five services as the logged-in officer calls them: their own token on every request, so
each service decides what this officer may see and do (the console decides nothing of it)."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from yidi_events.settings import ServiceSettings
from yidi_events.versioning import PREFIX


class Refused(Exception):
    """A service refused the officer's request: its status and its `{"error": ...}` body."""

    def __init__(self, status: int, rule: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{rule}: {message}")
        self.status = status
        self.rule = rule
        self.message = message
        self.field = field


def urls(settings: ServiceSettings) -> dict[str, str]:
    """Each service's API base, its version included: the pages name paths within the API."""
    bases = {
        "filing": settings.filing_url,
        "settlement": settings.settlement_url,
        "reconciliation": settings.reconciliation_url,
        "clearing": settings.clearing_url,
        "audit": settings.audit_url,
    }
    return {name: f"{url.rstrip('/')}{PREFIX}" for name, url in bases.items()}


def _refusal(response: httpx.Response) -> Refused:
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return Refused(
            response.status_code,
            str(error.get("rule", "")),
            str(error.get("message", "")),
            error.get("field"),
        )
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list) and detail:  # FastAPI's 422: the first field at fault
        first = detail[0]
        where = ".".join(str(x) for x in first.get("loc", [])[1:])
        return Refused(response.status_code, "request.invalid", str(first.get("msg")), where)
    return Refused(response.status_code, f"http.{response.status_code}", response.text[:300])


@dataclass
class Backend:
    """One officer's calls during one page request (one httpx client, closed with the request)."""

    services: dict[str, str]
    token: str | None
    http: httpx.AsyncClient

    @classmethod
    def open(cls, settings: ServiceSettings, token: str | None) -> Backend:
        return cls(urls(settings), token, httpx.AsyncClient(timeout=15))

    async def __aenter__(self) -> Backend:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        response = await self._send(method, service, path, params=params, json=json)
        return response.json() if response.content else None

    async def _send(
        self,
        method: str,
        service: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        given = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return await self._request(
            method, service, self.services[service] + path, params=given or None, json=json
        )

    async def _request(
        self,
        method: str,
        service: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            # No parameters at all rather than an empty set: httpx would drop the query a next
            # page's link carries in `url`.
            response = await self.http.request(
                method, url, params=params, json=json, headers=headers
            )
        except httpx.HTTPError as exc:
            # The officer is told which service did not answer, not shown a traceback.
            raise Refused(
                503, "console.service_unavailable", f"{service} 服务暂时无法访问（{exc}）"
            ) from exc
        if response.status_code >= 400:
            raise _refusal(response)
        return response

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return await self.call("GET", service, path, params=params)

    async def get_all(self, service: str, path: str, member: str, **params: Any) -> Any:
        """A paged body whole: `member` holds the rows of every page. A service announces the next
        page as `Link: <path?query>; rel="next"`, a reference resolved against the page that
        carried it (RFC 8288: its path includes the API's version, which the bases here already
        end in), and an officer's export or count must not stop at the first page of a long
        list."""
        response = await self._send("GET", service, path, params=params)
        body = response.json()
        while (following := response.links.get("next")) is not None:
            next_page = str(response.url.join(following["url"]))
            response = await self._request("GET", service, next_page)
            body[member] += response.json()[member]
        return body

    async def post(self, service: str, path: str, json: Any = None, **params: Any) -> Any:
        return await self.call("POST", service, path, params=params, json=json)
