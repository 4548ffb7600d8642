"""Who sent the message: one of the three signature profiles (his/signatures.py) checked against
the institution's credentials, a timestamp within the profile's window, a (timestamp, nonce) pair
not seen before, and an envelope naming the institution that signed it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from yidi_events.auth.his import HisAuthError, NonceStore, VerifiedRequest
from yidi_events.kernel import DomainError
from yidi_settlement.his.envelope import MAX_BODY, HisEnvelope, too_large
from yidi_settlement.his.files import read_envelope
from yidi_settlement.his.institutions import check_sender
from yidi_settlement.his.signatures import Claim, profile_of


@dataclass(frozen=True)
class Credential:
    institution_code: str
    secret: str
    kind: str = "hospital"  # InstitutionKind: which transactions it may send


# (identity column, secret column, identity) -> the institution and its secret, if registered.
CredentialOf = Callable[[str, str, str], Awaitable[Credential | None]]


@dataclass
class Authenticator:
    credential_of: CredentialOf
    nonces: NonceStore
    windows: Mapping[str, timedelta]  # per profile name

    async def authenticate(
        self,
        headers: Mapping[str, str],
        body: bytes,
        now: datetime,
        path_infno: str | None = None,
    ) -> HisEnvelope:
        """The parsed envelope of a signed, fresh request; raises HisAuthError or a his.*
        DomainError. The (timestamp, nonce) pair is claimed last, so a refused request leaves
        it unused."""
        if len(body) > MAX_BODY:
            raise too_large()
        lowered = {name.lower(): value for name, value in headers.items()}
        profile = profile_of(lowered)
        claim = profile.claim(lowered)
        credential = await self.credential_of(
            profile.identity_column, profile.secret_column, claim.identity
        )
        if credential is None:
            raise HisAuthError(
                f"{claim.identity} is not registered for the HIS interface",
                rule="his.auth.credential",
                field=profile.identity_header,
                values={"identity": claim.identity[:40]},
            )
        if not profile.verifies(credential.secret, claim, lowered, body):
            raise HisAuthError(
                "signature does not verify",
                rule="his.auth.signature",
                field=profile.signature_header,
                values={"profile": profile.name},
            )
        self._fresh(claim, now)
        envelope = read_envelope(lowered.get("content-type", ""), body)
        if envelope.institution_code != credential.institution_code:
            raise DomainError(
                "his.institution_mismatch",
                f"the envelope names institution {envelope.institution_code}, the signature "
                f"{credential.institution_code}",
                field="fixmedins_code",
                values={"given": envelope.institution_code, "signed": credential.institution_code},
            )
        if path_infno is not None and path_infno != envelope.infno:
            raise DomainError(
                "his.path_infno",
                f"the path names infno {path_infno}, the envelope {envelope.infno}",
                field="infno",
                values={"path": path_infno, "infno": envelope.infno},
            )
        check_sender(credential.kind, credential.institution_code, envelope.infno)
        await self._claim(claim, credential, envelope, now)
        return envelope

    def _fresh(self, claim: Claim, now: datetime) -> None:
        window = self.windows[claim.profile.name]
        off = abs(now - claim.sent_at)
        if off > window:
            raise HisAuthError(
                "timestamp outside the window",
                rule="his.auth.window",
                field=claim.profile.timestamp_header,
                values={
                    "off": f"{off.total_seconds():.0f}",
                    "window": f"{window.total_seconds():.0f}",
                },
            )

    async def _claim(
        self, claim: Claim, credential: Credential, envelope: HisEnvelope, now: datetime
    ) -> None:
        # Real clients' nonces can be one digit, and a CSB client may send none (its msgid then
        # stands in): a replay is the same pair of timestamp and nonce, per profile.
        nonce = claim.nonce if claim.nonce is not None else f"msgid:{envelope.message_id}"
        key = f"{claim.profile.name}:{claim.timestamp}:{nonce}"
        try:
            await self.nonces.claim(VerifiedRequest(credential.institution_code, key, now))
        except HisAuthError as exc:
            raise HisAuthError(
                "replayed request", rule="his.auth.replay", field=claim.profile.nonce_header
            ) from exc
