"""The one shape of a HIS transaction the settlement gateway forwards to the service that owns it
(`POST {owner}/v1/internal/his`, docs/integration.md): a domain command in, a domain result out.

National field names stay in the gateway's edge; an owner only declares its handlers by command
name. Refusals are DomainErrors in domain names, which the edge tells the hospital nationally.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, ValidationError

from yidi_events.auth.agency import Principal, admit, issue_token
from yidi_events.kernel import DomainError
from yidi_events.settings import ServiceSettings
from yidi_events.versioning import PREFIX

PATH = "/internal/his"  # in the router; served, like the rest of the API, under /v1
URL_PATH = f"{PREFIX}{PATH}"
GATEWAY_USER = "settlement-gateway"
GATEWAY_ROLE = "his"


class ForwardedCommand(BaseModel):
    """What the gateway sends: the command a hospital's transaction carries, in domain names."""

    name: str = Field(min_length=1, description="the domain command, e.g. referral.upload")
    institution_code: str = Field(min_length=1)
    message_id: str = Field(min_length=1)
    visit_region: str
    insured_region: str | None = None
    command: dict[str, Any] = Field(default_factory=dict)


class ForwardedResult(BaseModel):
    result: dict[str, Any]


Handler = Callable[[ForwardedCommand, Request], Awaitable[dict[str, Any]]]


GATEWAY_ONLY = (
    "his.gateway_only",
    "only the HIS gateway (a service token with the 'his' role) forwards hospital transactions",
)
Gateway = Annotated[
    Principal, Depends(admit("service", roles=[GATEWAY_ROLE], refusal=GATEWAY_ONLY))
]
"""The HIS gateway forwarding a hospital's request to the owner."""


class GatewayTokens:
    """The bearer token the gateway forwards with. In sandbox mode it is minted from the sandbox
    secret; otherwise the gateway logs in at the identity component as its service account
    (`YIDI_GATEWAY_USERNAME` / `YIDI_GATEWAY_PASSWORD`) and keeps the token until shortly before
    it expires, so a busy gateway logs in once in a token's life, not once per transaction."""

    def __init__(
        self, settings: ServiceSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.transport = transport
        self._token: str | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()

    async def token(self, region: str) -> str:
        if self.settings.sandbox:
            return issue_token(
                self.settings.auth_secret.get_secret_value(),
                user_id=GATEWAY_USER,
                region=region,
                roles=[GATEWAY_ROLE],
                kind="service",
            )
        async with self._lock:
            if self._token is None or time.monotonic() >= self._until:
                self._token, lifetime = await self._login()
                self._until = time.monotonic() + max(lifetime - 60, lifetime / 2)
            return self._token

    async def _login(self) -> tuple[str, float]:
        # To the hospital a gateway that cannot log in is an owner it cannot reach: retry later.
        password = self.settings.gateway_password
        if password is None:
            raise DomainError(
                "his.owner_unreachable",
                "the gateway has no service account (YIDI_GATEWAY_PASSWORD) to forward with",
                field=None,
            )
        async with httpx.AsyncClient(timeout=10, transport=self.transport) as client:
            answer = await client.post(
                f"{self.settings.filing_url.rstrip('/')}{PREFIX}/api/identity/login",
                json={
                    "username": self.settings.gateway_username,
                    "password": password.get_secret_value(),
                },
            )
        if answer.status_code != 200:
            raise DomainError(
                "his.owner_unreachable",
                f"the identity component refused the gateway's login ({answer.status_code})",
                field=None,
            )
        body = answer.json()
        return str(body["access_token"]), float(body["expires_in"])


def not_owned(service: str, name: str) -> DomainError:
    return DomainError(
        "his.not_owned", f"the {service} service does not handle {name}", field="name"
    )


def command_invalid(name: str, exc: ValidationError) -> DomainError:
    """A command the owner's model refuses (the edge and the owner disagree on its shape), told
    by field like any other 422 rather than as a server error."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "command"
    return DomainError("his.command_invalid", f"{name}: {field}: {first['msg']}", field=field)


def forwarded_router(service: str, handlers: Mapping[str, Handler]) -> APIRouter:
    """`POST /v1/internal/his` answering the named commands of one owning service."""
    router = APIRouter(tags=["his"])

    @router.post(
        PATH,
        summary=f"HIS commands forwarded by the settlement gateway: {', '.join(handlers)}",
    )
    async def forwarded(
        body: ForwardedCommand, principal: Gateway, request: Request
    ) -> ForwardedResult:
        handler = handlers.get(body.name)
        if handler is None:
            raise not_owned(service, body.name)
        try:
            return ForwardedResult(result=await handler(body, request))
        except ValidationError as exc:
            raise command_invalid(body.name, exc) from None

    return router
