"""The one shape of a HIS transaction the settlement gateway forwards to the service that owns it
(`POST {owner}/internal/his`, docs/integration.md): a domain command in, a domain result out.

National field names stay in the gateway's edge; an owner only declares its handlers by command
name. Refusals are DomainErrors in domain names, which the edge tells the hospital nationally.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, ValidationError

from yidi_events.auth.agency import Principal, admit
from yidi_events.kernel import DomainError

PATH = "/internal/his"
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
    """`POST /internal/his` answering the named commands of one owning service."""
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
