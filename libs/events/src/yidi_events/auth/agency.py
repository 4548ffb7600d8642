"""Agency principals for the service APIs: who calls, for which region, in which roles.

A bearer token (HS256 JWT signed with the platform secret) carries `sub` (the user), `region`
(the agency's six-digit region code), `roles`, and `kind` (agency, centre, or person for the online
filing channel). Every handler scopes what it reads and changes by `principal.region`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request

from yidi_events.kernel.errors import Forbidden

ISSUER = "yidi"


class Unauthenticated(Forbidden):
    status = 401


@dataclass(frozen=True)
class Principal:
    user_id: str
    region: str
    roles: frozenset[str]
    kind: str = "agency"  # agency | centre | person

    def has(self, role: str) -> bool:
        return role in self.roles

    def require(self, role: str) -> None:
        if role not in self.roles:
            raise Forbidden("auth.role", f"this action needs the {role!r} role", field="roles")

    def require_region(self, region: str, *, field: str = "region") -> None:
        if self.kind != "centre" and region != self.region:
            raise Forbidden(
                "auth.region",
                f"agency {self.region} may not act on region {region}",
                field=field,
            )


def issue_token(
    secret: str,
    *,
    user_id: str,
    region: str,
    roles: Iterable[str],
    kind: str = "agency",
    ttl: timedelta = timedelta(hours=12),
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": user_id,
        "region": region,
        "roles": sorted(roles),
        "kind": kind,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER)
    except jwt.PyJWTError as exc:
        raise Unauthenticated(
            "auth.token", f"bearer token refused: {exc}", field="Authorization"
        ) from exc
    return Principal(
        user_id=str(claims["sub"]),
        region=str(claims["region"]),
        roles=frozenset(claims.get("roles", ())),
        kind=str(claims.get("kind", "agency")),
    )


def principal_dependency(secret_of: Callable[[Request], str]) -> Callable[[Request], Principal]:
    """A FastAPI dependency that authenticates the bearer token of the request."""

    def authenticate(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated(
                "auth.missing", "a bearer token is required", field="Authorization"
            )
        return decode_token(secret_of(request), token)

    return authenticate


def _secret(request: Request) -> str:
    return str(request.app.state.auth_secret)


authenticate = principal_dependency(_secret)
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
