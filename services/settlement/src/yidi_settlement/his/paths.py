"""Where HIS requests are posted: the single service path, where the envelope's infno chooses, and
per-transaction paths as provincial gateways publish them (sandbox README, "HIS requests")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from yidi_settlement.his.openapi import REQUEST, RESPONSE

SERVICE_PATH = "/fsi/api/rsfComIfsService/callService"
_CSB_PATH = "/CSB/hsa-fsi-{infno}"  # Aliyun CSB style
_HGS_PATH = "/hsa/hgs/{infno}"  # Guangdong style, under a configured prefix
_BODY = {
    "required": True,
    "content": {
        **{
            # one schema per transaction, discriminated on infno (his/openapi.py)
            media: {"schema": {"$ref": f"#/components/schemas/{REQUEST}"}}
            for media in ("application/json", "text/plain")
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "description": "9101 as a stream: the envelope in jsonStr, the zip in file",
                "properties": {
                    "jsonStr": {"type": "string"},
                    "file": {"type": "string", "format": "binary"},
                },
                "required": ["jsonStr"],
            }
        },
    },
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the national envelope; 9102's file as the zip itself",
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{RESPONSE}"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
SERVICE_OPENAPI: dict[str, Any] = {"requestBody": _BODY}
TRANSACTION_OPENAPI: dict[str, Any] = {
    "requestBody": _BODY,
    "parameters": [
        {
            "name": "infno",
            "in": "path",
            "required": True,
            "description": "the transaction code, equal to the envelope's infno",
            "schema": {"type": "string", "maxLength": 6},
        }
    ],
}


def transaction_paths(hgs_prefixes: Sequence[str]) -> tuple[str, ...]:
    return (_CSB_PATH, *(f"{prefix.rstrip('/')}{_HGS_PATH}" for prefix in hgs_prefixes))


def path_transaction(path_params: Mapping[str, Any]) -> str:
    return str(path_params["infno"])
