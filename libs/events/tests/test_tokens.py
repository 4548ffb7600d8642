"""Asymmetric agency tokens: only the signer's private key makes them, services verify with the
published public keys (several kids at once: rotation), the audience and kind are checked, the
shared-secret convenience refuses outside sandbox mode, and settings refuse sandbox secrets
outside it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from yidi_events.auth.agency import (
    Principal,
    SandboxOnly,
    TokenSigner,
    TokenVerifier,
    Unauthenticated,
    admit,
    issue_token,
    private_jwk,
)
from yidi_events.kernel.errors import DomainError
from yidi_events.settings import DEFAULT_AUTH_SECRET, InsecureSettings, ServiceSettings


def _signer(*kids: str) -> TokenSigner:
    keys = {"keys": [private_jwk(kid, Ed25519PrivateKey.generate()) for kid in kids]}
    return TokenSigner.from_jwks(json.dumps(keys))


def _token(signer: TokenSigner, **claims: Any) -> str:
    args: dict[str, Any] = {"user_id": "u-1", "region": "320100", "roles": ["clerk"]}
    return signer.issue(**{**args, **claims})


def test_a_token_is_verified_with_the_published_public_keys_only() -> None:
    signer = _signer("k1")
    verifier = TokenVerifier()
    verifier.accept_jwks(signer.jwks())
    assert "d" not in signer.jwks()["keys"][0]  # the private part is not published
    principal = verifier.verify(_token(signer, kind="centre", roles=["approver"]))
    assert principal == Principal("u-1", "320100", frozenset({"approver"}), "centre")
    forged = _signer("k1")  # same kid, another private key: a forger's
    with pytest.raises(Unauthenticated, match="Signature"):
        verifier.verify(_token(forged))
    with pytest.raises(Unauthenticated, match="unknown key id"):
        verifier.verify(_token(_signer("k9")))


def test_audience_expiry_and_kind_are_checked() -> None:
    signer = _signer("k1")
    verifier = TokenVerifier.of(signer)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(_token(signer, ttl=timedelta(seconds=-1)))
    other = TokenSigner(signer.keys, audience="another-platform")
    with pytest.raises(Unauthenticated, match="Audience"):
        verifier.verify(_token(other))
    kid, key = signer.keys[0]
    odd = jwt.encode(
        {
            "iss": "yidi",
            "aud": "yidi-api",
            "sub": "u",
            "region": "320100",
            "kind": "root",
            "iat": int(datetime.now(UTC).timestamp()),
            "exp": int(datetime.now(UTC).timestamp()) + 60,
        },
        key,
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    with pytest.raises(Unauthenticated, match="kind"):
        verifier.verify(odd)
    unsigned = jwt.encode({"sub": "u"}, None, algorithm="none", headers={"kid": kid})
    with pytest.raises(Unauthenticated):
        verifier.verify(unsigned)


@pytest.fixture
def published() -> Iterator[tuple[list[dict[str, Any]], str]]:
    """A key set served over HTTP, as the identity component publishes it."""
    keys: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"keys": keys}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield keys, f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


def test_a_rotated_in_key_is_fetched_and_the_old_one_still_accepted(
    published: tuple[list[dict[str, Any]], str],
) -> None:
    keys, url = published
    old = _signer("2026-01")
    keys[:] = old.jwks()["keys"]
    verifier = TokenVerifier(jwks_url=url, refresh_cooldown_s=0)
    assert verifier.verify(_token(old)).user_id == "u-1"
    new = _signer("2026-02")
    # Rotation: the new key signs first, the old one stays published until its tokens expire.
    rotated = TokenSigner(new.keys + old.keys)
    keys[:] = rotated.jwks()["keys"]
    assert verifier.verify(_token(rotated)).user_id == "u-1"
    assert verifier.verify(_token(old)).user_id == "u-1"


def test_minting_from_the_shared_secret_refuses_outside_sandbox_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "a-test-secret-that-is-at-least-32-bytes"
    assert TokenVerifier.sandbox(secret).verify(
        issue_token(secret, user_id="u", region="320100", roles=[])
    )
    monkeypatch.setenv("YIDI_SANDBOX", "0")
    with pytest.raises(SandboxOnly, match="sandbox mode"):
        issue_token(secret, user_id="u", region="320100", roles=[])


@pytest.mark.parametrize(
    "env",
    [
        {},  # the code's default
        {"YIDI_AUTH_SECRET": DEFAULT_AUTH_SECRET},
        {"YIDI_AUTH_SECRET": "change-me"},
        {"YIDI_AUTH_SECRET": "x" * 31},
        {"YIDI_AUTH_SECRET": "compose-local-secret-change-me-0123456789"},
        {"YIDI_AUTH_SECRET": "REPLACE-ME-with-a-long-random-secret"},
    ],
)
def test_outside_sandbox_no_default_or_short_secret_is_accepted(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.setenv("YIDI_SANDBOX", "0")
    monkeypatch.setenv("YIDI_KAFKA_ALLOW_PLAINTEXT", "1")  # the broker's rule: test_kafka_security
    monkeypatch.delenv("YIDI_AUTH_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InsecureSettings, match="YIDI_AUTH_SECRET"):
        ServiceSettings().refuse_insecure()
    monkeypatch.setenv("YIDI_AUTH_SECRET", "s" * 32)
    ServiceSettings().refuse_insecure()
    monkeypatch.setenv("YIDI_SANDBOX", "1")
    monkeypatch.setenv("YIDI_AUTH_SECRET", "short")
    ServiceSettings().refuse_insecure()


HospitalAdmin = Annotated[Principal, Depends(admit("agency", roles=["hospital_admin"]))]


async def test_a_route_admits_only_the_kinds_and_roles_it_declares() -> None:
    signer = _signer("k1")
    app = FastAPI()
    app.state.verifier = TokenVerifier.of(signer)

    @app.exception_handler(DomainError)
    async def refused(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"error": {"rule": exc.rule}}, status_code=exc.status)

    @app.patch("/hospitals/{code}")
    async def change(code: str, who: HospitalAdmin) -> dict[str, str]:
        return {"by": who.user_id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def call(**claims: Any) -> tuple[int, Any]:
            token = _token(signer, **claims)
            answer = await client.patch(
                "/hospitals/H1", headers={"authorization": f"Bearer {token}"}
            )
            return answer.status_code, answer.json()

        assert await call(roles=["hospital_admin"]) == (200, {"by": "u-1"})
        assert await call(roles=["clerk"]) == (403, {"error": {"rule": "auth.role"}})
        assert await call(kind="person", roles=["hospital_admin"]) == (
            403,
            {"error": {"rule": "auth.kind"}},
        )
        missing = await client.patch("/hospitals/H1")
        assert missing.status_code == 401
