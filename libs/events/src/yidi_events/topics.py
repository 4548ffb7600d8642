"""Topic names and partition-key rules.

One topic per producing service, `<namespace>.<service>.events`, and its dead-letter topic
`<...>.dlq`. A service may also publish a side topic, `<namespace>.<service>.<channel>`, for data
only some consumers may read (filing's `identity`: persons' identity, read by settlement only).
A subscription names what it reads as a source: `filing` (the events topic) or `filing.identity`
(a side topic); either way the topic's owner is the service. The namespace is `yidi` in every
deployment; tests use a unique one so that runs sharing a broker never see each other's events.
"""

from __future__ import annotations

from dataclasses import dataclass

from yidi_events.registry import SERVICES

DEFAULT_NAMESPACE = "yidi"
PARTITIONS = 6
REPLICAS = 3  # a production cluster's; a smaller cluster gets as many as it has brokers
MIN_IN_SYNC = 2  # with acks=all, a write survives the loss of one broker
EVENTS_RETENTION_MS = -1  # forever: consumers rebuild their projections from the beginning
DLQ_RETENTION_MS = 14 * 24 * 3600 * 1000  # two weeks to look at a dead letter and replay it
# service -> its side channels (see yidi_events.registry.withholds)
CHANNELS: dict[str, tuple[str, ...]] = {"filing": ("identity",)}


def services() -> tuple[str, ...]:
    """Every service of the platform (each owns a topic), known without importing any service's
    code: what the operator's tools address, whichever service packages an image installs."""
    return SERVICES


def topic(source: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    service, _, channel = source.partition(".")
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    if not channel:
        return f"{namespace}.{service}.events"
    if channel not in CHANNELS.get(service, ()):
        raise ValueError(f"unknown channel {channel!r} of {service}")
    return f"{namespace}.{service}.{channel}"


def owner(source: str) -> str:
    """The service whose facts a source's topic carries."""
    return source.partition(".")[0]


def all_sources() -> list[str]:
    return list(SERVICES) + [f"{s}.{c}" for s, channels in CHANNELS.items() for c in channels]


def dlq(topic_name: str) -> str:
    return f"{topic_name}.dlq"


def all_topics(namespace: str = DEFAULT_NAMESPACE) -> list[str]:
    names = [topic(s, namespace) for s in all_sources()]
    return names + [dlq(n) for n in names]


@dataclass(frozen=True)
class TopicSettings:
    """How a topic must be created: what the Strimzi `KafkaTopic`s, compose's `topics` one-shot
    and `yidi topics create` (the runbook's way back from a lost topic) all say."""

    name: str
    partitions: int
    replicas: int
    retention_ms: int

    def config(self, replicas: int | None = None) -> dict[str, str]:
        """The topic configuration on a cluster where `replicas` copies are possible."""
        copies = self.replicas if replicas is None else replicas
        return {
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": str(min(MIN_IN_SYNC, copies)),
            "cleanup.policy": "delete",
        }


def declared(namespace: str = DEFAULT_NAMESPACE) -> list[TopicSettings]:
    """Every topic with the settings it must be created with."""
    return [
        TopicSettings(
            name=name,
            partitions=PARTITIONS,
            replicas=REPLICAS,
            retention_ms=DLQ_RETENTION_MS if name.endswith(".dlq") else EVENTS_RETENTION_MS,
        )
        for name in all_topics(namespace)
    ]
