"""The identity component's HTTP face: login, the published public keys, user registration."""

from __future__ import annotations

from typing import Annotated

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


class Token(BaseModel):
    """An OAuth 2 bearer token (RFC 6749 section 5.1) for the logged-in user."""

    access_token: str = Field(description="a JWT signed by the identity (see the JWKS)")
    token_type: str = Field(description="always bearer")
    expires_in: int = Field(description="seconds the token stays valid")
    user_id: str


class PublicKey(BaseModel):
    """One Ed25519 public key of a JSON Web Key Set (RFC 7517, RFC 8037)."""

    kty: str = Field(description="key type: OKP")
    crv: str = Field(description="curve: Ed25519")
    x: str = Field(description="the public key, base64url")
    kid: str = Field(description="the key id tokens name in their header")
    alg: str = Field(description="EdDSA")
    use: str = Field(description="sig")


class KeySet(BaseModel):
    """The identity's public keys (RFC 7517 JWK Set): a verifier checks tokens against them."""

    keys: list[PublicKey]


class Registered(BaseModel):
    user_id: str


class UserIn(BaseModel):
    username: str = Field(max_length=200)
    display_name: str = Field(max_length=200)
    region: str = Field(max_length=6)
    kind: str = Field(max_length=20)
    roles: list[str] = Field(max_length=20)
    password: str = Field(max_length=200)


@router.post("/api/identity/login", dependencies=[Depends(public("the login itself"))])
async def login(body: Login, identity: Id) -> Token:
    done = await identity.login(body.username, body.password)
    return Token(
        access_token=done.access_token,
        token_type="bearer",
        expires_in=done.expires_in,
        user_id=done.user_id,
    )


# Verifiers look for the keys at the well-known URI (RFC 8615), outside the versioned API.
well_known = APIRouter(tags=["identity"])


@well_known.get(
    "/.well-known/jwks.json", dependencies=[Depends(public("the identity's public keys"))]
)
async def jwks(identity: Id) -> KeySet:
    return KeySet.model_validate(identity.signer.jwks())


@router.post("/api/identity/users", status_code=201)
async def register(body: UserIn, identity: Id, principal: Operator) -> Registered:
    user = NewUser(
        username=body.username,
        display_name=body.display_name,
        region=body.region,
        kind=body.kind,
        roles=tuple(body.roles),
        password=body.password,
    )
    return Registered(user_id=await identity.register(principal, user))
