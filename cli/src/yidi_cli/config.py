"""Where the operator's commands find each service: the same `YIDI_*` variables the services read.

Each service has its own database. A command about one service uses, in order: `--database-url`,
`YIDI_<SERVICE>_DATABASE_URL`, `YIDI_DATABASE_URL`. A `{service}` placeholder in the URL is filled
with the service name, so one value (`postgresql://...:55432/yidi_{service}`) serves the whole
embedded stack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from yidi_events.definition import service as definition
from yidi_events.runtime.kafka import KafkaSettings
from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings


@dataclass(frozen=True)
class Target:
    """The operator's view of the platform: one settings object plus per-service overrides."""

    settings: ServiceSettings
    database_url: str | None = None

    @classmethod
    def from_env(cls, database_url: str | None = None, bootstrap: str | None = None) -> Target:
        settings = ServiceSettings()
        if bootstrap:
            settings = settings.model_copy(update={"kafka_bootstrap": bootstrap})
        return cls(settings, database_url)

    def kafka(self) -> KafkaSettings:
        return self.settings.kafka()

    def dsn(self, service: str) -> str:
        check(service)
        url = (
            self.database_url
            or os.environ.get(f"YIDI_{service.upper()}_DATABASE_URL")
            or self.settings.database_url
        )
        return url.replace("{service}", service)

    def url(self, service: str) -> str:
        check(service)
        return str(getattr(self.settings, f"{service}_url"))

    def runtime(self, service: str) -> Runtime:
        """The service's own runtime, as its bootstrap builds it (consumers, relay, store), on
        the service's database, with nothing running: the CLI drives its parts by hand."""
        settings = self.settings.model_copy(
            update={
                "database_url": self.dsn(service),
                "db_pool_size": 2,
                "relay_enabled": False,
                "consumers_enabled": False,
                "schedules_enabled": False,
            }
        )
        return definition(service).build_runtime(settings)


def check(service: str) -> str:
    try:
        definition(service)
    except LookupError as exc:
        raise ValueError(str(exc)) from exc
    return service
