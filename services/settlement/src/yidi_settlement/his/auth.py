"""Who sent the message: the x-yidi-* signature (yidi_events.auth.his) by the institution's HIS
secret, a fresh nonce, and an envelope naming the institution that signed it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from yidi_events.auth.his import INSTITUTION, NonceStore, verify
from yidi_events.kernel import DomainError
from yidi_settlement.his.envelope import MAX_BODY, HisEnvelope, parse_envelope

SecretOf = Callable[[str], Awaitable[str | None]]


@dataclass
class Authenticator:
    secret_of: SecretOf
    nonces: NonceStore
    window: timedelta

    async def authenticate(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> HisEnvelope:
        """The parsed envelope of a signed, fresh request; raises HisAuthError or a his.*
        DomainError. The nonce is claimed last, so a refused request leaves it unused."""
        if len(body) > MAX_BODY:
            raise DomainError(
                "his.format", f"the request body is larger than {MAX_BODY} bytes", field="body"
            )
        claimed = headers.get(INSTITUTION, "")
        secret = await self.secret_of(claimed) if claimed else None
        verified = verify(
            headers, body, lambda code: secret if code == claimed else None, now, self.window
        )
        envelope = parse_envelope(body)
        if envelope.institution_code != verified.institution_code:
            raise DomainError(
                "his.institution_mismatch",
                f"the envelope names {envelope.institution_code} but the request is signed by "
                f"{verified.institution_code}",
                field="fixmedins_code",
            )
        await self.nonces.claim(verified)
        return envelope
