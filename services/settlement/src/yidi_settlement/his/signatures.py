"""The three ways a HIS proves who it is (sandbox README, "HIS requests"): the TIF gateway's
x-tif-* headers, the Aliyun CSB gateway's _api_* headers, and our body HMAC (x-yidi-*).

Pure: each profile reads its headers into a `Claim` and recomputes the signature from the
credential the claim names. Lookups, the timestamp window and replay are the authenticator's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from yidi_events.auth import his as body_hmac
from yidi_events.auth.his import HisAuthError

TIF = "tif"
CSB = "csb"
HMAC = "hmac"
CSB_SIGNATURE = "_api_signature"
CSB_NONCE = "_api_nonce"


def tif_signature(token: str, timestamp: str, nonce: str) -> str:
    """Lowercase hex SHA-256 of timestamp + token + nonce + timestamp (the body is not covered)."""
    return hashlib.sha256(f"{timestamp}{token}{nonce}{timestamp}".encode()).hexdigest()


def csb_signed_text(api_headers: Mapping[str, str]) -> str:
    """The _api_* headers but the signature, as key=value sorted by key and joined by one &."""
    return "&".join(
        f"{key}={value}"
        for key, value in sorted(api_headers.items())
        if key.startswith("_api_") and key != CSB_SIGNATURE
    )


def csb_signature(secret_key: str, api_headers: Mapping[str, str]) -> str:
    """Base64 of HMAC-SHA1 with the secret key over `csb_signed_text`."""
    digest = hmac.new(
        secret_key.encode(), csb_signed_text(api_headers).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Claim:
    """Who a request says it is, and when: not yet verified."""

    profile: Profile
    identity: str  # institution code (x-yidi), paasid (TIF) or access key (CSB)
    timestamp: str
    sent_at: datetime
    nonce: str | None  # a CSB client may send none: the envelope's msgid stands in


@dataclass(frozen=True)
class Profile:
    name: str
    identity_header: str
    timestamp_header: str
    nonce_header: str
    signature_header: str
    identity_column: str  # the hospital_secrets column the identity is found in
    secret_column: str
    nonce_required: bool
    # Seconds, milliseconds, or either told apart by length (CSB clients send both).
    timestamp_unit: str
    expected: Callable[[str, Claim, Mapping[str, str], bytes], str]

    def present(self, headers: Mapping[str, str]) -> bool:
        return self.identity_header in headers

    def claim(self, headers: Mapping[str, str]) -> Claim:
        identity = _header(headers, self.identity_header)
        timestamp = _header(headers, self.timestamp_header)
        _header(headers, self.signature_header)
        nonce = headers.get(self.nonce_header) or None
        if self.nonce_required and nonce is None:
            _header(headers, self.nonce_header)
        if nonce is not None and not 1 <= len(nonce) <= 64:
            raise HisAuthError(
                "the nonce must have 1 to 64 characters",
                rule="his.auth.nonce",
                field=self.nonce_header,
                values={"low": 1, "high": 64},
            )
        return Claim(self, identity, timestamp, self._sent_at(timestamp), nonce)

    def verifies(self, secret: str, claim: Claim, headers: Mapping[str, str], body: bytes) -> bool:
        given = headers.get(self.signature_header, "")
        expected = self.expected(secret, claim, headers, body)
        if self.name != CSB:  # hex digests: a client may send them in capitals
            given = given.lower()
        return hmac.compare_digest(expected.encode(), given.encode())

    def _sent_at(self, timestamp: str) -> datetime:
        if not timestamp.isdigit() or len(timestamp) > 16:
            raise HisAuthError(
                "the timestamp must be Unix time in digits",
                rule="his.auth.timestamp",
                field=self.timestamp_header,
                values={"unit": _UNIT_WORDS[self.timestamp_unit], "value": timestamp[:20]},
            )
        millis = self.timestamp_unit == "ms" or (
            self.timestamp_unit == "s|ms" and len(timestamp) > 11
        )
        return datetime.fromtimestamp(int(timestamp) / (1000 if millis else 1), tz=UTC)


_UNIT_WORDS = {"s": "秒数", "ms": "毫秒数", "s|ms": "毫秒数（13 位）或秒数（10 位）"}


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name, "")
    if not value:
        raise HisAuthError(f"missing header {name}", rule="his.auth.header", field=name)
    return value


PROFILES = (
    Profile(
        name=TIF,
        identity_header="x-tif-paasid",
        timestamp_header="x-tif-timestamp",
        nonce_header="x-tif-nonce",
        signature_header="x-tif-signature",
        identity_column="tif_paasid",
        secret_column="tif_token",
        nonce_required=True,
        timestamp_unit="s",
        expected=lambda token, claim, _h, _b: tif_signature(
            token, claim.timestamp, claim.nonce or ""
        ),
    ),
    Profile(
        name=CSB,
        identity_header="_api_access_key",
        timestamp_header="_api_timestamp",
        nonce_header=CSB_NONCE,
        signature_header=CSB_SIGNATURE,
        identity_column="csb_access_key",
        secret_column="csb_secret_key",
        nonce_required=False,
        timestamp_unit="s|ms",
        expected=lambda secret, _c, headers, _b: csb_signature(secret, headers),
    ),
    Profile(
        name=HMAC,
        identity_header=body_hmac.INSTITUTION,
        timestamp_header=body_hmac.TIMESTAMP,
        nonce_header=body_hmac.NONCE,
        signature_header=body_hmac.SIGNATURE,
        identity_column="institution_code",
        secret_column="his_secret",
        nonce_required=True,
        timestamp_unit="ms",
        expected=lambda secret, claim, _h, body: body_hmac.signature(
            secret, claim.timestamp, claim.nonce or "", body
        ),
    ),
)


def profile_of(headers: Mapping[str, str]) -> Profile:
    """The profile whose identity header the request carries (headers with lowercase names)."""
    for profile in PROFILES:
        if profile.present(headers):
            return profile
    raise HisAuthError(
        "no authentication headers of a known profile",
        rule="his.auth.profile",
        field="x-tif-paasid",
    )
