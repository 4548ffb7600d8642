"""The conformance harness: one real settlement gateway (and the reconciliation service that owns
3201/3202/9101/9102) per test module on real PostgreSQL and the broker, a HIS client that signs
and posts as real vendors' clients do, and the check of every answer against the spec's own
output tables.

The client is written from the integration kit (docs/his/README.md) and the spec, not from the
gateway's code: it signs with hashlib/hmac as a vendor would, so a gateway that drifted from its
published recipe fails here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import itertools
import json
import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from jsonschema import Draft202012Validator, ValidationError
from uuid6 import uuid7

from yidi_cli.sandbox import shared_dir
from yidi_events.kernel.time import SHANGHAI
from yidi_events.runtime.kafka import KafkaSettings, ensure_topics
from yidi_events.settings import ServiceSettings
from yidi_reconciliation import bootstrap as reconciliation
from yidi_settlement import bootstrap as settlement
from yidi_settlement.his.typed import spec_outputs

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = shared_dir() / "sandbox"
NANJING = "H32010000001"  # level 3, in 320100
XUANWU = "H32010000002"  # another Nanjing hospital: "another institution's code"
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in Nanjing
HOSPITALS = {h["fixmedins_code"]: h for h in json.loads((SANDBOX / "hospitals.json").read_text())}
PERSONS = {p["psn_no"][-1]: p for p in json.loads((SANDBOX / "persons.json").read_text("utf-8"))}
FILINGS = {f["psn_no"]: f for f in json.loads((SANDBOX / "filings.json").read_text("utf-8"))}


def _settlement_harness() -> ModuleType:
    """Settlement's own test harness (the app on a migrated database, the insured places' facts
    fed through the consumed projection): reused, not copied."""
    path = ROOT / "services/settlement/tests/conftest.py"
    spec = importlib.util.spec_from_file_location("settlement_test_harness", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


Harness = _settlement_harness().Harness

# --- signing, as docs/his/README.md publishes the three profiles ------------------------------


def _credential(code: str, name: str) -> str:
    value: str = HOSPITALS[code][name]
    return value


def tif_signature(token: str, timestamp: str, nonce: str) -> str:
    """README, TIF: lowercase hex SHA-256 of timestamp + token + nonce + timestamp."""
    return hashlib.sha256(f"{timestamp}{token}{nonce}{timestamp}".encode()).hexdigest()


def csb_signature(secret_key: str, headers: dict[str, str]) -> str:
    """README, CSB: base64 HMAC-SHA1 over the `_api_*` headers but the signature, as sorted
    key=value pairs joined by one `&`."""
    pairs = sorted((k, v) for k, v in headers.items() if k != "_api_signature")
    text = "&".join(f"{key}={value}" for key, value in pairs)
    digest = hmac.new(secret_key.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def hmac_signature(his_secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """README, body HMAC: hex HMAC-SHA256 over timestamp \n nonce \n sha256_hex(body)."""
    text = f"{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(his_secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def tif(code: str, body: bytes, at: datetime, nonce: str) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))  # seconds
    return {
        "x-tif-paasid": _credential(code, "tif_paasid"),
        "x-tif-timestamp": timestamp,
        "x-tif-nonce": nonce,
        "x-tif-signature": tif_signature(_credential(code, "tif_token"), timestamp, nonce),
    }


def csb(code: str, body: bytes, at: datetime, nonce: str) -> dict[str, str]:
    headers = {
        "_api_name": "hsa-fsi",  # a fixed service name, as clients posting to one path send it
        "_api_version": "1.0.0",
        "_api_timestamp": str(int(at.timestamp() * 1000)),  # milliseconds
        "_api_access_key": _credential(code, "csb_access_key"),
        "_api_nonce": nonce,
    }
    signature = csb_signature(_credential(code, "csb_secret_key"), headers)
    return {**headers, "_api_signature": signature}


def body_hmac(code: str, body: bytes, at: datetime, nonce: str) -> dict[str, str]:
    timestamp = str(int(at.timestamp() * 1000))
    return {
        "x-yidi-institution": code,
        "x-yidi-timestamp": timestamp,
        "x-yidi-nonce": nonce,
        "x-yidi-signature": hmac_signature(_credential(code, "his_secret"), timestamp, nonce, body),
    }


Signer = Callable[[str, bytes, datetime, str], dict[str, str]]
PROFILES: dict[str, Signer] = {"tif": tif, "csb": csb, "hmac": body_hmac}
SIGNATURE_HEADER = {"tif": "x-tif-signature", "csb": "_api_signature", "hmac": "x-yidi-signature"}
URLS: dict[str, Callable[[str], str]] = {
    "service": lambda infno: "/fsi/api/rsfComIfsService/callService",
    "hgs": lambda infno: f"/ebus/gdyb_api/prd/hsa/hgs/{infno}",
    "csb": lambda infno: f"/CSB/hsa-fsi-{infno}",
}
STYLES = [(profile, url) for profile in PROFILES for url in URLS]

# --- the wire: numbers as numbers, written from their decimal text -----------------------------


def dumps(value: Any) -> str:
    """JSON as a C# client writes it: a Decimal is the number its text is (`25.50`, `1.0`)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def parse(content: bytes) -> Any:
    """An answer as a BigDecimal client reads it: every number keeps its text, ints included."""
    return json.loads(content, parse_float=Decimal, parse_int=Decimal)


# --- the spec's output tables ------------------------------------------------------------------

_DAY = r"\d{4}-\d{2}-\d{2}"
_FORMATS = {
    "日期型": re.compile(rf"{_DAY}( \d{{2}}:\d{{2}}:\d{{2}})?"),
    "日期时间型": re.compile(rf"{_DAY} \d{{2}}:\d{{2}}:\d{{2}}"),
}


def _rows(output: Any, node: str) -> list[Any]:
    """The rows of `node` wherever it hangs: under `output`, or inside another node's rows."""
    if node == "":
        return [output]
    found: list[Any] = []
    for item in output if isinstance(output, list) else [output]:
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key == node:
                found.extend(value if isinstance(value, list) else [value])
            elif isinstance(value, dict | list):
                found.extend(_rows(value, node))
    return found


def _problem(field: dict[str, Any], value: Any) -> str | None:
    kind = field["type"]
    scale = field["length"].replace("，", ",").partition(",")[2].strip()
    if value is None:
        return "missing or null"
    if kind == "数值型":
        if not isinstance(value, Decimal):
            return f"{type(value).__name__} {value!r}, not a JSON number"
        decimals = -int(value.as_tuple().exponent)
        if scale.isdigit() and decimals != int(scale):
            return f"{value} has {decimals} decimals, the spec says {scale}"
    elif kind == "字符型" and not isinstance(value, str):
        return f"{type(value).__name__} {value!r}, not a string"
    elif kind in _FORMATS and not (isinstance(value, str) and _FORMATS[kind].fullmatch(value)):
        return f"{value!r} is not a {kind}"
    return None


def spec_problems(infno: str, output: Any) -> list[str]:
    """Every 非空 output field of `infno` that is missing, null or not typed as the spec types it
    (数值型: a JSON number with the spec's decimals; 字符型: a string; dates in the spec's
    format). A node of rows the answer holds none of has nothing to check; a missing node does."""
    tables = spec_outputs().get(infno)
    if tables is None:
        return []  # the spec gives this transaction no output table
    nested = {f["code"] for fields in tables["outputs"].values() for f in fields}
    problems = []
    for node, fields in tables["outputs"].items():
        if node.startswith("@"):
            continue  # a downloaded file's columns, not the JSON answer
        if node and node not in nested and (not isinstance(output, dict) or node not in output):
            problems.append(f"{infno} {node}: missing")
            continue
        for row in _rows(output, node):
            for f in (f for f in fields if f["required"]):
                value = row.get(f["code"]) if isinstance(row, dict) else None
                if problem := _problem(f, value):
                    problems.append(f"{infno} {node or 'output'}.{f['code']}: {problem}")
    return problems


# --- the stack and the client ------------------------------------------------------------------


@dataclass
class Stack:
    """One settlement gateway and reconciliation service for a module; persons are minted per
    test so parametrizations never share a person's year."""

    h: Any  # Harness
    openapi: dict[str, Any] = field(default_factory=dict)  # the document the gateway serves
    nonces: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    minted: itertools.count[int] = field(default_factory=lambda: itertools.count(10))
    settled: list[dict[str, Any]] = field(default_factory=list)  # setlinfo of each settlement
    messages: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def conforms(self, component: str, document: Any) -> list[str]:
        """What in `document` the served OpenAPI's `component` schema does not allow."""
        schema = {"$ref": f"#/components/schemas/{component}", **self.openapi}
        validator = Draft202012Validator(schema)

        def leaves(error: ValidationError) -> list[str]:
            # An anyOf error holds why each alternative failed: name the deepest ones.
            if not error.context:
                return [f"{list(error.absolute_path)}: {error.message[:200]}"]
            deepest = max(len(e.absolute_path) for e in error.context)
            return [
                leaf for e in error.context if len(e.absolute_path) == deepest for leaf in leaves(e)
            ]

        return [leaf for e in validator.iter_errors(document) for leaf in leaves(e)]

    def nonce(self) -> str:
        return str(next(self.nonces))

    async def person(self, like: str = "7") -> dict[str, Any]:
        """A new insured person shaped like sandbox person `like` (same place, scheme, category,
        account balance and filing), with numbers of its own."""
        n = next(self.minted)
        p = dict(PERSONS[like])
        p["psn_no"] = f"{p['psn_no'][:-4]}{n:04d}"
        p["certno"] = f"{p['certno'][:-4]}{n:04d}"
        p["card_sn"] = f"SCC{n:07d}"
        await self.h.person(p)
        filing = {**FILINGS[PERSONS[like]["psn_no"]], "psn_no": p["psn_no"]}
        await self.h.filing(filing, filing_id=f"F-CONF-{n}")
        return p

    def client(
        self, profile: str, url: str, *, insured: str | None = None, hospital: str = NANJING
    ) -> Client:
        return Client(self, profile, url, hospital, insured)

    async def counts(self) -> tuple[int, int]:
        counted: tuple[int, int] = await self.h.counts()
        return counted


@dataclass
class Client:
    """A HIS as real vendors' clients are: ISO `T` datetimes, amounts as JSON numbers, `input` as
    an object or (`string_input`) as a JSON string of it, signed with one profile, posted to one
    URL style. `answers` keeps every accepted (infno, output), in order."""

    stack: Stack
    profile: str
    url: str
    hospital: str
    insured: str | None
    answers: list[tuple[str, Any]] = field(default_factory=list)

    def msgid(self) -> str:
        """The spec's msgid: institution (12) + yyyyMMddHHmmss (14) + a sequence (4)."""
        now = self.stack.h.runtime.clock.now().astimezone(SHANGHAI)
        return f"{self.hospital}{now:%Y%m%d%H%M%S}{next(self.stack.messages) % 10_000:04d}"

    def envelope(
        self, infno: str, payload: dict[str, Any], *, msgid: str | None = None,
        string_input: bool = False, code: str | None = None,
    ) -> bytes:  # fmt: skip
        now = self.stack.h.runtime.clock.now().astimezone(SHANGHAI)
        doc = {
            "infno": infno,
            "msgid": msgid or self.msgid(),
            "mdtrtarea_admvs": HOSPITALS[self.hospital]["admdvs"],
            "insuplc_admdvs": self.insured or "",
            "recer_sys_code": "YBXT",
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "001",
            "opter_name": "收费员",
            "inf_time": f"{now:%Y-%m-%dT%H:%M:%S}",
            "fixmedins_code": code or self.hospital,
            "fixmedins_name": HOSPITALS[code or self.hospital]["fixmedins_name"],
            "sign_no": "",
            "input": dumps(payload) if string_input else payload,
        }
        return dumps(doc).encode("utf-8")

    async def post(
        self, infno: str, body: bytes, *, headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> httpx.Response:  # fmt: skip
        signed = headers or PROFILES[self.profile](
            self.hospital, body, self.stack.h.runtime.clock.now(), self.stack.nonce()
        )
        response: httpx.Response = await self.stack.h.client.post(
            URLS[self.url](infno), content=body, headers={**signed, "content-type": content_type}
        )
        assert response.status_code == 200, response.text
        return response

    async def call(self, infno: str, payload: dict[str, Any], **kw: Any) -> Any:
        """Post and read the answer; the request and the answer must both be what the served
        OpenAPI document says this transaction takes and answers."""
        headers = kw.pop("headers", None)
        body = self.envelope(infno, payload, **kw)
        problems = self.stack.conforms(f"HisRequest{infno}", json.loads(body))
        assert problems == [], (infno, "request", problems)
        content = (await self.post(infno, body, headers=headers)).content
        problems = self.stack.conforms(f"HisResponse{infno}", json.loads(content))
        assert problems == [], (infno, "response", problems)
        return parse(content)

    async def ok(self, infno: str, payload: dict[str, Any], **kw: Any) -> Any:
        """The output of an accepted call, checked against the spec's tables for `infno`."""
        answer = await self.call(infno, payload, **kw)
        assert answer["infcode"] == 0, (infno, answer["err_msg"])
        assert answer["err_msg"] in (None, ""), answer["err_msg"]
        output = answer["output"]
        problems = spec_problems(infno, output)
        assert problems == [], (infno, problems)
        self.answers.append((infno, output))
        return output


@asynccontextmanager
async def stack(databases: Any, infra: Any, *, flowing: bool = False) -> AsyncIterator[Stack]:
    """The settlement gateway with the sandbox world loaded, and reconciliation behind it for the
    transactions it owns, each on its own fresh database. `flowing`: settlement's relay publishes
    to the broker and reconciliation consumes, so a settlement reaches the day's totals."""
    namespace = f"t{uuid7().hex[:10]}"
    if flowing:
        await ensure_topics(KafkaSettings(infra.kafka_bootstrap, namespace))

    def settings(migrations: Path) -> ServiceSettings:
        return ServiceSettings(
            database_url=databases.create(migrations),
            kafka_bootstrap=infra.kafka_bootstrap,
            kafka_namespace=namespace,
            relay_enabled=flowing,
            consumers_enabled=flowing,
            clock="controlled",
            clock_start=START,
            log_json=False,
            log_level="WARNING",
            db_pool_size=10,
        )

    gateway = settlement.create(settings(settlement.MIGRATIONS))
    owner = reconciliation.create(settings(reconciliation.MIGRATIONS))
    try:
        async with (
            gateway.router.lifespan_context(gateway),
            owner.router.lifespan_context(owner),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gateway), base_url="http://test"
            ) as client,
        ):
            gateway.state.gateway.forwarder.transport = httpx.ASGITransport(app=owner)
            h = Harness(app=gateway, client=client)
            await h.sandbox_world()
            document = (await client.get("/openapi.json")).json()
            yield Stack(h, openapi={"components": document["components"]})
    finally:
        databases.drop_all()
