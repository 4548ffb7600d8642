"""The end-to-end world: all five services as processes on a fresh embedded stack with the
sandbox loaded and simulated time, driven only through their public APIs."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest
from typer.testing import CliRunner

from yidi_cli.his import HisClient
from yidi_cli.main import app as yidi_app
from yidi_cli.sandbox import load_sandbox, sandbox_dir
from yidi_events.kernel.time import SHANGHAI
from yidi_stack.clients import AgencyClient, SimClock, agency
from yidi_stack.embedded import private_runtime_folder
from yidi_stack.platform import SERVICES, Platform

T = TypeVar("T")
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


@dataclass
class World:
    platform: Platform
    clock: SimClock
    http: httpx.Client
    secrets: dict[str, str]

    def his(self, institution_code: str) -> HisClient:
        region = {
            "H3201": "320100",
            "H3202": "320200",
            "H3205": "320500",
            "H3213": "321300",
            "H6110": "611000",
            "P3201": "320100",  # the sandbox's retail pharmacy
        }[institution_code[:5]]
        return HisClient(
            self.platform.url,
            institution_code,
            self.secrets[institution_code],
            region,
            self.clock,
            self.http,
        )

    def agency(
        self,
        service: str,
        region: str,
        *,
        user: str = "staff",
        roles: tuple[str, ...] = (),
        kind: str = "agency",
    ) -> AgencyClient:
        return agency(
            self.platform, service, region, user=user, roles=roles, kind=kind, http=self.http
        )

    def centre(
        self,
        service: str,
        *,
        user: str = "centre-op",
        roles: tuple[str, ...] = ("approver", "operator"),
    ) -> AgencyClient:
        return agency(
            self.platform, service, "320000", user=user, roles=roles, kind="centre", http=self.http
        )

    def yidi(self, *args: str) -> str:
        """The operator CLI (`yidi ...`) against this platform; returns what it printed."""
        env = {
            "YIDI_KAFKA_BOOTSTRAP": self.platform.broker.bootstrap,
            **{f"YIDI_{s.upper()}_URL": self.platform.url(s) for s in SERVICES},
        }
        result = CliRunner().invoke(yidi_app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return str(result.output)

    def lose_broker_memory(self) -> None:
        """Restart the broker with every topic, offset and group gone, and have every service
        publish its whole event store again."""
        self.platform.broker.restart()  # Tansu keeps topics in memory
        self.platform.create_topics()
        for service in SERVICES:
            self.yidi("republish", service)

    def quiet(self) -> None:
        """Wait until nothing is in flight: every relay published and every consumer applied what
        was published (a reaction's facts travel on, so it must hold twice in a row)."""

        def idle() -> bool:
            rows = json.loads(self.yidi("lag", "--json"))
            return all(row["behind"] == 0 for row in rows)

        self.eventually(lambda: idle() and idle(), timeout=60, what="nothing in flight")

    def eventually(
        self, probe: Callable[[], T | None], *, timeout: float = 20.0, what: str = ""
    ) -> T:
        """Poll until `probe` returns something truthy (events travel through Kafka)."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = probe()
            except AssertionError as exc:
                last = exc
            else:
                if last:
                    return last
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what or probe}: last saw {last!r}")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    parent = private_runtime_folder("yidi-e2e-")
    platform = Platform.simulated(parent / "state", START)
    http = httpx.Client(timeout=30)
    try:
        platform.up(say=lambda _: None)
        load_sandbox(platform.url, say=lambda _: None)
        hospitals = json.loads((sandbox_dir() / "hospitals.json").read_text())
        pharmacies = json.loads((sandbox_dir() / "pharmacies.json").read_text())
        secrets = {h["fixmedins_code"]: h["his_secret"] for h in [*hospitals, *pharmacies]}
        yield World(platform, SimClock(platform.url, http), http, secrets)
    finally:
        http.close()
        platform.down(quiet=True)
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox_persons() -> dict[str, dict[str, str]]:
    persons = json.loads((sandbox_dir() / "persons.json").read_text())
    return {p["psn_no"][-1]: p for p in persons}
