"""The running platform an attacking HIS meets: all five services as processes on a fresh embedded
stack with the sandbox loaded (as tests/e2e/conftest.py starts it), with a small 1101 bucket so the
rate limit is reached in a test; raw signed posts for bodies no honest client would build; and the
row counts of every service's event store and idempotency table, which an attack must not move."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx

from yidi_cli.his import GATEWAY, HisClient
from yidi_cli.sandbox import load_sandbox, sandbox_dir
from yidi_events.auth.his import sign
from yidi_events.kernel.time import SHANGHAI
from yidi_stack.clients import SimClock
from yidi_stack.embedded import private_runtime_folder
from yidi_stack.platform import SERVICES, Platform

START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
BURST = 40  # 1101 answers an institution gets at once here (loading the sandbox polls 1101)
REGION_OF = {"H3201": "320100", "H3202": "320200", "H3205": "320500", "H3213": "321300"}


@dataclass
class Attacked:
    platform: Platform
    clock: SimClock
    http: httpx.Client
    secrets: dict[str, str]
    persons: dict[str, dict[str, Any]]  # sandbox persons by the last digit of psn_no

    def his(self, code: str) -> HisClient:
        return HisClient(
            self.platform.url, code, self.secrets[code], REGION_OF[code[:5]], self.clock, self.http
        )

    def raw(self, code: str, body: bytes, **headers: str) -> httpx.Response:
        """A body posted as it is, signed by the institution (the signature covers the bytes)."""
        signed = sign(self.secrets[code], code, body, self.clock.now())
        return self.http.post(
            self.platform.url("settlement") + GATEWAY,
            content=body,
            headers={**signed, "content-type": "application/json", **headers},
        )

    def counts(self) -> dict[str, tuple[int, int]]:
        """(events, idempotency rows) of every service's database."""

        async def count() -> dict[str, tuple[int, int]]:
            found: dict[str, tuple[int, int]] = {}
            for service in SERVICES:
                conn = await asyncpg.connect(self.platform.dsn(service))
                try:
                    events = await conn.fetchval("SELECT count(*) FROM events")
                    keys = await conn.fetchval("SELECT count(*) FROM idempotency")
                finally:
                    await conn.close()
                found[service] = (int(events), int(keys))
            return found

        return asyncio.run(count())


def envelope_bytes(his: HisClient, infno: str, input_json: bytes) -> bytes:
    """An envelope whose input is given as raw JSON text (deep nesting, NaN, huge integers)."""
    head = his.envelope(infno, {}, None)
    del head["input"]
    text = json.dumps(head, ensure_ascii=False).encode()
    return text[:-1] + b', "input": ' + input_json + b"}"


def refused(answer: dict[str, Any], *words: str) -> str:
    """The err_msg of a clean refusal envelope naming every word."""
    assert answer["infcode"] == -1, answer
    assert answer["output"] is None
    message = str(answer["err_msg"])
    for word in words:
        assert word in message, message
    return message


def running_platform() -> Iterator[Attacked]:
    """The platform, up for as long as the generator is (a module fixture yields from it)."""
    parent = private_runtime_folder("yidi-sec-his-")
    platform = Platform.simulated(
        parent / "state",
        START,
        YIDI_HIS_PERSON_QUERY_BURST=str(BURST),
        YIDI_HIS_PERSON_QUERY_RATE_PER_S="0.001",
    )
    http = httpx.Client(timeout=60)
    try:
        platform.up(say=lambda _: None)
        load_sandbox(platform.url, say=lambda _: None)
        hospitals = json.loads((sandbox_dir() / "hospitals.json").read_text())
        persons = json.loads((sandbox_dir() / "persons.json").read_text())
        yield Attacked(
            platform,
            SimClock(platform.url, http),
            http,
            {h["fixmedins_code"]: h["his_secret"] for h in hospitals},
            {p["psn_no"][-1]: p for p in persons},
        )
    finally:
        http.close()
        platform.down(quiet=True)
        shutil.rmtree(parent, ignore_errors=True)
