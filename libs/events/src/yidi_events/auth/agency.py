"""Agency principals for the service APIs: who calls, for which region, in which roles.

A bearer token is a short-lived JWT signed with an asymmetric key (EdDSA, Ed25519) that only the
identity component (filing's user store) holds. It carries `sub` (the user id from the store),
`name` (the login name), `region` (six-digit region code), `roles`, `kind` (agency, centre,
person for the online filing channel, service for the HIS gateway) and `aud`. Every service
verifies it with the published public keys (`/.well-known/jwks.json` of the identity component,
or keys given in settings); several key ids are accepted at once, so a key can be rotated.

Every route declares which kinds and roles it admits (`Admits`), and `yidi_events.auth.routes`
reads those declarations back into the table of docs/api/routes.md.

Minting a token from the shared sandbox secret (`issue_token`) is a sandbox and test convenience:
the key it signs with is derived from that secret, and it refuses to run outside sandbox mode
(`YIDI_SANDBOX=1`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic_settings import BaseSettings, SettingsConfigDict

from yidi_events.auth.oidc import ExternalIssuer
from yidi_events.kernel.errors import Forbidden

ISSUER = "yidi"
AUDIENCE = "yidi-api"
ALGORITHM = "EdDSA"
SANDBOX_KID = "sandbox"
KINDS = ("agency", "centre", "person", "service")
"""Who calls: a city agency, the provincial centre, an insured person (online filing), or a
service (the HIS gateway forwarding to an owner)."""


class Unauthenticated(Forbidden):
    status = 401


class SandboxOnly(RuntimeError):
    """Minting with the shared secret was asked for outside sandbox mode."""


@dataclass(frozen=True)
class Principal:
    user_id: str
    region: str
    roles: frozenset[str]
    kind: str = "agency"  # agency | centre | person | service

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


class _Sandbox(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIDI_", extra="ignore")
    sandbox: bool = False


def sandbox_mode() -> bool:
    """Whether this process runs as the sandbox (YIDI_SANDBOX=1): tests, `make run`, `make up`."""
    return _Sandbox().sandbox


def sandbox_key(secret: str) -> Ed25519PrivateKey:
    """The sandbox signing key, derived from the shared secret so that tests and the sandbox
    tools can mint tokens the services accept without a running identity component."""
    seed = hashlib.sha256(b"yidi-sandbox-signing-key\0" + secret.encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_jwk(kid: str, key: Ed25519PublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = jwt.algorithms.OKPAlgorithm.to_jwk(key, as_dict=True)
    return {**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def private_jwk(kid: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = jwt.algorithms.OKPAlgorithm.to_jwk(key, as_dict=True)
    return {**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def _jwks_keys(jwks: str | Mapping[str, Any]) -> list[jwt.PyJWK]:
    document = json.loads(jwks) if isinstance(jwks, str) else jwks
    keys = [jwt.PyJWK(k) for k in document.get("keys", ())]
    for key in keys:
        if not key.key_id:
            raise ValueError("every key of a key set needs its kid")
    return keys


@dataclass
class TokenSigner:
    """The identity component's private keys: the first signs, all are published (rotation:
    put the new key first and keep the old one until its tokens have expired)."""

    keys: list[tuple[str, Ed25519PrivateKey]]
    audience: str = AUDIENCE

    @classmethod
    def from_jwks(cls, jwks: str, audience: str = AUDIENCE) -> TokenSigner:
        found: list[tuple[str, Ed25519PrivateKey]] = []
        for key in _jwks_keys(jwks):
            if not isinstance(key.key, Ed25519PrivateKey):
                raise ValueError(f"signing key {key.key_id} is not an Ed25519 private key")
            found.append((str(key.key_id), key.key))
        if not found:
            raise ValueError("the signing key set is empty")
        return cls(found, audience)

    @classmethod
    def sandbox(cls, secret: str, audience: str = AUDIENCE) -> TokenSigner:
        return cls([(SANDBOX_KID, sandbox_key(secret))], audience)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(kid, key.public_key()) for kid, key in self.keys]}

    def issue(
        self,
        *,
        user_id: str,
        region: str,
        roles: Iterable[str],
        kind: str = "agency",
        name: str | None = None,
        ttl: timedelta = timedelta(minutes=15),
        now: datetime | None = None,
    ) -> str:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        issued = now or datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "aud": self.audience,
            "sub": user_id,
            "name": name or user_id,
            "region": region,
            "roles": sorted(roles),
            "kind": kind,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
        }
        kid, key = self.keys[0]
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})


@dataclass
class TokenVerifier:
    """Public keys by key id; a kid it does not hold is looked up in the published key set
    (`jwks_url`), which is how a rotated-in key becomes accepted without a restart."""

    keys: dict[str, Any] = field(default_factory=dict)
    jwks_url: str | None = None
    audience: str = AUDIENCE
    refresh_cooldown_s: float = 30.0
    """An unknown kid refetches the key set at most this often (a flood of made-up kids must
    not become a flood of requests to the identity component)."""
    external: ExternalIssuer | None = None
    """An identity provider whose officers' tokens are accepted too (auth/oidc.py)."""
    _client: jwt.PyJWKClient | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(cls, signer: TokenSigner) -> TokenVerifier:
        return cls({kid: key.public_key() for kid, key in signer.keys}, audience=signer.audience)

    @classmethod
    def sandbox(cls, secret: str) -> TokenVerifier:
        return cls.of(TokenSigner.sandbox(secret))

    def accept_jwks(self, jwks: str | Mapping[str, Any]) -> None:
        for key in _jwks_keys(jwks):
            self.keys[str(key.key_id)] = key.key

    def _key(self, kid: str) -> Any:
        if kid in self.keys:
            return self.keys[kid]
        if self.jwks_url is None:
            raise jwt.InvalidKeyError(f"unknown key id {kid!r}")
        if self._client is None:
            self._client = jwt.PyJWKClient(
                self.jwks_url,
                lifespan=300,
                timeout=5,
                cooldown_duration=self.refresh_cooldown_s,
            )
        try:
            return self._client.get_signing_key(kid).key
        except jwt.PyJWKClientError as exc:
            raise jwt.InvalidKeyError(f"unknown key id {kid!r}: {exc}") from exc

    def verify(self, token: str) -> Principal:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if not isinstance(kid, str):
                raise jwt.InvalidTokenError("the token names no key id")
            if self.external is not None and _issuer(token) == self.external.issuer:
                # Verified by the issuer's keys and claims only; our own keys never sign for it.
                user_id, region, roles, kind = self.external.principal_fields(
                    self.external.claims(token, kid)
                )
                return Principal(user_id=user_id, region=region, roles=roles, kind=kind)
            claims = jwt.decode(
                token,
                self._key(kid),
                algorithms=[ALGORITHM, "ES256"],
                issuer=ISSUER,
                audience=self.audience,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
            kind = str(claims.get("kind", ""))
            if kind not in KINDS:
                raise jwt.InvalidTokenError(f"unknown kind {kind!r}")
            return Principal(
                user_id=str(claims["sub"]),
                region=str(claims["region"]),
                roles=frozenset(str(r) for r in claims.get("roles", ())),
                kind=kind,
            )
        except (jwt.PyJWTError, KeyError) as exc:
            raise Unauthenticated(
                "auth.token", f"bearer token refused: {exc}", field="Authorization"
            ) from exc


def _issuer(token: str) -> object:
    """Who the token says issued it, read before verifying, only to choose the keys to verify
    it with (each issuer's keys then decide)."""
    return jwt.decode(token, options={"verify_signature": False}).get("iss")


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
    """A token signed with the sandbox key: tests and sandbox tools only."""
    if not sandbox_mode():
        raise SandboxOnly(
            "minting a token from the shared secret runs only in sandbox mode (YIDI_SANDBOX=1); "
            "log in at the identity component (POST /v1/api/identity/login) instead"
        )
    return TokenSigner.sandbox(secret).issue(
        user_id=user_id, region=region, roles=roles, kind=kind, ttl=ttl, now=now
    )


def decode_token(secret: str, token: str) -> Principal:
    """Verify a token against the sandbox key of `secret` (tests)."""
    return TokenVerifier.sandbox(secret).verify(token)


BEARER = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description="A token from the identity component's login (`POST /v1/api/identity/login` of "
    "filing) or from the province's OIDC issuer when one is configured.",
    auto_error=False,  # a missing token is refused in our own problem shape, naming the header
)
"""Declares the bearer scheme on every route that reads a token, so the OpenAPI documents (and
the `/docs` page, which can then send one) say which operations need it."""


def principal_dependency(
    verifier_of: Callable[[Request], TokenVerifier],
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Principal]:
    """A FastAPI dependency that authenticates the bearer token of the request."""

    def authenticate(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> Principal:
        if credentials is None or not credentials.credentials:
            raise Unauthenticated(
                "auth.missing", "a bearer token is required", field="Authorization"
            )
        return verifier_of(request).verify(credentials.credentials)

    return authenticate


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


authenticate = principal_dependency(_verifier)
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


@dataclass(frozen=True)
class Admits:
    """What a route admits: the caller's kind must be one of `kinds` and, when `roles` is not
    empty, the caller must hold one of them. Declared on the route (`admit`), so the table of
    routes, kinds and roles is read from the routes themselves (`yidi_events.auth.routes`)."""

    kinds: frozenset[str]
    roles: frozenset[str] = frozenset()
    refusal: tuple[str, str] | None = None
    """(rule, message) a route names its refusal with instead of auth.kind / auth.role."""

    def check(self, principal: Principal) -> Principal:
        if principal.kind not in self.kinds:
            rule, message = self.refusal or (
                "auth.kind",
                f"a {principal.kind} may not call this; it admits {', '.join(sorted(self.kinds))}",
            )
            raise Forbidden(rule, message, field="Authorization")
        if self.roles and not (principal.roles & self.roles):
            rule, message = self.refusal or (
                "auth.role",
                f"this action needs one of the roles {', '.join(sorted(self.roles))}",
            )
            raise Forbidden(rule, message, field="roles")
        return principal


_ADMISSIONS: dict[Callable[..., Principal], Admits] = {}


def admission_of(call: object) -> Admits | None:
    """The declaration behind a route's dependency, if it is one `admit` made."""
    return _ADMISSIONS.get(call) if callable(call) else None


def admit(
    *kinds: str, roles: Iterable[str] = (), refusal: tuple[str, str] | None = None
) -> Callable[..., Principal]:
    """A dependency admitting the given kinds (and, if given, any of the roles):
    `principal: Annotated[Principal, Depends(admit("agency", roles=["hospital_admin"]))]`."""
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise ValueError(f"kinds must be among {', '.join(KINDS)}: {sorted(unknown)}")
    rule = Admits(frozenset(kinds), frozenset(roles), refusal)

    def admitted(principal: CurrentPrincipal) -> Principal:
        return rule.check(principal)

    _ADMISSIONS[admitted] = rule
    return admitted


Agency = Annotated[Principal, Depends(admit("agency", "centre"))]
"""A city agency or the provincial centre, in any role."""
Centre = Annotated[Principal, Depends(admit("centre"))]
"""The provincial centre, in any role."""
