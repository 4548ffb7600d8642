"""The published signing vectors (docs/his/signing-vectors.json) are reproduced by the recipe as
docs/his/README.md writes it, implemented here as a vendor would (hashlib/hmac, not the gateway's
code; services/settlement/tests/unit/test_settlement_his_signing_vectors.py checks the same
vectors with the gateway's own verification). Credentials are the sandbox's."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from conformance import HOSPITALS, ROOT, csb_signature, hmac_signature, tif_signature

VECTORS = json.loads((ROOT / "docs/his/signing-vectors.json").read_text("utf-8"))
SANDBOX = HOSPITALS["H32010000001"]


@pytest.mark.parametrize("vector", VECTORS["tif"])
def test_tif(vector: dict[str, Any]) -> None:
    headers = vector["headers"]
    assert vector["token"] == SANDBOX["tif_token"]
    assert headers["x-tif-paasid"] == SANDBOX["tif_paasid"]
    timestamp, nonce = headers["x-tif-timestamp"], headers["x-tif-nonce"]
    assert vector["signed_text"] == f"{timestamp}{vector['token']}{nonce}{timestamp}"
    assert tif_signature(vector["token"], timestamp, nonce) == vector["x-tif-signature"]


@pytest.mark.parametrize("vector", VECTORS["csb"])
def test_csb(vector: dict[str, Any]) -> None:
    assert vector["secret_key"] == SANDBOX["csb_secret_key"]
    assert vector["headers"]["_api_access_key"] == SANDBOX["csb_access_key"]
    assert csb_signature(vector["secret_key"], vector["headers"]) == vector["_api_signature"]


@pytest.mark.parametrize("vector", VECTORS["hmac"])
def test_body_hmac(vector: dict[str, Any]) -> None:
    headers, body = vector["headers"], vector["body"].encode("utf-8")
    assert vector["his_secret"] == SANDBOX["his_secret"]
    assert hashlib.sha256(body).hexdigest() == vector["body_sha256"]
    timestamp, nonce = headers["x-yidi-timestamp"], headers["x-yidi-nonce"]
    assert vector["signed_text"] == f"{timestamp}\n{nonce}\n{vector['body_sha256']}"
    assert (
        hmac_signature(vector["his_secret"], timestamp, nonce, body) == vector["x-yidi-signature"]
    )
