"""The signing test vectors published for HIS vendors (docs/his/signing-vectors.json) verify with
the gateway's own code, and a changed byte does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from yidi_settlement.his.signatures import (
    CSB,
    CSB_SIGNATURE,
    HMAC,
    PROFILES,
    TIF,
    Profile,
    csb_signed_text,
    profile_of,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[4] / "docs/his/signing-vectors.json").read_text("utf-8")
)
SECRET_OF = {TIF: "token", CSB: "secret_key", HMAC: "his_secret"}
CASES = [(name, vector) for name in (TIF, CSB, HMAC) for vector in VECTORS[name]]


def signed(name: str, vector: dict[str, Any]) -> tuple[Profile, dict[str, str], bytes]:
    profile = next(p for p in PROFILES if p.name == name)
    headers = {**vector["headers"], profile.signature_header: vector[profile.signature_header]}
    return profile, headers, vector.get("body", "").encode()


@pytest.mark.parametrize(("name", "vector"), CASES)
def test_each_published_vector_verifies_with_the_gateway_code(
    name: str, vector: dict[str, Any]
) -> None:
    profile, headers, body = signed(name, vector)
    assert profile_of(headers) is profile
    claim = profile.claim(headers)
    assert profile.verifies(vector[SECRET_OF[name]], claim, headers, body)
    assert (
        profile.expected(vector[SECRET_OF[name]], claim, headers, body)
        == (headers[profile.signature_header])
    )


@pytest.mark.parametrize(("name", "vector"), CASES)
def test_another_secret_or_timestamp_does_not_verify(name: str, vector: dict[str, Any]) -> None:
    profile, headers, body = signed(name, vector)
    assert not profile.verifies(
        vector[SECRET_OF[name]] + "x", profile.claim(headers), headers, body
    )
    moved = {**headers, profile.timestamp_header: str(int(headers[profile.timestamp_header]) + 1)}
    assert not profile.verifies(vector[SECRET_OF[name]], profile.claim(moved), moved, body)


@pytest.mark.parametrize("vector", VECTORS[CSB])
def test_the_csb_signed_text_is_the_sorted_pairs_joined_by_one_ampersand(
    vector: dict[str, Any],
) -> None:
    headers = {**vector["headers"], CSB_SIGNATURE: vector[CSB_SIGNATURE]}
    assert csb_signed_text(headers) == vector["signed_text"]


@pytest.mark.parametrize("vector", VECTORS[HMAC])
def test_the_body_hmac_covers_the_body(vector: dict[str, Any]) -> None:
    profile, headers, body = signed(HMAC, vector)
    assert not profile.verifies(vector["his_secret"], profile.claim(headers), headers, body + b" ")
