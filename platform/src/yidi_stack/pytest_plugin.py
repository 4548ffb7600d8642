"""Pytest fixtures giving tests real PostgreSQL and a real Kafka-protocol broker.

- `infra` (session): the servers, started once (see `yidi_stack.infra`).
- `database(migrations_dir)` factory (function): a fresh database migrated to head, cloned from a
  per-session template so each test pays tens of milliseconds, not a migration run.
- `kafka_namespace` (function): a topic namespace of its own, topics created.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from yidi_stack.infra import Infra, provide, run_sync

# Tests run as the sandbox: sandbox secrets and tokens minted from them are accepted. A test of
# what happens outside the sandbox says so for itself (tests/security).
os.environ.setdefault("YIDI_SANDBOX", "1")


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with provide() as servers:
        yield servers


class Databases:
    """Creates migrated databases for tests; templates are built once per migrations folder."""

    def __init__(self, infra: Infra) -> None:
        self.infra = infra
        self.templates: dict[Path, str] = {}
        self.created: list[str] = []

    def create(self, migrations_dir: Path | None = None) -> str:
        from yidi_events import migrate

        events_only = Path(migrate.__file__).parent / "migrations"
        source = (migrations_dir or events_only).resolve()
        template = self.templates.get(source)
        if template is None:
            template = f"tmpl_{uuid.uuid4().hex[:12]}"
            dsn = self.infra.create_database(template)
            migrate.upgrade(dsn, source)
            self.templates[source] = template
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.created.append(name)
        return self.infra.create_database(name, template=template)

    def drop_all(self) -> None:
        for name in self.created:
            self.infra.drop_database(name)
        self.created.clear()


@pytest.fixture(scope="session")
def databases(infra: Infra) -> Databases:
    # Templates die with the session's servers; nothing to tear down here.
    return Databases(infra)


@pytest.fixture
def database(databases: Databases) -> Iterator[Callable[..., str]]:
    """Call it to get the DSN of a fresh database (optionally migrated by a service's folder)."""
    yield databases.create
    databases.drop_all()


@pytest.fixture
def kafka_namespace(infra: Infra) -> str:
    from yidi_events.runtime.kafka import KafkaSettings, ensure_topics

    namespace = f"t{uuid.uuid4().hex[:10]}"
    run_sync(ensure_topics(KafkaSettings(infra.kafka_bootstrap, namespace)))
    return namespace


@pytest.fixture
def kafka_settings(infra: Infra, kafka_namespace: str) -> object:
    from yidi_events.runtime.kafka import KafkaSettings

    return KafkaSettings(infra.kafka_bootstrap, kafka_namespace, session_timeout_ms=6000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Anything that uses real servers is an integration test, whatever its file says.
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "infra" in fixtures or "database" in fixtures or "kafka_settings" in fixtures:
            item.add_marker(pytest.mark.integration)


__all__ = ["Databases", "asyncio"]
