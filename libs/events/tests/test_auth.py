"""Authentication building blocks: HIS signatures (institution, timestamp window, nonce replay)
and agency principals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.auth import his
from yidi_events.auth.agency import Principal, Unauthenticated, decode_token, issue_token
from yidi_events.kernel.errors import Forbidden

SECRET = "a-test-secret-that-is-at-least-32-bytes"
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SECRETS = {
    "H32010000001": "sandbox-secret-H32010000001",
    "H32010000002": "another-secret-that-is-long-enough-000",
}
BODY = b'{"infno":"1101","input":{}}'


def headers_for(
    institution: str = "H32010000001", at: datetime = NOW, body: bytes = BODY
) -> dict[str, str]:
    return his.sign(SECRETS.get(institution, "unknown"), institution, body, at)


def test_a_correctly_signed_request_verifies_as_its_institution() -> None:
    verified = his.verify(headers_for(), BODY, SECRETS.get, NOW)
    assert verified.institution_code == "H32010000001"


def test_the_signature_matches_the_sandbox_recipe() -> None:
    import hashlib
    import hmac

    ts, nonce = "1772352000000", "abcdef123456"
    expected = hmac.new(
        b"sandbox-secret-H32010000001",
        f"{ts}\n{nonce}\n{hashlib.sha256(BODY).hexdigest()}".encode(),
        hashlib.sha256,
    ).hexdigest()
    assert his.signature("sandbox-secret-H32010000001", ts, nonce, BODY) == expected


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda h: {**h, his.SIGNATURE: "0" * 64}, "signature does not verify"),
        (lambda h: {**h, his.INSTITUTION: "H32010000002"}, "signature does not verify"),
        (lambda h: {**h, his.INSTITUTION: "H99999999999"}, "not registered"),
        (lambda h: {k: v for k, v in h.items() if k != his.NONCE}, "missing signature headers"),
        (lambda h: {k: v for k, v in h.items() if k != his.INSTITUTION}, "missing header"),
    ],
)
def test_tampered_or_incomplete_headers_are_refused(tamper: Any, message: str) -> None:
    with pytest.raises(his.HisAuthError, match=message):
        his.verify(tamper(headers_for()), BODY, SECRETS.get, NOW)


def test_a_changed_body_breaks_the_signature() -> None:
    with pytest.raises(his.HisAuthError, match="signature"):
        his.verify(headers_for(), BODY + b" ", SECRETS.get, NOW)


def test_timestamps_outside_the_window_are_refused_at_the_boundary() -> None:
    his.verify(headers_for(at=NOW - timedelta(seconds=300)), BODY, SECRETS.get, NOW)
    with pytest.raises(his.HisAuthError, match="off"):
        his.verify(headers_for(at=NOW - timedelta(seconds=301)), BODY, SECRETS.get, NOW)
    with pytest.raises(his.HisAuthError, match="off"):
        his.verify(headers_for(at=NOW + timedelta(seconds=301)), BODY, SECRETS.get, NOW)


async def test_a_nonce_is_accepted_once_per_institution(engine: AsyncEngine) -> None:
    nonces = his.NonceStore(engine)
    headers = headers_for()
    first = his.verify(headers, BODY, SECRETS.get, NOW)
    await nonces.claim(first)
    with pytest.raises(his.HisAuthError, match="already used"):
        await nonces.claim(first)
    other = his.VerifiedRequest("H32010000002", first.nonce, NOW)
    await nonces.claim(other)  # the same nonce from another institution is its own
    assert await nonces.forget_expired(NOW + timedelta(minutes=11)) == 2
    await nonces.claim(first)  # long after the window it may be used again


def test_agency_tokens_carry_region_and_roles_and_reject_tampering() -> None:
    token = issue_token(
        SECRET, user_id="u1", region="320500", roles=["reviewer"], now=datetime.now(UTC)
    )
    principal = decode_token(SECRET, token)
    assert principal == Principal("u1", "320500", frozenset({"reviewer"}), "agency")
    principal.require("reviewer")
    with pytest.raises(Forbidden, match="approver"):
        principal.require("approver")
    with pytest.raises(Forbidden, match="region 320100"):
        principal.require_region("320100")
    with pytest.raises(Unauthenticated):
        decode_token("another-secret-that-is-long-enough-000", token)
    expired = issue_token(
        SECRET, user_id="u1", region="320500", roles=[], ttl=timedelta(seconds=-1)
    )
    with pytest.raises(Unauthenticated, match="expired"):
        decode_token(SECRET, expired)


def test_the_provincial_centre_acts_across_regions() -> None:
    Principal("c1", "320000", frozenset({"approver"}), "centre").require_region("320500")
