"""Topic names and partition-key rules.

One topic per producing service, `<namespace>.<service>.events`, and its dead-letter topic
`<...>.dlq`. The namespace is `yidi` in every deployment; tests use a unique one so that runs
sharing a broker never see each other's events.
"""

from __future__ import annotations

from yidi_events.registry import SERVICES

DEFAULT_NAMESPACE = "yidi"
PARTITIONS = 6


def topic(service: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return f"{namespace}.{service}.events"


def dlq(topic_name: str) -> str:
    return f"{topic_name}.dlq"


def all_topics(namespace: str = DEFAULT_NAMESPACE) -> list[str]:
    names = [topic(s, namespace) for s in SERVICES]
    return names + [dlq(n) for n in names]
