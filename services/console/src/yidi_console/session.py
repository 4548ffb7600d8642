"""Who is logged in: the identity component's token, kept in an HttpOnly cookie.

The console verifies nothing itself: every service it calls verifies the token, and a forged
cookie would only make the services refuse. It reads the token's claims to greet the officer
and to lay out their pages (which region, which roles)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from yidi_console.views import REGIONS, ROLES

COOKIE = "yidi_console"


@dataclass(frozen=True)
class Officer:
    user_id: str
    username: str
    region: str
    kind: str
    roles: tuple[str, ...]
    token: str

    @property
    def is_centre(self) -> bool:
        return self.kind == "centre"

    @property
    def title(self) -> str:
        place = REGIONS.get(self.region, self.region)
        roles = "、".join(ROLES.get(r, r) for r in self.roles)
        return f"{self.username}（{place} · {roles}）"

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


def officer_of(token: str | None) -> Officer | None:
    if not token:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            token, options={"verify_signature": False, "verify_aud": False, "verify_exp": True}
        )
    except jwt.InvalidTokenError:
        return None  # expired or not a token: log in again
    return Officer(
        user_id=str(claims.get("sub", "")),
        username=str(claims.get("name", claims.get("sub", ""))),
        region=str(claims.get("region", "")),
        kind=str(claims.get("kind", "")),
        roles=tuple(str(r) for r in claims.get("roles", [])),
        token=token,
    )
