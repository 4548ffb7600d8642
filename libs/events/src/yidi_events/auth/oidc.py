"""Trust of an external OpenID Connect issuer (a province's Keycloak or IAM), for production.

A province that already runs an identity provider for its officers need not keep a second user
store: its access tokens are accepted as they are, verified with the issuer's published keys
(its JWKS, found by `jwks_uri`, rotated with it) and mapped to our principal. What the mapping
reads is configuration, because providers put roles and attributes in different places
(Keycloak: `realm_access.roles`; Azure AD / Entra: `roles`; a custom attribute for the region).
A token of the issuer without a region, or with a kind we do not know, is refused: an officer
without a region would otherwise act for nobody or for everybody.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

# The signatures identity providers use for access tokens; never "none" nor HMAC (an HMAC key
# would be the provider's shared secret, which we must not hold).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")


@dataclass
class ExternalIssuer:
    issuer: str
    audience: str
    jwks_url: str | None = None
    roles_claim: str = "roles"
    region_claim: str = "region"
    user_claim: str = "sub"
    kind_claim: str | None = None
    """A claim naming the kind (agency or centre); unset, every officer of the issuer is an
    agency officer and the centre is whoever holds the region the platform names as centre."""
    centre_region: str | None = None
    keys: dict[str, Any] = field(default_factory=dict)
    _client: jwt.PyJWKClient | None = field(default=None, init=False, repr=False)

    def accept_jwks(self, jwks: Mapping[str, Any]) -> None:
        for raw in jwks.get("keys", ()):
            key = jwt.PyJWK(raw)
            self.keys[str(key.key_id)] = key.key

    def _key(self, kid: str) -> Any:
        if kid in self.keys:
            return self.keys[kid]
        if self.jwks_url is None:
            raise jwt.InvalidKeyError(f"unknown key id {kid!r} of issuer {self.issuer}")
        if self._client is None:
            self._client = jwt.PyJWKClient(
                self.jwks_url, lifespan=300, timeout=5, cooldown_duration=30.0
            )
        try:
            return self._client.get_signing_key(kid).key
        except jwt.PyJWKClientError as exc:
            raise jwt.InvalidKeyError(f"unknown key id {kid!r}: {exc}") from exc

    def claims(self, token: str, kid: str) -> dict[str, Any]:
        return jwt.decode(
            token,
            self._key(kid),
            algorithms=list(ALGORITHMS),
            issuer=self.issuer,
            audience=self.audience,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )

    def principal_fields(self, claims: Mapping[str, Any]) -> tuple[str, str, frozenset[str], str]:
        """(user id, region, roles, kind) the claims say, or jwt.InvalidTokenError why not."""
        user = _at(claims, self.user_claim)
        region = _at(claims, self.region_claim)
        if not isinstance(user, str) or not user:
            raise jwt.InvalidTokenError(f"the issuer's token has no {self.user_claim!r}")
        if not (isinstance(region, str) and region.isdigit() and len(region) == 6):
            raise jwt.InvalidTokenError(
                f"the issuer's token has no six-digit region in {self.region_claim!r}"
            )
        raw_roles = _at(claims, self.roles_claim) or []
        if isinstance(raw_roles, str):
            raw_roles = raw_roles.split()
        if not isinstance(raw_roles, list):
            raise jwt.InvalidTokenError(f"{self.roles_claim!r} is not a list of roles")
        roles = frozenset(str(r) for r in raw_roles)
        if self.kind_claim is not None:
            kind = str(_at(claims, self.kind_claim) or "")
            if kind not in ("agency", "centre"):
                raise jwt.InvalidTokenError(
                    f"{self.kind_claim!r} must be agency or centre, not {kind!r}"
                )
        else:
            kind = "centre" if region == self.centre_region else "agency"
        # The issuer's subject, qualified: it can never equal a user id of our own store, so four
        # eyes never takes two people for one.
        return f"{self.issuer}#{user}", region, roles, kind


def _at(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by its dotted path (`realm_access.roles`)."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
