"""Where the operator's commands find the platform: the same `YIDI_*` variables the services read
(the services' URLs, the broker, the sandbox secret). Never a database: the services' admin APIs
do what needs one."""

from __future__ import annotations

from dataclasses import dataclass

from yidi_events.definition import service as definition
from yidi_events.runtime.kafka import KafkaSettings
from yidi_events.settings import ServiceSettings


@dataclass(frozen=True)
class Target:
    """The operator's view of the platform: one settings object."""

    settings: ServiceSettings

    @classmethod
    def from_env(cls, bootstrap: str | None = None) -> Target:
        settings = ServiceSettings()
        if bootstrap:
            settings = settings.model_copy(update={"kafka_bootstrap": bootstrap})
        return cls(settings)

    def kafka(self) -> KafkaSettings:
        return self.settings.kafka()

    def url(self, service: str) -> str:
        check(service)
        return str(getattr(self.settings, f"{service}_url"))


def check(service: str) -> str:
    try:
        definition(service)
    except LookupError as exc:
        raise ValueError(str(exc)) from exc
    return service
