"""The identity component against a real database: the sandbox's users are loaded (argon2
hashes, no password in any event), a login hands out a short-lived EdDSA token other services
verify with the published keys alone, wrong passwords and look-alike login names are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from yidi_cli.sandbox import shared_dir
from yidi_events.auth.agency import TokenVerifier, Unauthenticated
from yidi_events.forwarded import GatewayTokens
from yidi_events.kernel import DomainError
from yidi_events.settings import ServiceSettings
from yidi_filing.adapters.tables import agency_users
from yidi_filing.sandbox import load_users

NJ = "320100"


async def _login(svc: Any, username: str, password: str) -> Any:
    return await svc.client.post(
        "/v1/api/identity/login", json={"username": username, "password": password}
    )


async def _user(svc: Any, username: str, **extra: Any) -> Any:
    body = {
        "username": username,
        "display_name": "测试",
        "region": NJ,
        "kind": "agency",
        "roles": ["approver"],
        "password": "a-long-enough-password",
    } | extra
    return await svc.post(
        "/v1/api/identity/users", body, headers=svc.auth("320000", "operator", kind="centre")
    )


async def test_sandbox_users_log_in_and_their_tokens_verify_with_the_published_keys(
    svc: Any,
) -> None:
    sandbox: Path = shared_dir() / "sandbox"
    assert await load_users(svc.client, sandbox) == 44
    assert await load_users(svc.client, sandbox) == 0  # loading twice changes nothing

    done = await _login(svc, "nj.hospital_admin", "sandbox-nj.hospital_admin")
    assert done.status_code == 200, done.text
    answer = done.json()
    assert answer["expires_in"] == 900

    published = (await svc.client.get("/.well-known/jwks.json")).json()
    assert [k["kty"] for k in published["keys"]] == ["OKP"]
    assert all("d" not in k for k in published["keys"])
    verifier = TokenVerifier()
    verifier.accept_jwks(published)
    who = verifier.verify(answer["access_token"])
    assert (who.user_id, who.region, who.kind, who.roles) == (
        answer["user_id"],
        NJ,
        "agency",
        frozenset({"hospital_admin"}),
    )

    async with svc.context.runtime.engine.connect() as conn:
        stored = (await conn.execute(sa.select(agency_users.c.password_hash))).scalars().all()
    assert len(stored) == 44
    assert all(h.startswith("$argon2id$") for h in stored)
    passwords = [u["password"] for u in json.loads((sandbox / "users.json").read_text())]
    stored_events = str(await svc.events())
    assert not any(p in stored_events for p in passwords)


async def test_wrong_passwords_and_unknown_names_are_refused_alike(svc: Any) -> None:
    assert (await _user(svc, "nj.approver9")).status_code == 201
    wrong = await _login(svc, "nj.approver9", "not-the-password")
    unknown = await _login(svc, "nobody", "a-long-enough-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["rule"] == "identity.login"
    # The same login name however it is typed: case, width, outer spaces.
    for typed in ("NJ.Approver9", " nj.approver9 ", "ｎｊ．ａｐｐｒｏｖｅｒ９"):
        assert (await _login(svc, typed, "a-long-enough-password")).status_code == 200


async def test_look_alike_login_names_cannot_open_a_second_account(svc: Any) -> None:
    first = await _user(svc, "alice")
    assert first.status_code == 201
    before = await svc.state()
    for look_alike in ("Alice", "alice ", "ＡＬＩＣＥ", "ａｌｉｃｅ"):
        again = await _user(svc, look_alike)
        assert again.status_code == 409, look_alike
        assert again.json()["error"]["rule"] == "identity.username_taken"
    for hidden in ("al\u200bice", "alice\u200d", "\ufeffalice", "ali ce"):
        refused = await _user(svc, hidden)
        assert refused.status_code == 422, hidden
        assert refused.json()["error"] == {
            "rule": "identity.username",
            "field": "username",
            "message": refused.json()["error"]["message"],
        }
    assert await svc.state() == before


async def test_only_the_centres_operator_opens_accounts(svc: Any) -> None:
    body = {
        "username": "mallory",
        "display_name": "x",
        "region": NJ,
        "kind": "centre",
        "roles": ["approver"],
        "password": "a-long-enough-password",
    }
    for headers in (
        svc.auth(NJ, "hospital_admin"),
        svc.auth("320000", "approver", kind="centre"),
        svc.person_auth("P1", NJ),
    ):
        refused = await svc.post("/v1/api/identity/users", body, headers=headers)
        assert refused.status_code == 403
    assert (await svc.events()) == []


def test_a_token_from_another_signer_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="unknown key id"):
        TokenVerifier().verify("eyJhbGciOiJFZERTQSIsImtpZCI6InNhbmRib3gifQ.e30.AAAA")


async def test_the_gateway_forwards_with_its_service_accounts_login_outside_the_sandbox(
    svc: Any,
) -> None:
    opened = await _user(
        svc, "svc.his-gateway", kind="service", roles=["his"], password="gateway-password-123"
    )
    assert opened.status_code == 201, opened.text
    deployed = ServiceSettings(
        sandbox=False,
        auth_secret="a-real-secret-of-forty-characters-000000",
        filing_url="http://filing",
        gateway_password="gateway-password-123",
    )
    tokens = GatewayTokens(deployed, transport=httpx.ASGITransport(app=svc.app))
    token = await tokens.token("320100")
    assert await tokens.token("320500") == token  # one login for the token's life
    who = svc.app.state.verifier.verify(token)
    assert (who.kind, who.roles) == ("service", frozenset({"his"}))
    forwarded = await svc.client.post(
        "/v1/internal/his",
        headers={"authorization": f"Bearer {token}"},
        json={"name": "no.such", "institution_code": "H1", "message_id": "M1", "visit_region": NJ},
    )
    assert forwarded.json()["error"]["rule"] == "his.not_owned"  # past the gateway-only check

    wrong = GatewayTokens(
        deployed.model_copy(update={"gateway_password": SecretStr("not-the-password")}),
        transport=httpx.ASGITransport(app=svc.app),
    )
    with pytest.raises(DomainError, match="refused the gateway's login"):
        await wrong.token("320100")
