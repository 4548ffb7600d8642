"""The identity component's HTTP face: login, the published public keys, user registration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from yidi_events.auth.agency import Principal, admit
from yidi_events.auth.routes import public
from yidi_filing.app.accounts import Identity
from yidi_filing.domain.accounts import NewUser

router = APIRouter(tags=["identity"])

Operator = Annotated[Principal, Depends(admit("centre", roles=["operator"]))]


def identity_of(request: Request) -> Identity:
    identity: Identity = request.app.state.identity
    return identity


Id = Annotated[Identity, Depends(identity_of)]


class Login(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=200)


class UserIn(BaseModel):
    username: str = Field(max_length=200)
    display_name: str = Field(max_length=200)
    region: str = Field(max_length=6)
    kind: str = Field(max_length=20)
    roles: list[str] = Field(max_length=20)
    password: str = Field(max_length=200)


@router.post("/api/identity/login", dependencies=[Depends(public("the login itself"))])
async def login(body: Login, identity: Id) -> dict[str, Any]:
    done = await identity.login(body.username, body.password)
    return {
        "access_token": done.access_token,
        "token_type": "bearer",
        "expires_in": done.expires_in,
        "user_id": done.user_id,
    }


@router.get("/.well-known/jwks.json", dependencies=[Depends(public("the identity's public keys"))])
async def jwks(identity: Id) -> dict[str, Any]:
    return identity.signer.jwks()


@router.post("/api/identity/users", status_code=201)
async def register(body: UserIn, identity: Id, principal: Operator) -> dict[str, str]:
    user = NewUser(
        username=body.username,
        display_name=body.display_name,
        region=body.region,
        kind=body.kind,
        roles=tuple(body.roles),
        password=body.password,
    )
    return {"user_id": await identity.register(principal, user)}
