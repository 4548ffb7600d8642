"""9001 sign-in of sandbox hospital H32010000001 with each signature profile (standard library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import urllib.request
from datetime import datetime

URL = os.environ.get("YIDI_SETTLEMENT_URL", "http://127.0.0.1:8002")
CODE = "H32010000001"


def envelope(sequence: int) -> bytes:
    now = datetime.now()
    doc = {
        "infno": "9001",
        "msgid": f"{CODE}{now:%Y%m%d%H%M%S}{sequence:04d}",
        "mdtrtarea_admvs": "320100",
        "recer_sys_code": "YBXT",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "001",
        "opter_name": "收费员",
        "inf_time": f"{now:%Y-%m-%dT%H:%M:%S}",
        "fixmedins_code": CODE,
        "fixmedins_name": "南京市第一人民医院(沙盒)",
        "input": {"signIn": {"opter_no": "001", "mac": "00-16-3E-00-00-01", "ip": "10.0.0.8"}},
    }
    return json.dumps(doc, ensure_ascii=False).encode()


def tif_headers() -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    text = f"{timestamp}sandbox-tif-token-{CODE}{nonce}{timestamp}"
    return {
        "x-tif-paasid": "sbx_h32010000001",
        "x-tif-timestamp": timestamp,
        "x-tif-nonce": nonce,
        "x-tif-signature": hashlib.sha256(text.encode()).hexdigest(),
    }


def csb_headers() -> dict[str, str]:
    headers = {
        "_api_name": "9001",
        "_api_version": "1.0.0",
        "_api_timestamp": str(int(time.time() * 1000)),
        "_api_access_key": f"AK{CODE}",
        "_api_nonce": secrets.token_hex(8),
    }
    text = "&".join(f"{key}={value}" for key, value in sorted(headers.items()))
    digest = hmac.new(f"sandbox-csb-sk-{CODE}".encode(), text.encode(), hashlib.sha1).digest()
    return {**headers, "_api_signature": base64.b64encode(digest).decode()}


def hmac_headers(body: bytes) -> dict[str, str]:
    timestamp, nonce = str(int(time.time() * 1000)), secrets.token_hex(8)
    text = f"{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    signature = hmac.new(f"sandbox-secret-{CODE}".encode(), text.encode(), hashlib.sha256)
    return {
        "x-yidi-institution": CODE,
        "x-yidi-timestamp": timestamp,
        "x-yidi-nonce": nonce,
        "x-yidi-signature": signature.hexdigest(),
    }


def post(path: str, body: bytes, headers: dict[str, str]) -> None:
    request = urllib.request.Request(
        URL + path, data=body, headers={**headers, "content-type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        print(path, json.dumps(json.loads(response.read()), ensure_ascii=False))


if __name__ == "__main__":
    post("/ebus/gdyb_api/prd/hsa/hgs/9001", envelope(1), tif_headers())
    post("/CSB/hsa-fsi-9001", envelope(2), csb_headers())
    body = envelope(3)
    post("/fsi/api/rsfComIfsService/callService", body, hmac_headers(body))
