"""The platform as a deployment runs it: all five services as processes, NOT in sandbox mode, a
real shared secret, the identity's own signing keys given to filing alone (two keys: the first
signs, the second is a previous one still published), the sandbox's users opened straight into the
identity store (the first operator's way in), hospitals registered through the API by a hospital
administrator who logged in. Attacks are made against it over HTTP."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import create_async_engine

from yidi_cli.sandbox import sandbox_dir
from yidi_events.auth.agency import TokenSigner, private_jwk
from yidi_events.settings import ServiceSettings
from yidi_events.store.schema import events
from yidi_filing.accounts_cli import open_accounts
from yidi_settlement.his import reference
from yidi_stack.embedded import free_port, private_runtime_folder
from yidi_stack.platform import SERVICES, Platform

NANJING_HOSPITAL = "H32010000001"


@dataclass
class Deployed:
    platform: Platform
    http: httpx.Client
    signer: TokenSigner  # what only filing holds; tests use it to stand in for the online channel
    shared_secret: str
    users: dict[str, dict[str, Any]]

    def url(self, service: str) -> str:
        return self.platform.url(service)

    def login(self, username: str) -> tuple[str, str]:
        """(bearer token, user id) of a sandbox user, logged in with their password."""
        answer = self.http.post(
            f"{self.url('filing')}/v1/api/identity/login",
            json={"username": username, "password": self.users[username]["password"]},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return body["access_token"], body["user_id"]

    def bearer(self, token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    def stores(self) -> dict[str, tuple[Any, ...]]:
        """Every service's event store: how many events and the last position."""

        async def read() -> dict[str, tuple[Any, ...]]:
            found = {}
            for service in SERVICES:
                engine = create_async_engine(
                    self.platform.dsn(service).replace("postgresql://", "postgresql+asyncpg://")
                )
                async with engine.connect() as conn:
                    row = (
                        await conn.execute(
                            sa.select(sa.func.count(), sa.func.max(events.c.position))
                        )
                    ).one()
                await engine.dispose()
                found[service] = tuple(row)
            return found

        return asyncio.run(read())

    def events_of(self, service: str, stream_id: str) -> list[tuple[str, dict[str, Any]]]:
        async def read() -> list[tuple[str, dict[str, Any]]]:
            engine = create_async_engine(
                self.platform.dsn(service).replace("postgresql://", "postgresql+asyncpg://")
            )
            async with engine.connect() as conn:
                rows = await conn.execute(
                    sa.select(events.c.event_type, events.c.payload)
                    .where(events.c.stream_id == stream_id)
                    .order_by(events.c.stream_version)
                )
                found = [(r[0], r[1]) for r in rows]
            await engine.dispose()
            return found

        return asyncio.run(read())


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    parent = private_runtime_folder("yidi-sec-")
    keys = [private_jwk(kid, Ed25519PrivateKey.generate()) for kid in ("2026-12", "2026-06")]
    signing_keys = json.dumps({"keys": keys})
    shared_secret = secrets.token_urlsafe(36)
    platform = Platform(
        parent / "state",
        pg_port=free_port(),
        broker_port=free_port(),
        ports={s: free_port() for s in SERVICES},
        extra_env={
            "YIDI_SANDBOX": "0",
            "YIDI_AUTH_SECRET": shared_secret,
            # The embedded broker on 127.0.0.1 takes no SCRAM users it could keep (docs/
            # integration.md, "Kafka security"): plaintext, said explicitly as a deployment must.
            "YIDI_KAFKA_ALLOW_PLAINTEXT": "1",
            "YIDI_LOG_LEVEL": "WARNING",
        },
        service_env={"filing": {"YIDI_AUTH_SIGNING_KEYS": signing_keys}},
    )
    users = json.loads((sandbox_dir() / "users.json").read_text(encoding="utf-8"))
    http = httpx.Client(timeout=30)
    try:
        platform.up(say=lambda _: None)
        opened = asyncio.run(
            open_accounts(ServiceSettings(database_url=platform.dsn("filing")), users)
        )
        assert opened == len(users)
        world = Deployed(
            platform,
            http,
            TokenSigner.from_jwks(signing_keys),
            shared_secret,
            {u["username"]: u for u in users},
        )
        token, _ = world.login("nj.hospital_admin")
        hospitals = json.loads((sandbox_dir() / "hospitals.json").read_text(encoding="utf-8"))
        [hospital] = [h for h in hospitals if reference.hospital_code(h) == NANJING_HOSPITAL]
        registered = http.post(
            f"{platform.url('settlement')}/v1/api/hospitals",
            headers=world.bearer(token),
            json=reference.hospital_registration(hospital),
        )
        assert registered.status_code == 201, registered.text
        yield world
    finally:
        http.close()
        platform.down(quiet=True)
        shutil.rmtree(parent, ignore_errors=True)
