"""Kafka clients configured the one way Yidi uses them.

Producer idempotence is a setting: real Apache Kafka supports it and we turn it on there; the local
Tansu broker rejects aiokafka's InitProducerId, so it stays off locally. Correctness never depends
on it: consumers dedupe by event id and order by stream version.

How a client reaches and authenticates to the broker (TLS, SASL/SCRAM) is `KafkaSecurity`, turned
into aiokafka's arguments in one place (`connection`) that every producer, consumer, reader and
admin client of the platform and the operator CLI goes through: a client that forgot it would
reach a secured cluster as nobody and be refused, or worse, reach a plaintext listener.
"""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from yidi_events.topics import PARTITIONS, declared

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
# SCRAM never sends the password; PLAIN does (in TLS only), and is what some managed clusters
# offer for API keys.
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")


class KafkaConfigError(ValueError):
    """A Kafka security setting that cannot work, named by its environment variable."""


@dataclass(frozen=True, kw_only=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    """The CA that signed the brokers' certificates; None trusts the system's CAs."""
    ssl_certfile: str | None = None
    """The client's certificate (mutual TLS: the broker knows the service by it)."""
    ssl_keyfile: str | None = None
    ssl_key_password: str | None = field(default=None, repr=False)
    ssl_check_hostname: bool = True

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise KafkaConfigError(
                f"YIDI_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, "
                f"not {self.protocol!r}"
            )
        if self.sasl:
            if self.sasl_mechanism not in MECHANISMS:
                raise KafkaConfigError(
                    f"YIDI_KAFKA_SASL_MECHANISM must be one of {', '.join(MECHANISMS)} with "
                    f"{self.protocol}, not {self.sasl_mechanism!r}"
                )
            if not self.username or not self.password:
                raise KafkaConfigError(
                    f"YIDI_KAFKA_USERNAME and YIDI_KAFKA_PASSWORD are required with {self.protocol}"
                )
            if self.sasl_mechanism == "PLAIN" and not self.tls:
                raise KafkaConfigError(
                    "YIDI_KAFKA_SASL_MECHANISM=PLAIN sends the password as it is: only with SASL_SSL"
                )
        elif self.sasl_mechanism or self.username or self.password:
            raise KafkaConfigError(
                f"YIDI_KAFKA_SASL_MECHANISM, YIDI_KAFKA_USERNAME and YIDI_KAFKA_PASSWORD are "
                f"ignored by {self.protocol}: use SASL_SSL (or SASL_PLAINTEXT) to authenticate"
            )
        tls_files = (self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile)
        if not self.tls and any(tls_files):
            raise KafkaConfigError(
                f"YIDI_KAFKA_SSL_* files are ignored by {self.protocol}: use SSL or SASL_SSL"
            )
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise KafkaConfigError(
                "YIDI_KAFKA_SSL_CERTFILE and YIDI_KAFKA_SSL_KEYFILE go together (the client's "
                "certificate and its private key)"
            )

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def authenticated(self) -> bool:
        """Whether the broker learns which service this is (what per-service ACLs need)."""
        return self.sasl or bool(self.ssl_certfile)

    def ssl_context(self) -> ssl.SSLContext:
        context: ssl.SSLContext = create_ssl_context(
            cafile=self.ssl_cafile,
            certfile=self.ssl_certfile,
            keyfile=self.ssl_keyfile,
            password=self.ssl_key_password,
        )
        # Without the hostname check any certificate the CA signed would pass for the broker;
        # it is off only for brokers reached by an address their certificate does not name.
        context.check_hostname = self.ssl_check_hostname
        return context


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str
    namespace: str = "yidi"
    idempotence: bool = False
    session_timeout_ms: int = 6000
    partitions: int = PARTITIONS
    security: KafkaSecurity = field(default_factory=KafkaSecurity)


def connection(settings: KafkaSettings) -> dict[str, Any]:
    """The aiokafka arguments that say where the brokers are and how to reach them securely."""
    security = settings.security
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap,
        "security_protocol": security.protocol,
    }
    if security.tls:
        kwargs["ssl_context"] = security.ssl_context()
    if security.sasl:
        kwargs["sasl_mechanism"] = security.sasl_mechanism
        # aiokafka takes SCRAM's credentials under the PLAIN names too.
        kwargs["sasl_plain_username"] = security.username
        kwargs["sasl_plain_password"] = security.password
    return kwargs


def producer(settings: KafkaSettings, *, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **connection(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.idempotence,
        linger_ms=2,
        max_batch_size=1 << 20,
        request_timeout_ms=15000,
    )


def consumer(
    settings: KafkaSettings, *topics: str, group_id: str, client_id: str
) -> AIOKafkaConsumer:
    # JoinGroup waits session_timeout/2 on the local broker: keep the timeout short.
    return AIOKafkaConsumer(
        *topics,
        **connection(settings),
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=max(500, settings.session_timeout_ms // 3),
        max_poll_records=500,
        isolation_level="read_committed",
        # How long the broker may hold a fetch while the topic is quiet. A fact written to a
        # quiet topic reached a waiting consumer (Tansu, median of 15) after 115 ms at aiokafka's
        # 500, 65 ms at 400 and 15 ms at 300; 100 was no faster and cost the idle broker
        # twice the CPU of 300 with 20 consumers (13% of a core against 7%).
        fetch_max_wait_ms=300,
    )


def reader(
    settings: KafkaSettings, *, client_id: str, group_id: str | None = None
) -> AIOKafkaConsumer:
    """A consumer that assigns its partitions itself (catch-up, tools), committing nothing."""
    return AIOKafkaConsumer(
        **connection(settings),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=client_id,
    )


def admin(settings: KafkaSettings, **options: Any) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**connection(settings), **options)


async def ensure_topics(settings: KafkaSettings, replicas: int | None = None) -> list[str]:
    """Create every Yidi topic (and DLQ) of the namespace that does not exist yet, with its
    declared retention (`topics.declared`): never the broker's default, on topics whose events
    are kept for ever. `replicas` defaults to the declared count, capped at the brokers there are
    (a development broker has one)."""
    client = admin(settings)
    await client.start()
    try:
        existing = set(await client.list_topics())
        brokers = len((await client.describe_cluster())["brokers"]) or 1
        missing = [t for t in declared(settings.namespace) if t.name not in existing]
        for spec in missing:
            copies = replicas if replicas is not None else min(spec.replicas, brokers)
            with contextlib.suppress(TopicAlreadyExistsError):
                await client.create_topics(
                    [
                        NewTopic(
                            spec.name,
                            num_partitions=settings.partitions,
                            replication_factor=copies,
                            topic_configs=spec.config(copies),
                        )
                    ]
                )
        return [t.name for t in missing]
    finally:
        await client.close()


async def read_through(reader: AIOKafkaConsumer, tp: TopicPartition, listed: int) -> bool:
    """Whether a reader of `tp` has read to its end: a fetch has answered for it and the reader
    is past the end that answer gave, or past `listed` (the end listed when the read began) if
    that is further, the answer being older.

    Not the listed end alone: Tansu lists a partition's end (ListOffsets) as its last batch's
    base offset + 1, so a read whose answer stopped inside that batch (max_records) took the
    partition as read and never came back for the rest; rebuilds of 20,000 events came out
    short without an error. The end a fetch answer carries is right."""
    fetched = reader.highwater(tp)
    return fetched is not None and await reader.position(tp) >= max(fetched, listed)
