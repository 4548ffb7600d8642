"""Issue 19's attacks on identities and routes, each made against the running services (not in
sandbox mode: see conftest.py) and refused, with every event store as it was:

- a person token (the online filing channel's) changes a hospital's HIS secret;
- a person token reads the city's audit cases, flags and complaints;
- an agency user without `hospital_admin` changes a hospital's secret or bank account, and the
  change that is allowed records no one;
- tokens minted from a shared secret, with any user name, or signed by a key not the identity's;
- four eyes fooled by "alice" / "Alice" / "alice " / full-width / zero-width names;
- a service started with the code's default secret, the compose fallback or the Kubernetes
  placeholder.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import create_async_engine

from yidi_events.auth.agency import TokenSigner, sandbox_key
from yidi_events.settings import DEFAULT_AUTH_SECRET
from yidi_stack.embedded import free_port
from yidi_stack.platform import DEFINITIONS, SERVICES

HOSPITAL = "H32010000001"
PERSON = "32050000000000000001"
# A route of each service that the centre's operator may read: the positive control.
READS = {
    "filing": "/v1/persons",
    "settlement": "/v1/api/hospitals",
    "reconciliation": "/v1/statements",
    "clearing": "/v1/ledger/trial-balance",
    "audit": "/v1/cases",
}


def _rule(answer: httpx.Response) -> tuple[int, str | None]:
    try:
        return answer.status_code, answer.json()["error"]["rule"]
    except (ValueError, KeyError, TypeError):
        return answer.status_code, None


def _person_token(deployed: Any) -> str:
    """What the online channel would hand an insured person: signed with the identity's own key,
    so only the kind stands between the person and the agency routes."""
    signer: TokenSigner = deployed.signer
    return signer.issue(user_id=PERSON, region="320100", roles=[], kind="person")


async def _secret_of(dsn: str, code: str) -> str:
    engine = create_async_engine(dsn.replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.connect() as conn:
        secret = await conn.scalar(
            sa.text("SELECT his_secret FROM hospital_secrets WHERE institution_code = :code"),
            {"code": code},
        )
    await engine.dispose()
    return str(secret)


def test_a_person_token_cannot_change_a_hospitals_his_secret(deployed: Any) -> None:
    settlement = deployed.url("settlement")
    person = deployed.bearer(_person_token(deployed))
    secret = asyncio.run(_secret_of(deployed.platform.dsn("settlement"), HOSPITAL))
    before = deployed.stores()
    attempts = [
        ("PATCH", f"/v1/api/hospitals/{HOSPITAL}", {"his_secret": "attacker-chosen-secret-0123"}),
        ("PATCH", f"/v1/api/hospitals/{HOSPITAL}", {"account": {"bank": "attacker", "no": "1"}}),
        ("POST", f"/v1/api/hospitals/{HOSPITAL}/resume", None),
        ("GET", f"/v1/api/hospitals/{HOSPITAL}", None),
    ]
    for method, path, body in attempts:
        answer = deployed.http.request(method, f"{settlement}{path}", headers=person, json=body)
        assert _rule(answer) == (403, "auth.kind"), (method, path, answer.text)
    assert deployed.stores() == before
    assert asyncio.run(_secret_of(deployed.platform.dsn("settlement"), HOSPITAL)) == secret


def test_a_person_token_cannot_read_the_citys_audit_cases_or_complaints(deployed: Any) -> None:
    audit = deployed.url("audit")
    person = deployed.bearer(_person_token(deployed))
    before = deployed.stores()
    for path in (
        "/v1/cases",
        "/v1/cases/C1",
        "/v1/flags",
        "/v1/complaints",
        "/v1/complaints/X1",
        "/v1/tickets",
    ):
        answer = deployed.http.get(f"{audit}{path}", headers=person)
        assert _rule(answer) == (403, "auth.kind"), (path, answer.text)
    auditor, _ = deployed.login("nj.auditor")
    assert (
        deployed.http.get(f"{audit}/v1/cases", headers=deployed.bearer(auditor)).status_code == 200
    )
    assert deployed.stores() == before


def test_only_a_hospital_admin_changes_credentials_and_the_change_records_who_and_when(
    deployed: Any,
) -> None:
    settlement = deployed.url("settlement")
    secret = asyncio.run(_secret_of(deployed.platform.dsn("settlement"), HOSPITAL))
    change = {"his_secret": "a-new-secret-0123456789", "account": {"bank": "ICBC", "no": "62"}}
    before = deployed.stores()
    for username, refusal in (
        ("nj.clerk", (403, "auth.role")),  # the right city, not the role
        ("nj.approver1", (403, "auth.role")),
        ("wx.hospital_admin", (403, "auth.region")),  # the role, another city's hospital
    ):
        token, _ = deployed.login(username)
        answer = deployed.http.patch(
            f"{settlement}/v1/api/hospitals/{HOSPITAL}", headers=deployed.bearer(token), json=change
        )
        assert _rule(answer) == refusal, (username, answer.text)
    assert deployed.stores() == before
    assert asyncio.run(_secret_of(deployed.platform.dsn("settlement"), HOSPITAL)) == secret

    token, admin_id = deployed.login("nj.hospital_admin")
    started = datetime.now(UTC)
    answer = deployed.http.patch(
        f"{settlement}/v1/api/hospitals/{HOSPITAL}", headers=deployed.bearer(token), json=change
    )
    assert answer.status_code == 200, answer.text
    *_, (updated_type, updated), (changed_type, changed) = deployed.events_of(
        "settlement", f"hospital-{HOSPITAL}"
    )
    assert updated_type == "settlement.HospitalUpdated"
    assert updated["updated_by"] == admin_id
    assert changed_type == "settlement.HospitalCredentialsChanged"
    assert (changed["changed"], changed["changed_by"]) == (["his_secret", "account"], admin_id)
    at = datetime.fromisoformat(changed["changed_at"])
    assert started - timedelta(seconds=5) <= at <= datetime.now(UTC) + timedelta(seconds=5)
    assert "a-new-secret" not in str(changed)  # who and when, never the secret itself
    assert (
        asyncio.run(_secret_of(deployed.platform.dsn("settlement"), HOSPITAL))
        == (change["his_secret"])
    )


def test_tokens_minted_from_a_shared_secret_or_a_foreign_key_are_refused(deployed: Any) -> None:
    now = int(time.time())
    claims = {
        "iss": "yidi",
        "aud": "yidi-api",
        "sub": "anyone-at-all",
        "region": "320000",
        "roles": ["approver", "operator", "hospital_admin", "reviewer"],
        "kind": "centre",
        "iat": now,
        "exp": now + 600,
    }
    real_kid = deployed.signer.keys[0][0]
    forged = {
        "HS256, the deployment's shared secret": jwt.encode(
            claims, deployed.shared_secret, algorithm="HS256", headers={"kid": real_kid}
        ),
        "HS256, the code's default secret": jwt.encode(claims, DEFAULT_AUTH_SECRET, "HS256"),
        "the sandbox key of the shared secret": jwt.encode(
            claims, sandbox_key(deployed.shared_secret), "EdDSA", headers={"kid": "sandbox"}
        ),
        "the sandbox key of the default secret": jwt.encode(
            claims, sandbox_key(DEFAULT_AUTH_SECRET), "EdDSA", headers={"kid": "sandbox"}
        ),
        "an attacker's key under the real kid": jwt.encode(
            claims, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": real_kid}
        ),
        "no signature": jwt.encode(claims, None, "none", headers={"kid": real_kid}),
    }
    before = deployed.stores()
    for service, path in READS.items():
        for what, token in forged.items():
            answer = deployed.http.get(
                f"{deployed.url(service)}{path}", headers=deployed.bearer(token)
            )
            assert _rule(answer) == (401, "auth.token"), (service, what, answer.text)
    # The real thing works everywhere, with the signing key and with the previous one still
    # published (rotation), fetched by every service from filing's key set.
    operator, operator_id = deployed.login("js.operator")
    previous = TokenSigner(deployed.signer.keys[1:])
    older = previous.issue(user_id=operator_id, region="320000", roles=["operator"], kind="centre")
    for service, path in READS.items():
        for token in (operator, older):
            answer = deployed.http.get(
                f"{deployed.url(service)}{path}", headers=deployed.bearer(token)
            )
            assert answer.status_code == 200, (service, answer.text)
    assert deployed.stores() == before


def test_the_cli_does_not_mint_tokens_outside_sandbox_mode() -> None:
    env = {**os.environ, "YIDI_SANDBOX": "0", "YIDI_AUTH_SECRET": "s" * 40, "COLUMNS": "1000"}
    env.pop("YIDI_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "yidi_cli.main", "token", "--region", "320100", "--user", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "sandbox mode" in done.stderr + done.stdout
    assert "eyJ" not in done.stdout


def test_four_eyes_sees_one_user_however_the_name_is_typed(deployed: Any) -> None:
    filing = deployed.url("filing")
    operator, _ = deployed.login("js.operator")
    body = {
        "display_name": "审批",
        "region": "320100",
        "kind": "agency",
        "roles": ["approver"],
        "password": "alice-has-a-long-password",
    }

    def open_account(username: str) -> httpx.Response:
        return deployed.http.post(
            f"{filing}/v1/api/identity/users",
            headers=deployed.bearer(operator),
            json={**body, "username": username},
        )

    assert open_account("alice").status_code == 201
    before = deployed.stores()
    for look_alike in ("Alice", "alice ", " ALICE", "ａｌｉｃｅ", "ＡＬＩＣＥ"):
        assert _rule(open_account(look_alike)) == (409, "identity.username_taken"), look_alike
    for hidden in ("ali\u200bce", "alice\u200d", "\ufeffalice", "ali\u00adce", "ali ce"):
        assert _rule(open_account(hidden)) == (422, "identity.username"), repr(hidden)
    assert deployed.stores() == before

    def who(username: str) -> str:
        answer = deployed.http.post(
            f"{filing}/v1/api/identity/login",
            json={"username": username, "password": body["password"]},
        )
        assert answer.status_code == 200, (username, answer.text)
        return str(answer.json()["user_id"])

    # However it is typed, the login is one user, and every token names that user's id: the
    # four-eyes rules (clearing's approvals and disbursements) compare these ids.
    assert {who(n) for n in ("alice", "Alice", " alice ", "ａｌｉｃｅ")} == {who("alice")}
    hidden = deployed.http.post(
        f"{filing}/v1/api/identity/login",
        json={"username": "ali\u200bce", "password": body["password"]},
    )
    assert _rule(hidden) == (401, "identity.login")


def _starts(service: str, env: dict[str, str]) -> tuple[bool, str]:
    """Start one service as a deployment would; whether it came up, and what it said."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            DEFINITIONS[service].app_factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("YIDI_")},
            "YIDI_SANDBOX": "0",
            "YIDI_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # A refusal comes within seconds; the margin is for a machine busy with other suites.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                process.terminate()
                process.wait(10)
                return True, ""
        except httpx.HTTPError:
            time.sleep(0.3)
    if process.poll() is None:
        process.kill()
    output, _ = process.communicate(timeout=10)
    return False, output


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_starts_with_the_codes_default_secret(service: str) -> None:
    up, said = _starts(service, {})
    assert not up
    assert "YIDI_AUTH_SECRET" in said


@pytest.mark.parametrize(
    "secret",
    [
        "compose-local-secret-change-me",  # the compose file's old fallback
        "REPLACE-ME-with-a-long-random-secret",  # the Kubernetes placeholder
        "short-but-random-x7Qp",
    ],
)
def test_no_service_starts_with_a_placeholder_or_short_secret(secret: str) -> None:
    up, said = _starts("settlement", {"YIDI_AUTH_SECRET": secret})
    assert not up
    assert "YIDI_AUTH_SECRET" in said


def test_the_identity_does_not_start_without_its_own_signing_keys() -> None:
    secret = {
        "YIDI_AUTH_SECRET": "a-real-secret-of-forty-characters-000000",
        # the broker's protection is another check, refused first otherwise
        "YIDI_KAFKA_ALLOW_PLAINTEXT": "1",
    }
    up, said = _starts("filing", secret)
    assert not up
    assert "YIDI_AUTH_SIGNING_KEYS" in said
    placeholder = {**secret, "YIDI_AUTH_SIGNING_KEYS": "REPLACE-ME-with-a-jwks-of-private-keys"}
    assert not _starts("filing", placeholder)[0]
