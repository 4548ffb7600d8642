"""Topic names and partition-key rules.

One topic per producing service, `<namespace>.<service>.events`, and its dead-letter topic
`<...>.dlq`. A service may also publish a side topic, `<namespace>.<service>.<channel>`, for data
only some consumers may read (filing's `identity`: persons' identity, read by settlement only).
A subscription names what it reads as a source: `filing` (the events topic) or `filing.identity`
(a side topic); either way the topic's owner is the service. The namespace is `yidi` in every
deployment; tests use a unique one so that runs sharing a broker never see each other's events.
"""

from __future__ import annotations

from yidi_events.registry import SERVICES

DEFAULT_NAMESPACE = "yidi"
PARTITIONS = 6
# service -> its side channels (see yidi_events.registry.withholds)
CHANNELS: dict[str, tuple[str, ...]] = {"filing": ("identity",)}


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
