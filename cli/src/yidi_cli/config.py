"""Where the operator's commands find the platform: the same `YIDI_*` variables the services read
(the services' URLs, the broker, the sandbox secret). Never a database: the services' admin APIs
do what needs one."""

from __future__ import annotations

from dataclasses import dataclass

from yidi_events.province import provincial_centre
from yidi_events.runtime.kafka import KafkaSettings
from yidi_events.settings import ServiceSettings
from yidi_events.topics import services


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

    def centre(self) -> str:
        """The provincial centre the operator acts as: the province file's (`YIDI_PROVINCE_FILE`,
        default the sandbox's), as the services read it."""
        return provincial_centre(self.settings.province())


def check(service: str) -> str:
    """A service of the platform (yidi_events.topics), installed here or not: the CLI reaches
    every service through its API, so an image holding one service's code still knows them all."""
    if service not in services():
        raise ValueError(f"unknown service {service!r}; one of {', '.join(services())}")
    return service
