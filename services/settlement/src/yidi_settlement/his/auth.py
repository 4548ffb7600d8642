"""Who sent the message: one of the three signature profiles (his/signatures.py) checked against
the institution's credentials, a timestamp within the profile's window, a (timestamp, nonce) pair
not seen before, and an envelope naming the institution that signed it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.auth.his import HisAuthError, NonceStore, VerifiedRequest
from yidi_events.kernel import DomainError
from yidi_events.store.idempotency import Keeping
from yidi_settlement.his.envelope import MAX_BODY, HisEnvelope, too_large
from yidi_settlement.his.files import read_envelope
from yidi_settlement.his.institutions import check_sender
from yidi_settlement.his.signatures import Claim, profile_of


@dataclass(frozen=True)
class Credential:
    institution_code: str
    secret: str
    kind: str = "hospital"  # InstitutionKind: which transactions it may send


class CredentialOf(Protocol):
    async def __call__(
        self, identity_column: str, secret_column: str, identity: str, *, fresh: bool = False
    ) -> Credential | None:
        """The institution and its secret, if registered; `fresh` reads past any cache."""

    def unchanged(
        self, identity_column: str, secret_column: str, identity: str, secret: str
    ) -> sa.ColumnElement[bool]:
        """True while `identity` still signs with `secret`: checked in the unit that answers,
        so a secret cached here and changed anywhere since is caught at no extra round trip."""


@dataclass(frozen=True)
class Authenticated:
    """A signed, fresh request's envelope and the (timestamp, nonce) pair it spends: claimed in
    the unit that answers it (or on its own when nothing is kept), so no transaction of its own
    on the counter's path."""

    envelope: HisEnvelope
    nonce: VerifiedRequest
    nonce_header: str
    signature_header: str
    profile: str
    credential: tuple[str, str, str]  # identity column, secret column, identity
    unchanged: sa.ColumnElement[bool]


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
    ) -> Authenticated:
        """The parsed envelope of a signed, fresh request; raises HisAuthError or a his.*
        DomainError. The (timestamp, nonce) pair is not claimed here (see `claim`, `claim_in`),
        so a refused request leaves it unused."""
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
            # The cached secret may have been rotated by another process: one fresh read.
            credential = await self.credential_of(
                profile.identity_column, profile.secret_column, claim.identity, fresh=True
            )
        if credential is None or not profile.verifies(credential.secret, claim, lowered, body):
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
        # Real clients' nonces can be one digit, and a CSB client may send none (its msgid then
        # stands in): a replay is the same pair of timestamp and nonce, per profile.
        nonce = claim.nonce if claim.nonce is not None else f"msgid:{envelope.message_id}"
        key = f"{claim.profile.name}:{claim.timestamp}:{nonce}"
        columns = (profile.identity_column, profile.secret_column, claim.identity)
        return Authenticated(
            envelope,
            VerifiedRequest(credential.institution_code, key, now),
            nonce_header=profile.nonce_header,
            signature_header=profile.signature_header,
            profile=profile.name,
            credential=columns,
            unchanged=self.credential_of.unchanged(*columns, credential.secret),
        )

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

    async def claim(self, request: Authenticated) -> None:
        """Spend the request's nonce in a transaction of its own (see `claim_in`)."""
        async with self.nonces.engine.begin() as conn:
            await self.claim_in(conn, request)

    async def claim_in(
        self,
        conn: AsyncConnection,
        request: Authenticated,
        also: sa.ColumnElement[bool] | None = None,
        keeping: Keeping | None = None,
    ) -> None:
        """Spend the request's nonce in the caller's transaction, if the secret it verified
        with is still the institution's (and `also` holds); raises his.auth.replay or
        his.auth.signature (and the caller's unit rolls back)."""
        only_if = request.unchanged if also is None else sa.and_(request.unchanged, also)
        try:
            current = await self.nonces.claim_in(
                conn, request.nonce, only_if=only_if, keeping=keeping
            )
        except HisAuthError as exc:
            raise HisAuthError(
                "replayed request", rule="his.auth.replay", field=request.nonce_header
            ) from exc
        if not current:
            # Signed with a secret changed since this process kept it: keep the new one.
            await self.credential_of(*request.credential, fresh=True)
            raise HisAuthError(
                "signature does not verify",
                rule="his.auth.signature",
                field=request.signature_header,
                values={"profile": request.profile},
            )
