"""Real infrastructure for tests: a PostgreSQL server and a Kafka-protocol broker.

`YIDI_TEST_INFRA` chooses: `docker` (testcontainers: the PostgreSQL image and Apache Kafka in
KRaft mode), `embedded` (the wheels, on 127.0.0.1), or `external` (`YIDI_TEST_PG_DSN` and
`YIDI_TEST_KAFKA_BOOTSTRAP` name servers someone else runs). Unset: docker when an engine answers,
otherwise embedded. Servers start once per test session; every test gets its own database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from yidi_stack.embedded import (
    EmbeddedBroker,
    EmbeddedPostgres,
    free_port,
    private_runtime_folder,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when a loop is running in this thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@dataclass
class Infra:
    kind: str
    pg_dsn: str  # the maintenance database of the server
    kafka_bootstrap: str
    restart_broker: Callable[[], None] | None = None
    # Fault tests take the database away and bring it back (every connection lost meanwhile).
    stop_postgres: Callable[[], None] | None = None
    start_postgres: Callable[[], None] | None = None

    def dsn_for(self, database: str) -> str:
        parts = urlsplit(self.pg_dsn)
        return urlunsplit(parts._replace(path=f"/{database}"))

    def create_database(self, name: str, template: str | None = None) -> str:
        suffix = f' TEMPLATE "{template}"' if template else ""
        run_sync(self._execute(f'CREATE DATABASE "{name}"{suffix}'))
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        run_sync(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def _execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.pg_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@contextmanager
def provide() -> Iterator[Infra]:
    kind = os.environ.get("YIDI_TEST_INFRA") or ("docker" if docker_available() else "embedded")
    log.info("test infrastructure: %s", kind)
    if kind == "external":
        yield Infra(
            "external", os.environ["YIDI_TEST_PG_DSN"], os.environ["YIDI_TEST_KAFKA_BOOTSTRAP"]
        )
    elif kind == "docker":
        with _docker() as infra:
            yield infra
    elif kind == "embedded":
        with _embedded() as infra:
            yield infra
    else:
        raise ValueError(f"YIDI_TEST_INFRA={kind!r}: use docker, embedded or external")


@contextmanager
def _embedded() -> Iterator[Infra]:
    # Each server is stopped whether its own start, the other's, or the tests failed.
    with ExitStack() as stack:
        root = private_runtime_folder("yidi-test-")
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        pg = EmbeddedPostgres(root / "pg", free_port(), fast=True)
        stack.callback(pg.stop)
        pg.start()
        broker = EmbeddedBroker(root / "broker", free_port())
        stack.callback(broker.stop)
        broker.start()
        yield Infra(
            "embedded",
            pg.dsn,
            broker.bootstrap,
            restart_broker=broker.restart,
            stop_postgres=pg.stop,
            start_postgres=pg.start,
        )


@contextmanager
def _docker() -> Iterator[Infra]:
    from testcontainers.postgres import PostgresContainer

    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # older testcontainers
        from testcontainers.kafka import KafkaContainer

    with (
        PostgresContainer(
            "postgres:17", username="postgres", password="postgres", dbname="postgres", driver=None
        ) as pg,
        KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as kafka,
    ):
        # Stopping the container would give it a new port: pausing it makes the server unreachable
        # (calls hang until it comes back) and keeps the address.
        container = pg.get_wrapped_container()
        yield Infra(
            "docker",
            pg.get_connection_url(),
            kafka.get_bootstrap_server(),
            stop_postgres=container.pause,
            start_postgres=container.unpause,
        )
