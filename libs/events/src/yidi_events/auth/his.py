"""HIS request signatures, as the sandbox README specifies.

Headers: x-yidi-institution (the institution code), x-yidi-timestamp (Unix ms), x-yidi-nonce,
x-yidi-signature = hex HMAC-SHA256(secret, timestamp + "\\n" + nonce + "\\n" + sha256_hex(body)).
A request is refused when the institution is unknown, the signature does not verify, the timestamp
is more than the window off, or the nonce was already used by that institution within the window.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yidi_events.store.idempotency import Keeping
from yidi_events.store.schema import request_nonces

INSTITUTION = "x-yidi-institution"
TIMESTAMP = "x-yidi-timestamp"
NONCE = "x-yidi-nonce"
SIGNATURE = "x-yidi-signature"


class HisAuthError(Exception):
    """The request is not from who it says, or not fresh; the message says which, the rule
    (his.auth.*) names the check, `field` the header at fault and `values` what it quoted."""

    def __init__(
        self,
        message: str,
        *,
        rule: str = "his.auth",
        field: str | None = None,
        values: Mapping[str, str | int] | None = None,
    ) -> None:
        super().__init__(message)
        self.rule = rule
        self.field = field
        self.values: dict[str, str | int] = dict(values or {})


def signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = f"{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, institution_code: str, body: bytes, now: datetime) -> dict[str, str]:
    """Headers for a signed request (what a hospital's HIS sends; tests and the simulator use it)."""
    timestamp = str(int(now.timestamp() * 1000))
    nonce = secrets.token_hex(12)
    return {
        INSTITUTION: institution_code,
        TIMESTAMP: timestamp,
        NONCE: nonce,
        SIGNATURE: signature(secret, timestamp, nonce, body),
    }


@dataclass(frozen=True)
class VerifiedRequest:
    institution_code: str
    nonce: str
    at: datetime


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret_of: Callable[[str], str | None],
    now: datetime,
    window: timedelta = timedelta(seconds=300),
) -> VerifiedRequest:
    """Check institution, signature and timestamp (the nonce is checked by `NonceStore`)."""
    institution = headers.get(INSTITUTION, "")
    timestamp = headers.get(TIMESTAMP, "")
    nonce = headers.get(NONCE, "")
    given = headers.get(SIGNATURE, "")
    if not institution:
        raise HisAuthError(f"missing header {INSTITUTION}")
    if not (timestamp and nonce and given):
        raise HisAuthError(f"missing signature headers ({TIMESTAMP}, {NONCE}, {SIGNATURE})")
    if not 8 <= len(nonce) <= 64:
        raise HisAuthError(f"{NONCE} must be 8 to 64 characters")
    secret = secret_of(institution)
    if secret is None:
        raise HisAuthError(f"institution {institution} is not registered for the HIS interface")
    if not timestamp.isdigit():
        raise HisAuthError(f"{TIMESTAMP} must be Unix time in milliseconds")
    if not hmac.compare_digest(signature(secret, timestamp, nonce, body), given.lower()):
        raise HisAuthError("signature does not verify for this institution and body")
    sent = datetime.fromtimestamp(int(timestamp) / 1000, tz=now.tzinfo)
    if abs(now - sent) > window:
        raise HisAuthError(
            f"timestamp is {abs(now - sent).total_seconds():.0f}s off; the window is "
            f"{window.total_seconds():.0f}s"
        )
    return VerifiedRequest(institution, nonce, now)


class NonceStore:
    """Remembers nonces per institution; a second use within the window is a replay."""

    def __init__(self, engine: AsyncEngine, window: timedelta = timedelta(seconds=300)) -> None:
        self.engine = engine
        self.window = window

    async def claim(self, request: VerifiedRequest) -> None:
        """Claim the nonce in a transaction of its own."""
        async with self.engine.begin() as conn:
            await self.claim_in(conn, request)

    async def claim_in(
        self,
        conn: AsyncConnection,
        request: VerifiedRequest,
        *,
        only_if: sa.ColumnElement[bool] | None = None,
        keeping: Keeping | None = None,
    ) -> bool:
        """Claim the nonce in the caller's transaction, so that it commits (or rolls back) with
        the work the request did. A concurrent claim of the same nonce waits on the key and then
        finds it taken. With `only_if` (a condition the caller's cached view of the sender must
        still meet, e.g. its secret unchanged) nothing is claimed when it fails, and False is
        returned, in the same round trip. With `keeping`, the request's answer is kept in the same
        statement, only if the nonce was claimed. Raises HisAuthError on a replay."""
        values = sa.select(
            sa.literal(request.institution_code, sa.Text),
            sa.literal(request.nonce, sa.Text),
            sa.literal(request.at, sa.DateTime(timezone=True)),
        )
        if only_if is not None:
            values = values.where(only_if)
        claim = (
            insert(request_nonces)
            .from_select(["institution_code", "nonce", "seen_at"], values)
            .on_conflict_do_nothing()
            .returning(request_nonces.c.nonce)
        )
        if keeping is None:
            claimed = await conn.scalar(claim)
        else:
            spent = claim.cte("spent")
            try:
                claimed = await conn.scalar(
                    sa.select(spent.c.nonce).add_cte(keeping.insert_if(spent).cte("kept"))
                )
            except IntegrityError as exc:  # the nonce's insert does nothing on a conflict
                raise keeping.conflict() from exc
            keeping.kept = claimed is not None
        if claimed is not None:
            return True
        if only_if is not None and not await conn.scalar(sa.select(only_if)):
            return False
        raise HisAuthError(
            "nonce was already used: a replayed request is refused", rule="his.auth.replay"
        )

    async def forget_expired(self, now: datetime) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                request_nonces.delete().where(request_nonces.c.seen_at < now - 2 * self.window)
            )
        return int(result.rowcount or 0)


SecretLookup = Callable[[str], Awaitable[str | None]]
__all__ = ["HisAuthError", "NonceStore", "VerifiedRequest", "sa", "sign", "signature", "verify"]
